"""Large files run as a background job with visible progress; a job that dies is resumed without duplicates."""

import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.auth.caller import Caller
from app.invoices.models import InvoiceRow
from app.main import create_app
from app.uploads import job as job_module
from app.uploads import service
from app.uploads.job import run_upload
from app.uploads.models import UploadInvoiceRow, UploadRow
from app.uploads.worker import job_context, new_worker_id, rule_context_factory, run_pending
from factories import ADMIN
from generate import large_csv, large_xlsx
from sheets import upload


def count(app, model) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model))


def wait_until_finished(client, upload_id: str, timeout: float = 600) -> tuple[dict, list[dict]]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/uploads/{upload_id}").json()
        seen.append({"status": body["status"], **body["progress"]})
        if body["status"] in ("completed", "failed"):
            return body, seen
        time.sleep(0.2)
    raise AssertionError(f"upload still {seen[-1]} after {timeout}s")


def test_a_50000_line_csv_runs_in_the_background_with_progress_and_stores_every_invoice(client, app):
    lines, per_invoice = 50_000, 50  # 1,000 invoices; long invoices keep the suite fast on both databases
    started = time.monotonic()
    r = upload(client, large_csv(lines, per_invoice), "big.csv")
    assert r.status_code == 202, r.text
    assert time.monotonic() - started < 15  # answered before the work is done
    first = r.json()
    assert first["status"] in ("queued", "running")
    assert first["progress"]["rows_estimate"] == lines
    assert r.headers["location"] == f"/v1/uploads/{first['id']}"

    body, seen = wait_until_finished(client, first["id"])
    assert body["status"] == "completed", body["failure"]
    assert body["counts"]["rows"] == lines and body["counts"]["invoices"] == lines // per_invoice
    assert body["counts"]["accepted"] == lines // per_invoice and body["counts"]["errors"] == 0
    assert body["progress"] == {"rows_total": lines, "rows_estimate": lines, "rows_read": lines,
                                "rows_validated": lines, "rows_stored": lines}
    # Progress was visible while the job ran: counters moved up step by step, never backwards.
    stored = [s["rows_stored"] for s in seen]
    assert stored == sorted(stored)
    assert any(s["status"] == "running" and 0 < s["rows_stored"] < lines for s in seen), seen
    assert count(app, InvoiceRow) == lines // per_invoice


def test_an_xlsx_above_the_threshold_runs_in_the_background_too(settings):
    settings.upload_sync_max_rows = 10
    app = create_app(settings)
    try:
        with TestClient(app, headers=ADMIN) as client:
            r = upload(client, large_xlsx(300, 3), "big.xlsx")
            assert r.status_code == 202
            body, _ = wait_until_finished(client, r.json()["id"])
            assert body["counts"]["accepted"] == 100 and body["counts"]["rows"] == 300
    finally:
        _wipe(app)


def _wipe(app):
    from app.db import Base

    with app.state.database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "control_counters":
                conn.execute(table.delete())
    app.state.database.engine.dispose()


def _job(app, worker_id: str):
    st = app.state
    make = rule_context_factory(st.code_tables, st.places_of_service, st.us_states, 999)
    return job_context(st.database, st.settings, make, worker_id)


def _queued_upload(app, content: bytes, name: str = "resume.csv") -> int:
    with app.state.database.sessionmaker() as s:
        new = service.create_upload(s, filename=name, content=content, mode="per_invoice",
                                    caller=Caller("key-r", "admin"), sync_max_rows=0, max_rows=10**6,
                                    worker_id="unused")
        return new.upload.id


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing in the job catches it."""


def test_a_job_killed_midway_is_resumed_without_duplicates_and_reports_every_invoice_once(app, monkeypatch):
    upload_id = _queued_upload(app, large_csv(60, 2))  # 30 invoices
    first = _job(app, new_worker_id("test"))
    first.flush_invoices, first.flush_seconds = 4, 3600  # outcomes are written every 4 invoices
    calls = {"n": 0}
    real_submit = job_module.submit_group

    def dies_after_ten(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 10:
            raise ProcessDied()
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(job_module, "submit_group", dies_after_ten)
    with app.state.database.sessionmaker() as s:
        assert job_module.claim(s, upload_id, first.worker_id, timedelta(seconds=60))
    with pytest.raises(ProcessDied):
        run_upload(first, upload_id)
    monkeypatch.setattr(job_module, "submit_group", real_submit)
    assert count(app, InvoiceRow) == 10  # ten invoices were committed whole...
    assert count(app, UploadInvoiceRow) == 8  # ...but only two batches of outcomes were written

    # A live worker's job is not taken over; a silent one is.
    second = _job(app, new_worker_id("test"))
    assert run_pending(second, stale_after=timedelta(seconds=60)) == 0
    assert run_pending(second, stale_after=timedelta(0)) == 1

    with app.state.database.sessionmaker() as s:
        upload_row = s.get(UploadRow, upload_id)
        outcomes = s.scalars(select(UploadInvoiceRow).where(UploadInvoiceRow.upload_id == upload_id)).all()
    assert upload_row.status == "completed" and upload_row.attempts == 2
    assert sorted(o.group_index for o in outcomes) == list(range(30))
    assert {o.status for o in outcomes} == {"accepted"}
    assert upload_row.accepted == 30 and upload_row.rows_stored == 60
    assert count(app, InvoiceRow) == 30


def test_an_upload_left_queued_is_picked_up_when_the_app_starts(settings):
    settings.upload_worker = False
    app = create_app(settings)
    try:
        upload_id = _queued_upload(app, large_csv(20, 2))
        settings.upload_worker = True
        with TestClient(create_app(settings), headers=ADMIN) as client:
            public_id = None
            with app.state.database.sessionmaker() as s:
                public_id = s.get(UploadRow, upload_id).public_id
            body, _ = wait_until_finished(client, public_id, timeout=120)
            assert body["counts"]["accepted"] == 10
    finally:
        _wipe(app)


def test_a_failed_upload_can_be_resumed_through_the_api(app):
    upload_id = _queued_upload(app, large_csv(10, 2))
    with app.state.database.sessionmaker() as s:
        s.execute(update(UploadRow).where(UploadRow.id == upload_id).values(status="failed", failure="boom"))
        s.commit()
        public_id = s.get(UploadRow, upload_id).public_id
    with TestClient(app, headers=ADMIN) as client:
        assert client.get(f"/v1/uploads/{public_id}").json()["status"] == "failed"
        r = client.post(f"/v1/uploads/{public_id}/resume")
        assert r.status_code == 202
        body, _ = wait_until_finished(client, public_id, timeout=120)
        assert body["status"] == "completed" and body["counts"]["accepted"] == 5 and body["failure"] is None
        assert client.post(f"/v1/uploads/{public_id}/resume").status_code == 409


def test_the_cli_runs_queued_uploads(app, settings, monkeypatch, capsys):
    import app.cli as cli

    upload_id = _queued_upload(app, large_csv(6, 2))
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main(["uploads", "run"]) == 0
    assert "1 upload(s) run" in capsys.readouterr().out
    with app.state.database.sessionmaker() as s:
        assert (s.get(UploadRow, upload_id).status, s.get(UploadRow, upload_id).accepted) == ("completed", 3)
