"""Dead-cutter detection: a `cutting` batch is abandoned at once when its cutter (host:pid:process start) is
on this host and gone, never while that cutter lives, and by the time rule only for other hosts or rows
with no cutter; and a cutter whose batch was abandoned under it writes nothing."""

import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.batches import service
from app.batches.models import BatchClaimPartRow, BatchContentPartRow, BatchRow, EncounterRow
from factories import ecm_invoice

HOUR = timedelta(hours=1)


def _claimed_batch(client, app, cutter: str | None) -> int:
    """Phase 1 of a cut (encounters claimed, control numbers reserved, committed), with `cutter` recorded."""
    for n in range(3):
        assert client.post("/v1/invoices", json=ecm_invoice(f"DC{n}", cin=f"9000000{n}A")).status_code == 201
    factory = app.state.database.sessionmaker
    with factory() as session:
        batch = service._claim_encounters(session, service.CutRequest(), HOUR)
    with factory() as session:
        session.get(BatchRow, batch.id).cutter = cutter
        session.commit()
    return batch.id


def _reclaim(app, stale_after=HOUR) -> tuple[str, set[str]]:
    factory = app.state.database.sessionmaker
    with factory() as session:
        service.reclaim_abandoned(session, stale_after)
        session.commit()
    with factory() as session:
        (status,) = session.execute(select(BatchRow.status)).one()
        return status, {s for (s,) in session.execute(select(EncounterRow.status))}


def _gone_process() -> tuple[int, str]:
    """The pid and start time of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = service._process_start(proc.pid)
    proc.kill()
    proc.wait(10)
    assert started is not None
    return proc.pid, started


def test_the_live_cutters_batch_is_left_alone(client, app):
    _claimed_batch(client, app, service.this_cutter())
    assert _reclaim(app) == ("cutting", {"cutting"})


def test_a_dead_cutters_batch_on_this_host_is_abandoned_at_once(client, app):
    pid, started = _gone_process()
    _claimed_batch(client, app, f"{socket.gethostname()}:{pid}:{started}")
    assert _reclaim(app) == ("abandoned", {"queued"})


def test_a_reused_pid_does_not_pass_for_the_dead_cutter(client, app):
    me = service.this_cutter()
    host, pid, started = me.split(":")
    _claimed_batch(client, app, f"{host}:{pid}:{int(started) - 1}")  # our pid, another process's start
    assert _reclaim(app) == ("abandoned", {"queued"})


@pytest.mark.parametrize("cutter", ["another-host.example:{pid}:{started}", None, "{host}:{pid}:?", "garbage"])
def test_without_proof_of_death_only_the_time_rule_applies(client, app, cutter):
    pid, started = _gone_process()
    if cutter:
        cutter = cutter.format(host=socket.gethostname(), pid=pid, started=started)
    _claimed_batch(client, app, cutter)
    assert _reclaim(app) == ("cutting", {"cutting"})
    assert _reclaim(app, stale_after=timedelta(0)) == ("abandoned", {"queued"})


def test_a_cutter_whose_batch_was_abandoned_under_it_writes_nothing(client, app, settings, monkeypatch):
    """The slow cutter (past cut_stale_after_seconds) loses its batch to a second cutter while pyx12 runs;
    when it comes back it must neither release its batch nor touch the encounters the second one took."""
    for n in range(4):
        assert client.post("/v1/invoices", json=ecm_invoice(f"AB{n}", cin=f"9100000{n}A")).status_code == 201
    factory = app.state.database.sessionmaker
    real_finish = service.TransactionValidator.finish
    second: list[BatchRow] = []

    def finish_while_another_cutter_takes_over(self, file_segment_count):
        monkeypatch.setattr(service.TransactionValidator, "finish", real_finish)
        stale = service.CutOptions(envelope=settings.cut_options().envelope, stale_after=timedelta(0))
        second.append(service.cut_batch(factory, service.CutRequest(), stale))
        return real_finish(self, file_segment_count)

    monkeypatch.setattr(service.TransactionValidator, "finish", finish_while_another_cutter_takes_over)
    first = service.cut_batch(factory, service.CutRequest(), settings.cut_options())

    assert second and second[0].status == "released" and second[0].encounter_count == 4
    with factory() as session:
        rows = {b.id: b for b in session.scalars(select(BatchRow))}
        encounters = list(session.scalars(select(EncounterRow)))
        parts = set(session.scalars(select(BatchContentPartRow.batch_id)))
        claim_parts = set(session.scalars(select(BatchClaimPartRow.batch_id)))
    assert first.status == "abandoned"
    assert (rows[first.id].status, rows[first.id].content, rows[first.id].release_seq) == ("abandoned", None, None)
    assert parts == claim_parts == {second[0].id}  # the abandoned batch has no stored bytes or claims
    assert [(e.status, e.batch_id) for e in encounters] == [("batched", second[0].id)] * 4
    assert [b["id"] for b in client.get("/v1/batches").json()["items"]] == [second[0].public_id]
