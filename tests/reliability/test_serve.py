"""`encounter-service serve --workers 2`: keep-alive clients are spread over both workers (with uvicorn's
shared socket one worker took every connection), a killed worker is replaced, SIGTERM stops everything."""

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from bench.data import invoices
from bench.http_intake import _load, start_server


def _workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_for(predicate, seconds: float = 30):  # noqa: ANN001, ANN202
    deadline = time.time() + seconds
    while time.time() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    pytest.fail("timed out")


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker processes from /proc")
def test_workers_share_keep_alive_clients_are_replaced_when_killed_and_stop_on_sigterm(app, database_url):
    proc, base = start_server(database_url, workers=2)  # `app`: its teardown empties the test database
    try:
        workers = _wait_for(lambda: (w := _workers(proc.pid)) and len(w) == 2 and w)
        before = {w: _cpu_seconds(w) for w in workers}
        bodies = [json.dumps(raw).encode() for raw in invoices(160, lines=1, seed=31)]
        _, statuses, _ = asyncio.run(_load(base, bodies, concurrency=16))
        assert statuses == {201: 160}
        used = {w: _cpu_seconds(w) - before[w] for w in workers}
        assert all(seconds > 0.05 for seconds in used.values()), used  # both served requests

        os.kill(workers[0], signal.SIGKILL)
        replaced = _wait_for(lambda: (w := _workers(proc.pid)) and len(w) == 2 and workers[0] not in w and w)
        assert workers[1] in replaced
        started = time.time()
        with httpx.Client(base_url=base, timeout=10) as fresh:  # new connections, spread over both workers
            assert all(fresh.get("/readyz", headers={"Connection": "close"}).status_code == 200 for _ in range(20))
        assert time.time() - started < 10
    finally:
        proc.terminate()
        assert proc.wait(40) == 0
    assert all(not Path(f"/proc/{w}").exists() for w in replaced)
