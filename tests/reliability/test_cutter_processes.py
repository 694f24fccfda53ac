"""Three batch cutters as separate processes at once: no encounter in two batches, no ISA13, GS06 or ST02
handed out twice."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select

from app.batches.models import BatchRow, EncounterRow
from bench.data import invoices


def test_cutter_processes_at_once_never_share_an_encounter_or_a_control_number(client, database_url):
    for raw in invoices(90, lines=2, seed=41):
        assert client.post("/v1/invoices", json=raw).status_code == 201
    env = dict(os.environ, DATABASE_URL=database_url, BATCH_VALIDATE="false")
    cmd = [sys.executable, "-m", "app.cli", "batch", "cut", "--max-claims", "10"]
    engine = create_engine(database_url)
    rounds = 0
    while rounds < 6:
        cutters = [subprocess.Popen(cmd, env=env, cwd=Path(__file__).parents[2], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE) for _ in range(3)]
        errors = [c.communicate(timeout=300)[1].decode() for c in cutters]
        assert all(c.returncode in (0, 1) for c in cutters), errors
        assert not any("Traceback" in e or "locked" in e for e in errors), errors
        rounds += 1
        with engine.connect() as conn:
            if conn.scalar(select(EncounterRow.id).where(EncounterRow.status == "queued")) is None:
                break
    with engine.connect() as conn:
        batches = conn.execute(select(BatchRow.id, BatchRow.status, BatchRow.isa13, BatchRow.gs06,
                                      BatchRow.st02_first)).all()
        encounters = conn.execute(select(EncounterRow.id, EncounterRow.batch_id, EncounterRow.status)).all()
    engine.dispose()
    released = [b for b in batches if b.status == "released"]
    assert len(released) >= 9
    assert len({b.isa13 for b in batches}) == len(batches) and len({b.gs06 for b in batches}) == len(batches)
    assert len({b.st02_first for b in batches}) == len(batches)
    assert all(e.status == "batched" and e.batch_id in {b.id for b in released} for e in encounters)
