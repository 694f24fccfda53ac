"""HTTP intake through uvicorn (N workers) and the real database: invoices/s and latency percentiles at C
concurrent clients. The load generator is one asyncio process with pre-encoded bodies, so that it takes as
little of the machine as possible."""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.data import invoices

KEY = "bench-admin-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, workers: int, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`python -m app.cli serve` on a free port, once /readyz answers (the upload worker off unless extra_env
    turns it on)."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=database_url, BOOTSTRAP_ADMIN_KEY=KEY, RATE_LIMIT_PER_MINUTE="0",
               LOG_LEVEL="WARNING", UPLOAD_WORKER="false")
    env.update(extra_env or {})
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
    proc.log_path = log.name
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {proc.log_path}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become ready; see {proc.log_path}")


async def _load(base: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as client:
        async def worker():
            while queue:
                body = queue.pop()
                t = time.perf_counter()
                r = await client.post("/v1/invoices", content=body)
                latencies.append(time.perf_counter() - t)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, statuses, time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(database_url: str | None = None, count: int = 3000, concurrency: int = 16, workers: int = 2,
        warmup: int = 200, seed: int = 11) -> dict:
    tmp = None
    if database_url is None:
        tmp = tempfile.mkdtemp(prefix="bench-intake-")
        database_url = f"sqlite:///{tmp}/intake.db"
    bodies = [json.dumps(raw).encode() for raw in invoices(count + warmup, lines=3, seed=seed)]
    proc, base = start_server(database_url, workers)
    try:
        asyncio.run(_load(base, bodies[:warmup], concurrency))
        latencies, statuses, elapsed = asyncio.run(_load(base, bodies[warmup:], concurrency))
    finally:
        proc.terminate()
        proc.wait(30)
    return {"invoices": count, "concurrency": concurrency, "workers": workers, "seconds": elapsed,
            "per_second": count / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "mean_ms": statistics.fmean(latencies) * 1000,
            "statuses": statuses}


if __name__ == "__main__":
    print(run(count=int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
