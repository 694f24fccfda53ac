"""Spreadsheet uploads through the real server: a 50,000-line CSV and the same rows as XLSX, from POST /v1/uploads
to every invoice stored, on a fresh database, with the peak RSS of the server process(es) doing the work.

`python -m bench.upload_bench [--lines 50000] [--postgres URL] [--only csv|xlsx]`

The files are generated first (not timed) from bench.data: ECM and Community Supports codes of the table in force,
1-6 lines per invoice, 200 billing providers, one member per invoice (20,000 members), single days and ranges.
The CSV holds text the way Excel's "CSV UTF-8" writes it; the workbook holds real Excel dates and numbers, codes
as text. A server (uvicorn, `python -m app.cli serve`, the upload worker thread on as by default) is started on a
fresh database for each file; the file is POSTed with httpx, GET /v1/uploads/{id} is polled until the upload is
no longer queued/running, and the time from the POST to "completed" is the figure. The run fails unless every
invoice was accepted and the API lists exactly as many invoices as the file holds."""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS
from bench.data import invoices
from bench import http_intake
from bench.http_intake import KEY

REPO = Path(__file__).resolve().parents[1]
HEADERS = [e.label for e in INVOICE_ELEMENTS + LINE_ELEMENTS]
NAMES = [e.name for e in INVOICE_ELEMENTS + LINE_ELEMENTS]
LINE_NAMES = {e.name for e in LINE_ELEMENTS}
DATE_FIELDS = {"member_date_of_birth", "invoice_date", "service_start_date", "service_end_date"}
MONEY_FIELDS = {"invoice_amount", "service_unit_cost", "service_charge_amount"}
TARGET_SECONDS = {"csv": 60, "xlsx": 120}
TARGET_RSS_MB = 400
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ------------------------------------------------------------------------------------------ the files


def sheet_invoices(lines: int, seed: int = 23) -> list[dict]:
    """Invoices (JSON shape) holding exactly `lines` service lines in all; the last one trimmed if need be."""
    out, total = [], 0
    for raw in invoices(lines, seed=seed):  # at least one line each: `lines` invoices are always enough
        if total >= lines:
            break
        if total + len(raw["lines"]) > lines:
            raw["lines"] = raw["lines"][:lines - total]
            raw["invoice_amount"] = str(sum(Decimal(x["service_charge_amount"]) for x in raw["lines"]))
        out.append(raw)
        total += len(raw["lines"])
    return out


def _rows(invs: list[dict]):
    """One {field: value} per service line, the invoice's columns repeated on each (as clerks' sheets are)."""
    for raw in invs:
        head = {k: v for k, v in raw.items() if k != "lines"}
        for line in raw["lines"]:
            yield {**head, **line}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(value)
    return str(value)


def write_csv(path: Path, invs: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS)
        for row in _rows(invs):
            writer.writerow([_text(row.get(n)) for n in NAMES])


def _excel_value(name: str, value):
    """As Excel holds what a clerk typed: dates as dates, money and counts as numbers, codes as text."""
    if value is None:
        return None
    if name in DATE_FIELDS:
        return datetime.strptime(value, "%m/%d/%Y")
    if name in MONEY_FIELDS:
        return float(value)
    if name == "service_unit_count":
        return int(value)
    return _text(value)


def write_xlsx(path: Path, invs: list[dict]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Invoice Lines")
    ws.append(HEADERS)
    for row in _rows(invs):
        cells = []
        for n in NAMES:
            value = _excel_value(n, row.get(n))
            if isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value)
                cell.number_format = "mm/dd/yyyy"
                cells.append(cell)
            else:
                cells.append(value)
        ws.append(cells)
    wb.save(path)


# ------------------------------------------------------------------------------------------ the server


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return out


def process_tree(pid: int) -> list[int]:
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(_children(p))
    return tree


def peak_rss_mb(pid: int) -> dict[int, float]:
    """VmHWM (the kernel's peak resident set) of each process in the tree, in MB."""
    out = {}
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        out[p] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree so far (the machine may be shared: wall time is noisy)."""
    total = 0.0
    for p in process_tree(pid):
        try:
            with open(f"/proc/{p}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def start_server(database_url: str, workers: int = 1, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m app.cli serve` with the upload worker thread on (the default)."""
    return http_intake.start_server(database_url, workers, {"UPLOAD_WORKER": "true", **(extra_env or {})})


