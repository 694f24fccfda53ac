"""Batch cut end to end (queue -> rendered -> validated -> stored): wall time and peak RSS of one cut of N
claims, with pyx12 validation on and off.

`python -m bench.cut_bench --claims 10000 100000 [--postgres URL]`

For each size N a database is seeded once with N queued encounters of 3-line invoices (bench.data), then
copied for each run (SQLite: the file; PostgreSQL: CREATE DATABASE ... TEMPLATE). Seeding goes through the
real intake code (InvoiceIn, check_invoice, _new_invoice_row, new_encounter, timeliness.new_claim) but
inserts the resulting rows in bulk, in large transactions; before the figures, a few invoices are seeded
that way and also POSTed through the HTTP app, and every table must come out the same (ids included; only
uuids and clock times differ; audit_events, the HTTP layer's log of each request, is left out). Seeding is not timed.

Each cut runs in its own child process (`python -m bench.cut_bench --child ...`) with the real settings
(DATABASE_URL, BATCH_VALIDATE from the environment; validation on every core) and the real `cut_batch`, with
`CutRequest(max_claims=N)` (the API allows up to 100,000 per cut; no setting had to change). The clock runs
from the call to `cut_batch` to its return: a cold cut, as `encounter-service batch cut` does it, so the
pyx12 worker pool's start is included. Peak RSS is the child's VmHWM; the pyx12 workers are separate
processes (forked from a forkserver that preloads the maps), reported apart as the largest worker's VmHWM.
After each cut the parent checks the batch: released, N encounters and N claims, the stored bytes' sha256,
N CLM segments, every encounter batched, and pyx12 'clean' (or 'skipped' with validation off)."""

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path

from app.models import register_all

REPO = Path(__file__).resolve().parents[1]
KEY = "bench-cut-admin-key"
TIMEZONE = "America/Los_Angeles"
CHUNK = 2000  # invoices per seeding task
VOLATILE = {"public_id", "received_at", "created_at", "updated_at"}  # a uuid or the clock: differ run to run
HTTP_ONLY = {"audit_events", "alembic_version"}  # the HTTP layer's record of each request; the cut never reads it
WALL_ON, WALL_OFF, RSS_MB, RSS_RATIO = 150.0, 15.0, 500.0, 1.5


# ----------------------------------------------------------------------------------------------- seeding

_worker_state: dict = {}


def _intake_tools():
    """What the real intake uses, built once per (seeding) process."""
    if not _worker_state:
        from app.invoices.service import default_policy
        from bench.x12_bench import rule_context

        _worker_state.update(ctx=rule_context(), policy=default_policy())
    return _worker_state


def _build(task: tuple[int, list[dict]]) -> dict[str, list[dict]]:
    """Rows of the given raw invoices exactly as submit_invoice would store them (ids from first_id on)."""
    from app.db import insert_values
    from app.invoices.rules import check_invoice
    from app.invoices.schemas import InvoiceIn
    from app.invoices.service import _new_invoice_row, new_encounter
    from app.timeliness import service as timeliness

    first_id, raws = task
    tools = _intake_tools()
    out: dict[str, list[dict]] = {"invoices": [], "invoice_lines": [], "encounters": [], "claim_timeliness": []}

    for i, raw in enumerate(raws):
        body = InvoiceIn.model_validate(raw).model_dump(exclude_unset=True)  # what the route hands the service
        result = check_invoice(body, tools["ctx"])
        if result.findings.errors:
            raise RuntimeError(f"generator made an invalid invoice: {result.findings.errors[0]}")
        row = _new_invoice_row(result.invoice, result.findings, TIMEZONE, "api")
        encounter = new_encounter(row, frequency="1")
        row.id = first_id + i
        out["invoices"].append(insert_values(row))
        for line in row.lines:
            out["invoice_lines"].append({**insert_values(line), "invoice_id": row.id})
        out["encounters"].append({**insert_values(encounter), "invoice_id": row.id})
        out["claim_timeliness"].append(insert_values(timeliness.new_claim(row, tools["policy"])))
    return out


