"""HTTP intake through uvicorn (N workers) and the real database: invoices/s and latency percentiles at C
concurrent clients. The load generator is one asyncio process with pre-built requests on keep-alive
connections, so that it takes as little of the machine as possible."""

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


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends pre-built requests and reads each whole answer (status line,
    headers, Content-Length body). httpx took about 2 ms of CPU per request on this machine, which the server's
    two workers then lacked; this takes about a tenth of that, like a C load generator (wrk, oha) would."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    async def request(self, data: bytes) -> int:
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from POST /v1/invoices")
        await self.reader.readexactly(length)
        return status


def _post(base: str, path: str, body: bytes) -> bytes:
    host = base.split("://", 1)[1]
    return (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def _load(base: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], dict[int, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = [_post(base, "/v1/invoices", body) for body in reversed(bodies)]
    host, port = base.split("://", 1)[1].split(":")
    connections = [_Connection(*await asyncio.open_connection(host, int(port))) for _ in range(concurrency)]

    async def worker(connection: _Connection):
        while queue:
            data = queue.pop()
            t = time.perf_counter()
            status = await connection.request(data)
            latencies.append(time.perf_counter() - t)
            statuses[status] = statuses.get(status, 0) + 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        return latencies, statuses, time.perf_counter() - started
    finally:
        for c in connections:
            c.writer.close()


def _run(coroutine):
    """asyncio.run on uvloop (installed with uvicorn[standard], as the server runs) when it is there."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


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
        _run(_load(base, bodies[:warmup], concurrency))
        latencies, statuses, elapsed = _run(_load(base, bodies[warmup:], concurrency))
    finally:
        proc.terminate()
        proc.wait(30)
    return {"invoices": count, "concurrency": concurrency, "workers": workers, "seconds": elapsed,
            "per_second": count / elapsed, "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000, "mean_ms": statistics.fmean(latencies) * 1000,
            "statuses": statuses}


if __name__ == "__main__":
    print(run(count=int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