def _postgres_schema(url: str) -> tuple[str, callable]:
    """A clean schema of its own on the given PostgreSQL database (search_path in the URL), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_upload_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    u = make_url(url)
    scoped = u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)

    def drop():
        e = create_engine(url)
        with e.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        e.dispose()

    return scoped, drop


# ------------------------------------------------------------------------------------------ one upload


def _count_invoices(client: httpx.Client) -> int:
    n, cursor = 0, None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        r = client.get("/v1/invoices", params=params)
        r.raise_for_status()
        page = r.json()
        n += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            return n


def run_one(path: Path, invoices_in_file: int, lines: int, database_url: str | None = None,
            poll_seconds: float = 1.0, timeout: float = 1800, profile: str | None = None,
            poll_full_record: bool = False) -> dict:
    """POST the file, poll GET /v1/uploads/{id}/status (the full record with `poll_full_record`) every
    `poll_seconds` until it is done: that is the time, CPU and peak RSS. Then the full record, once, for the
    checks (its peak RSS reported apart)."""
    tmp = None
    drop = None
    if database_url is None:
        tmp = tempfile.mkdtemp(prefix="bench-upload-")
        database_url = f"sqlite:///{tmp}/upload.db"
    else:
        database_url, drop = _postgres_schema(database_url)
    kind = "text/csv" if path.suffix == ".csv" else XLSX_TYPE
    content = path.read_bytes()
    proc, base = start_server(database_url)
    spy = None
    if profile:  # py-spy sampling the server (all threads) from the POST to the end; it slows the run a little
        exe = Path(sys.executable).with_name("py-spy")
        fmt = {".json": "speedscope", ".txt": "raw"}.get(Path(profile).suffix, "flamegraph")
        spy = subprocess.Popen([str(exe) if exe.exists() else "py-spy", "record", "--pid", str(proc.pid), "--rate",
                                "50", "--threads", "--format", fmt, "-o", profile],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {KEY}"}, timeout=300) as client:
            cpu0 = cpu_seconds(proc.pid)
            started = time.perf_counter()
            r = client.post("/v1/uploads", files={"file": (path.name, content, kind)})
            answered = time.perf_counter() - started
            if r.status_code not in (201, 202):
                raise RuntimeError(f"POST /v1/uploads answered {r.status_code}: {r.text[:500]}")
            upload_id = r.json()["id"]
            polls, poll_time, body = 0, 0.0, r.json()
            poll_path = f"/v1/uploads/{upload_id}" + ("" if poll_full_record else "/status")
            while body["status"] in ("queued", "running"):
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"upload still {body['status']} after {timeout}s: {body['progress']}")
                time.sleep(poll_seconds)
                t = time.perf_counter()
                g = client.get(poll_path)
                poll_time += time.perf_counter() - t
                polls += 1
                g.raise_for_status()
                body = g.json()
            elapsed = time.perf_counter() - started
            rss = peak_rss_mb(proc.pid)  # before any other request can add to it
            cpu = cpu_seconds(proc.pid) - cpu0
            record = client.get(f"/v1/uploads/{upload_id}")  # the whole record, once, as a client would fetch it
            record.raise_for_status()
            body = record.json()
            rss_record = max(peak_rss_mb(proc.pid).values())
            stored = _count_invoices(client)
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(120)
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if drop:
            drop()
    counts = body["counts"]
    result = {"file": path.name, "bytes": len(content), "status": body["status"], "seconds": elapsed,
              "post_seconds": answered, "post_status": r.status_code, "polls": polls, "poll_seconds": poll_time,
              "counts": counts, "invoices_in_file": invoices_in_file, "invoices_listed": stored,
              "invoice_ids": len({i["invoice_id"] for i in body["invoices"] if i["invoice_id"]}),
              "peak_rss_mb": max(rss.values()), "rss_by_pid": rss, "peak_rss_with_record_mb": rss_record,
              "server_cpu_seconds": cpu, "failure": body.get("failure"),
              "first_problems": body["problems"][:5]}
    result["ok"] = (body["status"] == "completed" and counts["rows"] == lines
                    and counts["invoices"] == invoices_in_file and counts["accepted"] == invoices_in_file
                    and counts["errors"] == 0 and stored == invoices_in_file
                    and result["invoice_ids"] == invoices_in_file)
    return result


# ------------------------------------------------------------------------------------------ figures


def _profile_path(profile: str | None, fmt: str) -> str | None:
    if not profile:
        return None
    p = Path(profile)
    return str(p.with_name(f"{p.stem}-{fmt}{p.suffix or '.svg'}"))


def measure(lines: int = 50_000, database_url: str | None = None, formats=("csv", "xlsx"),
            workdir: Path | None = None, poll_seconds: float = 1.0, profile: str | None = None,
            poll_full_record: bool = False) -> list[dict]:
    workdir = Path(workdir or tempfile.mkdtemp(prefix="bench-upload-files-"))
    workdir.mkdir(parents=True, exist_ok=True)
    invs = sheet_invoices(lines)
    results = []
    for fmt in formats:
        path = workdir / f"invoices-{lines}.{fmt}"
        t = time.perf_counter()
        (write_csv if fmt == "csv" else write_xlsx)(path, invs)
        print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB, {len(invs):,} invoices, {lines:,} lines) "
              f"in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        r = run_one(path, len(invs), lines, database_url, poll_seconds,
                    profile=_profile_path(profile, fmt), poll_full_record=poll_full_record)
        r["format"] = fmt
        print(f"{fmt}: {r['status']} in {r['seconds']:.1f}s, ok={r['ok']}, counts {r['counts']}, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB; first problems {r['first_problems'][:2]}", file=sys.stderr)
        results.append(r)
    return results


def rows_from(results: list[dict], lines: int, label: str) -> list[tuple]:
    out = []
    for r in results:
        fmt = r["format"]
        target = TARGET_SECONDS[fmt]
        met = r["ok"] and r["seconds"] <= target
        verdict = "" if r["ok"] else f" — FAILED: {r['status']}, {r['counts']}, {r['invoices_listed']} listed"
        out.append((f"Upload {fmt.upper()} ({label}), {lines:,} lines / {r['invoices_in_file']:,} invoices, "
                    "POST to all stored", f"{r['seconds']:.1f} s (server CPU {r['server_cpu_seconds']:.0f} s){verdict}",
                    f"<= {target} s", met))
    if results:
        peak = max(r["peak_rss_with_record_mb"] for r in results)
        out.append((f"Upload peak RSS ({label}), server process incl. upload worker and one GET of the full record",
                    " / ".join(f"{r['format'].upper()} {r['peak_rss_with_record_mb']:.0f} MB" for r in results),
                    f"<= {TARGET_RSS_MB} MB", peak <= TARGET_RSS_MB))
    return out


def rows(lines: int = 50_000, database_url: str | None = None) -> list[tuple]:
    label = "PostgreSQL" if database_url else "SQLite"
    return rows_from(measure(lines, database_url), lines, label)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload_bench")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--postgres", help="run on a fresh schema of this PostgreSQL database instead of SQLite")
    parser.add_argument("--only", choices=("csv", "xlsx"))
    parser.add_argument("--keep-files", help="write the generated files to this directory")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls (default 1)")
    parser.add_argument("--poll-full-record", action="store_true", help="poll GET /v1/uploads/{id}, the whole "
                        "record, instead of GET /v1/uploads/{id}/status")
    parser.add_argument("--profile", help="py-spy the server during each upload: P.svg writes P-csv.svg and "
                                          "P-xlsx.svg (flame graphs); P.txt collapsed stacks; P.json speedscope")
    args = parser.parse_args(argv)
    formats = (args.only,) if args.only else ("csv", "xlsx")
    started = time.time()
    results = measure(args.lines, args.postgres, formats, args.keep_files, args.poll, args.profile,
                      args.poll_full_record)
    from bench.run import table

    label = "PostgreSQL" if args.postgres else "SQLite"
    print(table(rows_from(results, args.lines, label)))
    for r in results:
        print(f"{r['format']}: server CPU {r['server_cpu_seconds']:.1f}s over {r['seconds']:.1f}s wall; "
              f"POST answered {r['post_status']} in {r['post_seconds']:.2f}s; {r['polls']} polls "
              f"took {r['poll_seconds']:.1f}s; counts {r['counts']}; listed {r['invoices_listed']}; "
              f"peak RSS by pid {{{', '.join(f'{p}: {m:.0f} MB' for p, m in r['rss_by_pid'].items())}}}")
    print(f"\n({time.time() - started:.0f} s)")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