def seed(database_url: str, count: int, *, seed_value: int = 7, processes: int | None = None) -> float:
    """Store `count` accepted 3-line invoices, each with its queued encounter; returns seconds taken."""
    from sqlalchemy import text

    from app.batches.models import EncounterRow
    from app.db import make_engine
    from app.invoices.models import InvoiceLineRow, InvoiceRow
    from app.timeliness.models import ClaimTimelinessRow
    from bench.data import invoices

    register_all()
    started = time.perf_counter()
    tables = {"invoices": InvoiceRow.__table__, "invoice_lines": InvoiceLineRow.__table__,
              "encounters": EncounterRow.__table__, "claim_timeliness": ClaimTimelinessRow.__table__}
    engine = make_engine(database_url)
    with engine.connect() as conn:
        first = (conn.execute(text("SELECT coalesce(max(id), 0) FROM invoices")).scalar() or 0) + 1
    raws = invoices(count * 2, lines=3, seed=seed_value)
    seen: set[tuple] = set()

    def fresh(raw: dict) -> bool:
        """False for an invoice repeating a line already seeded for its member and billing provider: the
        generator makes a few at 100,000, and the intake would refuse them (duplicate_line)."""
        keys = [(raw["member_cin"], raw["billing_provider_npi"], ln["procedure_code"],
                 " ".join(sorted(ln["procedure_code_modifiers"])), ln["service_start_date"], ln["service_end_date"])
                for ln in raw["lines"]]
        if seen.intersection(keys):
            return False
        seen.update(keys)
        return True

    def chunks():
        n = 0
        while n < count:
            part = []
            while len(part) < min(CHUNK, count - n):
                raw = next(raws)
                if fresh(raw):
                    part.append(raw)
            yield (first + n, part)
            n += len(part)

    processes = processes or (len(os.sched_getaffinity(0)) if count > CHUNK else 1)
    context = multiprocessing.get_context("fork")
    pool = context.Pool(processes) if processes > 1 else None
    try:
        built = pool.imap(_build, chunks()) if pool else map(_build, chunks())
        pending: list[dict] = []
        for rows in built:
            pending.append(rows)
            if sum(len(r["invoices"]) for r in pending) >= 20_000:
                _insert(engine, tables, pending)
                pending = []
        if pending:
            _insert(engine, tables, pending)
    finally:
        if pool:
            pool.close()
            pool.join()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # explicit ids do not move a serial's sequence
            for name in ("invoices", "invoice_lines", "encounters"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))
    engine.dispose()
    if database_url.startswith("sqlite"):  # fold the WAL into the file, so that copying the file copies it all
        import sqlite3

        with closing(sqlite3.connect(database_url.split("///", 1)[1])) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


def _insert(engine, tables: dict, parts: list[dict]) -> None:
    with engine.begin() as conn:  # one transaction per 20,000 invoices
        for name, table in tables.items():
            rows = [r for part in parts for r in part[name]]
            if rows:
                conn.execute(table.insert(), rows)


def _dump(database_url: str) -> dict[str, list[tuple]]:
    from sqlalchemy import MetaData, select

    from app.db import make_engine

    engine = make_engine(database_url)
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            if table.name in HTTP_ONLY:
                continue
            columns = [c for c in table.columns if c.name not in VOLATILE]
            order = list(table.primary_key.columns) or columns
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*order))]
    engine.dispose()
    return out


