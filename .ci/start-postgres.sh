#!/usr/bin/env bash
# .ci/start-postgres.sh -- start (or stop) a throw-away PostgreSQL server for the test suite.
#
# USAGE
#   eval "$(.ci/start-postgres.sh)"            # start; exports DATABASE_URL and PG_CI_DIR
#   .venv/bin/python -m pytest                 # suite now runs against PostgreSQL
#   .ci/start-postgres.sh stop "$PG_CI_DIR"    # stop the server and delete its directory
#
#   .ci/start-postgres.sh start [--dir DIR] [--owner-pid PID] [--env-file FILE]
#       --dir DIR        use this EMPTY directory (e.g. from mktemp -d) instead of creating
#                        /tmp/encounter-ci-pg.XXXXXX; lets a caller arm its cleanup trap
#                        before the server exists.
#       --owner-pid PID  the server belongs to process PID; a later `start` reaps it if PID
#                        has died without cleaning up (e.g. after kill -9). Without it the
#                        server is never reaped automatically (developer use).
#       --env-file FILE  also write the export lines to FILE.
#   .ci/start-postgres.sh stop [DIR]           # DIR defaults to $PG_CI_DIR
#   .ci/start-postgres.sh reap                 # remove servers whose --owner-pid has died
#
# HANDOVER: on success `start` prints exactly these lines on STDOUT (all logging goes to
# stderr), ready for eval or for sourcing from --env-file:
#   export DATABASE_URL='postgresql+psycopg://USER:PASS@127.0.0.1:PORT/DBNAME'
#   export PG_CI_DIR='/tmp/encounter-ci-pg.XXXXXX'
# If `start` fails it stops whatever it started and removes its directory itself.
#
# WHAT IT DOES
#   * if no /usr/lib/postgresql/*/bin/initdb exists: apt-get install postgresql (root only);
#     the Debian default cluster is neither needed nor touched.
#   * initdb into $PG_CI_DIR/pgdata (run as the `postgres` OS user when invoked as root,
#     as the current user otherwise), unix socket inside $PG_CI_DIR, TCP on 127.0.0.1 only,
#     on the first free port from $PG_CI_PORT (default 55432) upwards; fsync off (throw-away).
#   * local socket: trust; TCP: scram-sha-256 password auth.
#   * creates a LOGIN SUPERUSER role and a database owned by it.
#
# ENVIRONMENT (optional)
#   PG_CI_PORT=55432  PG_CI_USER=encounter  PG_CI_PASSWORD=encounter  PG_CI_DB=encounter_test
#   PG_CI_TMP=/tmp    (parent of the server directory; must be traversable by `postgres`)
#   Keep user/password/db to [A-Za-z0-9_] -- they are put into the URL unescaped.
set -euo pipefail

PREFIX=encounter-ci-pg
MARKER=.encounter-ci-pg      # file that marks a directory as ours (safe to rm -rf)

# logs go to a copy of stderr (fd 3) so they stay visible even when a trap fires while a
# command's own output is redirected to a file
exec 3>&2
log() { printf '[start-postgres] %s\n' "$*" >&3; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- helpers

find_bindir() {
    # highest installed major version
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] || continue
        if [[ -z "$best" ]] || (( $(basename "$(dirname "$d")") > $(basename "$(dirname "$best")") )); then
            best=$d
        fi
    done
    printf '%s' "$best"
}

ensure_installed() {
    BINDIR=$(find_bindir)
    [[ -n "$BINDIR" ]] && return 0
    [[ $EUID -eq 0 ]] || die "no /usr/lib/postgresql/*/bin/initdb and not root: install postgresql first"
    command -v apt-get >/dev/null || die "no PostgreSQL server binaries and no apt-get"
    log "PostgreSQL server binaries not found; installing with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
    BINDIR=$(find_bindir)
    [[ -n "$BINDIR" ]] || die "apt-get install postgresql did not provide initdb"
}

# run a command as the OS user that owns the cluster
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

ensure_pg_user() {
    [[ $EUID -eq 0 ]] || return 0
    id -u postgres >/dev/null 2>&1 && return 0
    log "creating OS user postgres"
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
        --shell /bin/bash postgres
}

