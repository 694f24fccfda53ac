"""A batch cutter killed with SIGKILL in the middle of a cut: no half batch is visible, every encounter is
in a released batch or back in the queue, and the next cut succeeds at once (the dead cutter is recognised
by host, pid and process start; no waiting for CUT_STALE_AFTER_SECONDS)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select

from app.batches.models import BatchClaimPartRow, BatchContentPartRow, BatchRow, EncounterRow
from bench.data import invoices

INVOICES = 400


def test_a_cutter_killed_mid_cut_leaves_nothing_half_done_and_the_next_cut_succeeds(client, database_url):
    for raw in invoices(INVOICES, lines=3, seed=31):
        assert client.post("/v1/invoices", json=raw).status_code == 201
    env = dict(os.environ, DATABASE_URL=database_url, CUT_STALE_AFTER_SECONDS="3600", BATCH_VALIDATE_PROCESSES="1")
    cutter = subprocess.Popen([sys.executable, "-m", "app.cli", "batch", "cut"], env=env, cwd=Path(__file__).parents[2],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    engine = create_engine(database_url)
    deadline = time.time() + 120
    claimed = None
    while time.time() < deadline and claimed is None and cutter.poll() is None:
        with engine.connect() as conn:
            claimed = conn.scalar(select(BatchRow.id).where(BatchRow.status == "cutting"))
        time.sleep(0.02)
    assert claimed is not None, "the cutter never reached the cutting state"
    os.kill(cutter.pid, signal.SIGKILL)
    cutter.wait(30)

    with engine.connect() as conn:
        assert conn.execute(select(BatchRow.status, BatchRow.content).where(BatchRow.id == claimed)).one() == \
            ("cutting", None)
        statuses = {s for (s,) in conn.execute(select(EncounterRow.status))}
        assert conn.scalar(select(func.count()).select_from(BatchContentPartRow)) == 0
        assert conn.scalar(select(func.count()).select_from(BatchClaimPartRow)) == 0
    assert statuses <= {"queued", "cutting"}
    assert client.get("/v1/batches").json()["items"] == []  # nothing half-cut is offered to the pipeline

    after = client.post("/v1/batches", json={"max_claims": 5000})
    assert after.status_code == 201, after.text
    assert after.json()["status"] == "released" and after.json()["claim_count"] == INVOICES
    with engine.connect() as conn:
        assert conn.scalar(select(BatchRow.status).where(BatchRow.id == claimed)) == "abandoned"
        assert {s for (s,) in conn.execute(select(EncounterRow.status))} == {"batched"}
        assert set(conn.scalars(select(BatchContentPartRow.batch_id))) == {conn.scalar(
            select(BatchRow.id).where(BatchRow.status == "released"))}  # the released batch's alone
    engine.dispose()