def check_seed_matches_intake(count: int = 25, database_url: str | None = None) -> tuple[bool, str]:
    """Seed `count` invoices in bulk into one fresh database and POST the same invoices through the HTTP app
    into another: every table must hold the same rows (uuids and clock times aside)."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    from bench.data import invoices

    with _fresh_databases(2, database_url) as (bulk_url, http_url):
        seed(bulk_url, count, seed_value=3, processes=1)
        settings = Settings(database_url=http_url, bootstrap_admin_key=KEY, rate_limit_per_minute=0,
                            upload_worker=False, timezone=TIMEZONE)
        app = create_app(settings)
        with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
            for raw in invoices(count, lines=3, seed=3):
                r = client.post("/v1/invoices", content=json.dumps(raw), headers={"Content-Type": "application/json"})
                if r.status_code != 201:
                    return False, f"HTTP intake answered {r.status_code}: {r.text[:300]}"
        app.state.database.engine.dispose()
        bulk, http = _dump(bulk_url), _dump(http_url)
    differ = [name for name in sorted(set(bulk) | set(http)) if bulk.get(name) != http.get(name)]
    filled = sorted(name for name, rows in http.items() if rows)
    if differ:
        return False, f"tables differ: {', '.join(differ)}"
    return True, f"{count} invoices; tables {', '.join(filled)} identical"


# ----------------------------------------------------------------------------------------------- databases

class _fresh_databases:
    """Context manager: `n` fresh migrated databases (temp SQLite files, or new PostgreSQL databases)."""

    def __init__(self, n: int, server_url: str | None, template: str | None = None):
        self.n, self.server_url, self.template = n, server_url, template
        self.urls: list[str] = []

    def __enter__(self) -> list[str]:
        from app.migrate import upgrade

        if self.server_url is None:
            self.tmp = tempfile.mkdtemp(prefix="bench-cut-")
            for i in range(self.n):
                url = f"sqlite:///{self.tmp}/db{i}.db"
                if self.template:
                    shutil.copyfile(self.template.split("///", 1)[1], f"{self.tmp}/db{i}.db")
                else:
                    upgrade(url)
                self.urls.append(url)
            return self.urls
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(self.server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for _ in range(self.n):
                name = f"bench_cut_{uuid.uuid4().hex[:10]}"
                source = f' TEMPLATE "{make_url(self.template).database}"' if self.template else ""
                conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
                self.urls.append(make_url(self.server_url).set(database=name).render_as_string(hide_password=False))
        admin.dispose()
        if not self.template:
            for url in self.urls:
                upgrade(url)
        return self.urls

    def __exit__(self, *exc) -> None:
        if self.server_url is None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(make_url(self.server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in self.urls:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


# ----------------------------------------------------------------------------------------------- the cut

def _hwm_kb(pid: int | str = "self") -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def child(claims: int) -> dict:
    """In the child process: one cut of `claims` claims with the settings from the environment."""
    from app.batches.service import CutRequest, cut_batch
    from app.db import Database
    from app.settings import get_settings
    from app.x12 import pyx12_check

    register_all()  # every mapped class, as the app and the CLI load them
    settings = get_settings()
    db = Database(settings.database_url, settings.sqlite_busy_timeout_ms)
    options = settings.cut_options()
    request = CutRequest(mode="encounter", max_claims=claims)
    before_kb = _hwm_kb()
    started = time.perf_counter()
    batch = cut_batch(db.sessionmaker, request, options)
    wall = time.perf_counter() - started
    workers = []
    if pyx12_check._pool is not None:
        workers = [_hwm_kb(pid) for pid in list(pyx12_check._pool._processes or {})]
    result = {"wall_s": wall, "batch_id": batch.public_id, "status": batch.status, "validate": options.validate,
              "processes": options.validate_processes, "rss_before_kb": before_kb, "rss_peak_kb": _hwm_kb(),
              "worker_peak_kb": max([w for w in workers if w] or [0]) or None, "workers": len(workers)}
    pyx12_check._discard_pool()
    db.engine.dispose()
    return result


def run_cut(database_url: str, claims: int, validate: bool) -> dict:
    env = dict(os.environ, DATABASE_URL=database_url, BATCH_VALIDATE="true" if validate else "false",
               LOG_LEVEL="WARNING", PYTHONPATH=str(REPO))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.cut_bench", "--child", str(claims)], env=env, cwd=REPO,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cut child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    verify(database_url, result, claims, validate)
    return result


def verify(database_url: str, result: dict, claims: int, validate: bool) -> None:
    """The figure counts only if the cut really released the whole queue as one batch with the right bytes."""
    from sqlalchemy import func, select

    from app.batches.models import BatchContentPartRow, BatchRow, EncounterRow
    from app.db import make_engine

    register_all()
    engine = make_engine(database_url)
    with engine.connect() as conn:
        batch = conn.execute(select(BatchRow.__table__).where(BatchRow.public_id == result["batch_id"])).one()
        batched = conn.execute(select(func.count()).select_from(EncounterRow.__table__)
                               .where(EncounterRow.batch_id == batch.id, EncounterRow.status == "batched")).scalar()
        left = conn.execute(select(func.count()).select_from(EncounterRow.__table__)
                            .where(EncounterRow.status != "batched")).scalar()
        parts = conn.execute(select(BatchContentPartRow.content).where(BatchContentPartRow.batch_id == batch.id)
                             .order_by(BatchContentPartRow.seq)).scalars().all()
    engine.dispose()
    content = bytes(batch.content or b"") or b"".join(bytes(p) for p in parts)
    del parts
    problems = []
    if batch.status != "released":
        problems.append(f"status {batch.status}")
    if batch.encounter_count != claims or batch.claim_count != claims or batched != claims or left:
        problems.append(f"encounters {batch.encounter_count}, claims {batch.claim_count}, batched {batched}, "
                        f"not batched {left}")
    if not content or hashlib.sha256(content).hexdigest() != batch.sha256:
        problems.append("stored bytes do not match sha256")
    if content.count(b"\nCLM*") != claims or not content.startswith(b"ISA*") or b"\nIEA*1*" not in content[-40:]:
        problems.append("content is not one interchange of N claims")
    expected = "clean" if validate else "skipped"
    if batch.validation.get("pyx12") != expected:
        problems.append(f"pyx12 {batch.validation.get('pyx12')!r}, expected {expected!r}")
    if problems:
        raise RuntimeError(f"cut of {claims} claims did not verify: {'; '.join(problems)}")
    result.update(bytes=len(content), transactions=batch.transaction_count, lines=batch.line_count)


# ----------------------------------------------------------------------------------------------- figures

def measure(claims_list=(10_000, 100_000), database_url: str | None = None, log=print) -> dict:
    results = {}
    for claims in claims_list:
        with _fresh_databases(1, database_url) as (template,):
            seconds = seed(template, claims)
            log(f"seeded {claims:,} queued encounters in {seconds:.0f} s")
            for validate in (True, False):
                with _fresh_databases(1, database_url, template=template) as (url,):
                    r = run_cut(url, claims, validate)
                log(f"cut {claims:,} claims, validation {'on' if validate else 'off'}: {r['wall_s']:.1f} s, "
                    f"peak RSS {r['rss_peak_kb'] / 1024:.0f} MB (before the cut {r['rss_before_kb'] / 1024:.0f} MB), "
                    f"largest pyx12 worker {(r['worker_peak_kb'] or 0) / 1024:.0f} MB, {r['bytes'] / 1e6:.1f} MB of "
                    f"837P in {r['transactions']} STs")
                results[(claims, validate)] = r
    return results


def rows(claims_list=(10_000, 100_000), database_url: str | None = None, log=print) -> list[tuple]:
    label = "PostgreSQL" if database_url else "SQLite"
    ok, detail = check_seed_matches_intake(database_url=database_url)
    if not ok:
        raise RuntimeError(f"bulk seeding does not produce what the HTTP intake stores: {detail}")
    out = [(f"Cut bench seeding ({label}) = HTTP intake rows", detail, "identical", ok)]
    results = measure(claims_list, database_url, log)
    for claims in claims_list:
        for validate in (True, False):
            r = results[(claims, validate)]
            wall, rss = r["wall_s"], r["rss_peak_kb"] / 1024
            worker = f", largest pyx12 worker {r['worker_peak_kb'] / 1024:.0f} MB" if r["worker_peak_kb"] else ""
            target = WALL_ON if validate else WALL_OFF
            out.append((f"Batch cut ({label}) {claims:,} claims, validation {'on' if validate else 'off'}: "
                        f"wall s / peak RSS MB", f"{wall:.1f} s / {rss:.0f} MB{worker}",
                        f"<= {target:.0f} s / <= {RSS_MB:.0f} MB", wall <= target and rss <= RSS_MB))
    if len(claims_list) > 1:
        small, big = min(claims_list), max(claims_list)
        ratios = {v: results[(big, v)]["rss_peak_kb"] / results[(small, v)]["rss_peak_kb"] for v in (True, False)}
        out.append((f"Batch cut ({label}) peak RSS {big // 1000:,}k / {small // 1000:,}k claims (validation on / off)",
                    f"{ratios[True]:.2f}x / {ratios[False]:.2f}x", f"<= {RSS_RATIO}x (flat)",
                    max(ratios.values()) <= RSS_RATIO))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cut_bench")
    parser.add_argument("--claims", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", help="PostgreSQL server URL (fresh databases are created and dropped)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    from bench.run import table

    started = time.time()
    print(table(rows(tuple(args.claims), args.postgres, log=lambda m: print(m, file=sys.stderr, flush=True))))
    print(f"\n({time.time() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
