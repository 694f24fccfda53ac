"""One command for the figures: `python -m bench.run [--quick] [--postgres URL] [--write-results]`.

Each section measures a real code path (HTTP through uvicorn and the database, the writer, pyx12) on
generated data, repeats where it is cheap, and prints the median next to its target."""

import argparse
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import http_intake, x12_bench

RESULTS = Path(__file__).with_name("RESULTS.md")


def _median(values):
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def intake_rows(runs: int, count: int, database_url: str | None, label: str) -> list[tuple]:
    results = [http_intake.run(database_url=database_url, count=count) for _ in range(runs)]
    rate = _median([r["per_second"] for r in results])
    p50 = _median([r["p50_ms"] for r in results])
    p99 = _median([r["p99_ms"] for r in results])
    errors = sum(n for r in results for status, n in r["statuses"].items() if status >= 400)
    return [
        (f"HTTP intake ({label}), 16 clients, 2 workers, 3-line invoices", f"{rate:.0f} invoices/s", ">= 300", rate >= 300),
        (f"HTTP intake ({label}) latency p50 / p99", f"{p50:.0f} / {p99:.0f} ms", "p99 <= 150 ms", p99 <= 150),
        (f"HTTP intake ({label}) non-2xx responses", str(errors), "0", errors == 0),
    ]


def x12_rows(claims: int, validate_claims: int) -> list[tuple]:
    r = x12_bench.run(claims, validate_claims)
    return [
        (f"X12 writer, {claims:,} three-line claims", f"{r['writer_claims_per_s']:,.0f} claims/s", ">= 50,000",
         r["writer_claims_per_s"] >= 50_000),
        ("X12 writer / floor (joining the same segments)", f"{r['writer_to_floor']:.1f}x", "<= 5x",
         r["writer_to_floor"] <= 5),
        (f"pyx12, {validate_claims:,} claims, 1 process", f"{r['pyx12_single_claims_per_s']:,.0f} claims/s", "-", None),
        (f"pyx12 split by ST, {r['pyx12_processes']} processes", f"{r['pyx12_parallel_claims_per_s']:,.0f} claims/s"
         f" ({r['pyx12_speedup']:.2f}x)", ">= 1.8x", r["pyx12_speedup"] >= 1.8),
    ]


def table(rows: list[tuple]) -> str:
    out = ["| figure | measured | target | met |", "|---|---|---|---|"]
    for name, value, target, met in rows:
        out.append(f"| {name} | {value} | {target} | {'-' if met is None else ('yes' if met else 'NO')} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--quick", action="store_true", help="small scales, one run each (a smoke test)")
    parser.add_argument("--postgres", help="also run the database figures on this PostgreSQL URL")
    parser.add_argument("--write-results", action="store_true", help=f"write the table to {RESULTS.name}")
    args = parser.parse_args(argv)
    runs, count = (1, 500) if args.quick else (3, 3000)
    claims, validate_claims = (10_000, 10_000) if args.quick else (100_000, 20_000)  # >= 2 STs
    started = time.time()
    rows = intake_rows(runs, count, None, "SQLite")
    if args.postgres:
        rows += intake_rows(runs, count, args.postgres, "PostgreSQL")
    rows += x12_rows(claims, validate_claims)
    text = table(rows)
    print(text)
    print(f"\n({time.time() - started:.0f} s)")
    if args.write_results:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=RESULTS.parent).stdout.strip()
        command = "python -m bench.run" + (" --quick" if args.quick else "") + (" --postgres URL" if args.postgres else "")
        RESULTS.write_text(
            f"# Benchmark results\n\nMachine: {platform.machine()}, {len(__import__('os').sched_getaffinity(0))} "
            f"cores, Python {platform.python_version()}, {platform.system()}\n"
            f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — commit {commit} — command: `{command}`\n"
            f"Medians of {runs} run(s) where repeated.\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