proc_start_time() {  # field 22 of /proc/PID/stat (start time since boot), empty if gone
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    stat=${stat##*) }                 # drop "pid (comm) " -- comm may contain spaces
    # remaining fields start at field 3 (state); start time is field 22 -> index 19
    read -r -a f <<<"$stat"
    printf '%s' "${f[19]}"
}

pid_alive() {  # running and not a zombie (an orphaned postmaster may linger as one)
    local stat
    if [[ -r "/proc/$1/stat" ]]; then
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        stat=${stat##*) }
        [[ "${stat%% *}" != Z ]]
    else
        kill -0 "$1" 2>/dev/null
    fi
}

port_busy() {  # something accepts connections on 127.0.0.1:$1 ?
    (exec 5<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- stop / reap

stop_dir() {
    local dir=${1%/} pid bindir
    [[ -n "$dir" && -d "$dir" ]] || { log "nothing to stop (${dir:-no dir given})"; return 0; }
    if [[ ! -f "$dir/$MARKER" ]]; then
        # an empty dir we were handed (--dir) but never initialised: just remove it
        if [[ -z "$(ls -A "$dir")" ]]; then rmdir "$dir"; return 0; fi
        die "refusing to remove $dir: no $MARKER marker"
    fi
    if [[ -f "$dir/pgdata/postmaster.pid" ]]; then
        pid=$(head -n1 "$dir/pgdata/postmaster.pid" 2>/dev/null || true)
        bindir=$(cat "$dir/bindir" 2>/dev/null || find_bindir)
        log "stopping server in $dir (pid ${pid:-?})"
        as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -m fast -w -t 20 stop >/dev/null 2>&1 \
            || as_pg "$bindir/pg_ctl" -D "$dir/pgdata" -m immediate -w -t 10 stop >/dev/null 2>&1 \
            || true
        if [[ "$pid" =~ ^[0-9]+$ ]] && pid_alive "$pid"; then
            log "server $pid still alive; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    rm -rf -- "$dir" 2>/dev/null || { sleep 1; rm -rf -- "$dir"; }
    log "removed $dir"
}

reap_stale() {
    local tmp=${PG_CI_TMP:-/tmp} dir opid ostart
    for dir in "$tmp/$PREFIX".*; do
        [[ -d "$dir" && -f "$dir/$MARKER" && -f "$dir/owner" ]] || continue
        read -r opid ostart <"$dir/owner" || true
        [[ "$opid" =~ ^[0-9]+$ ]] || continue
        if pid_alive "$opid" && [[ "$(proc_start_time "$opid")" == "$ostart" ]]; then
            continue   # owner still running
        fi
        log "reaping stale server left by dead process $opid: $dir"
        stop_dir "$dir" || true
    done
}

# ---------------------------------------------------------------- start

start() {
    local dir="" owner="" envfile=""
    while (( $# )); do
        case $1 in
            --dir) dir=${2:?--dir needs a value}; shift 2 ;;
            --owner-pid) owner=${2:?--owner-pid needs a value}; shift 2 ;;
            --env-file) envfile=${2:?--env-file needs a value}; shift 2 ;;
            *) die "unknown option $1" ;;
        esac
    done
    local user=${PG_CI_USER:-encounter} pass=${PG_CI_PASSWORD:-encounter} db=${PG_CI_DB:-encounter_test}
    local port=${PG_CI_PORT:-55432}
    local re='^[A-Za-z0-9_]+$'
    [[ $user =~ $re && $pass =~ $re && $db =~ $re ]] || die "PG_CI_USER/PASSWORD/DB must match $re"

    ensure_installed
    ensure_pg_user
    reap_stale

    if [[ -z "$dir" ]]; then
        dir=$(mktemp -d "${PG_CI_TMP:-/tmp}/$PREFIX.XXXXXX")
    else
        dir=${dir%/}
        [[ -d "$dir" ]] || die "--dir $dir does not exist"
        [[ -z "$(ls -A "$dir")" ]] || die "--dir $dir is not empty"
    fi
    dir=$(cd "$dir" && pwd -P)
    touch "$dir/$MARKER"
    # from here on: any failure stops what we started and removes the dir
    START_DIR=$dir
    trap 'rc=$?; if (( rc != 0 )); then log "start failed (rc=$rc); cleaning up"; stop_dir "$START_DIR" || true; fi' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP

    if [[ -n "$owner" ]]; then
        printf '%s %s\n' "$owner" "$(proc_start_time "$owner")" >"$dir/owner"
    fi
    printf '%s\n' "$BINDIR" >"$dir/bindir"
    chmod 0755 "$dir"
    [[ $EUID -eq 0 ]] && chown postgres: "$dir"

    log "initdb ($BINDIR) into $dir/pgdata"
    as_pg "$BINDIR/initdb" -D "$dir/pgdata" -U postgres --no-locale -E UTF8 \
        --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

    local tries=0 started=0
    while (( tries < 50 )); do
        tries=$((tries + 1))
        if port_busy "$port"; then port=$((port + 1)); continue; fi
        log "starting server on 127.0.0.1:$port"
        if as_pg "$BINDIR/pg_ctl" -D "$dir/pgdata" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1 3>&-; then
            started=1; break
        fi
        if grep -qiE 'could not (bind|create listen socket)|address already in use' "$dir/server.log" 2>/dev/null; then
            log "port $port taken, trying next"
            port=$((port + 1)); continue
        fi
        tail -n 30 "$dir/server.log" >&2 || true
        die "server failed to start"
    done
    (( started )) || die "no free port found"

    local i
    for i in $(seq 1 60); do
        if "$BINDIR/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -t 2; then break; fi
        (( i == 60 )) && { tail -n 30 "$dir/server.log" >&2; die "pg_isready never succeeded"; }
        sleep 0.5
    done

    log "creating role $user (SUPERUSER) and database $db"
    as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
        -c "CREATE ROLE \"$user\" LOGIN SUPERUSER CREATEDB PASSWORD '$pass'" \
        -c "CREATE DATABASE \"$db\" OWNER \"$user\"" >&2

    # prove TCP + password auth work exactly as the tests will use them
    PGPASSWORD=$pass "$BINDIR/psql" -X -q -tA -v ON_ERROR_STOP=1 \
        "postgresql://$user@127.0.0.1:$port/$db" -c 'select 1' >/dev/null \
        || die "cannot connect as $user over TCP"

    local url="postgresql+psycopg://$user:$pass@127.0.0.1:$port/$db"
    local out
    out=$(printf "export DATABASE_URL='%s'\nexport PG_CI_DIR='%s'\n" "$url" "$dir")
    if [[ -n "$envfile" ]]; then printf '%s\n' "$out" >"$envfile"; fi
    printf '%s\n' "$out" >"$dir/env"
    chmod 0644 "$dir/env"
    log "ready: $url  (stop with: $0 stop $dir)"
    printf '%s\n' "$out"
    trap - EXIT INT TERM HUP
}

# ---------------------------------------------------------------- main

cmd=${1:-start}
case $cmd in
    start) [[ $# -gt 0 ]] && shift; start "$@" ;;
    --*) start "$@" ;;
    stop) stop_dir "${2:-${PG_CI_DIR:-}}" ;;
    reap) reap_stale ;;
    -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
    *) die "unknown command $cmd (start|stop|reap|help)" ;;
esac
