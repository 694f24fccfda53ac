"""Files over the synchronous limit run as a background job: 202 at once, progress to watch, and a job
whose worker died midway is taken up again and finishes without storing anything twice."""

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from app.invoices.models import InvoiceRow
from app.main import create_app
from app.uploads.job import run_upload
from app.uploads.models import UploadRow
from app.uploads.worker import job_context_from_settings, run_pending
from factories import ADMIN, ecm_invoice
from sheets import csv_bytes, invoice_rows, upload

INVOICES = 40


def many_invoices_csv() -> bytes:
    rows = []
    for k in range(INVOICES):
        rows += invoice_rows(ecm_invoice(f"BG{k:04d}", cin=f"{30000000 + k}A"))
    return csv_bytes(rows)


def test_a_large_file_is_a_background_job_with_progress_and_every_invoice_stored(app, settings):
    # `app`: its teardown empties the tables this test's own app writes to
    background = create_app(settings.model_copy(update={"upload_sync_max_rows": 5, "upload_poll_seconds": 0.2}))
    with TestClient(background, headers=ADMIN) as c:
        r = upload(c, many_invoices_csv(), "many.csv")
        assert r.status_code == 202, r.text
        location = r.headers["location"]
        seen = []
        deadline = time.time() + 120
        while time.time() < deadline:
            body = c.get(location).json()
            seen.append((body["status"], body["progress"]["rows_read"], body["progress"]["rows_stored"]))
            if body["status"] in ("completed", "failed"):
                break
            time.sleep(0.05)
        assert body["status"] == "completed", body
        assert body["counts"]["accepted"] == INVOICES and body["counts"]["rejected"] == 0
        stored = [s for _, _, s in seen]
        assert stored == sorted(stored)  # progress only moves forward
        assert seen[-1][1] == seen[-1][2] == 2 * INVOICES
        assert len(c.get("/v1/invoices", params={"limit": 500}).json()["items"]) == INVOICES


def test_a_job_whose_worker_died_is_resumed_and_nothing_is_stored_twice(app, settings):
    quiet = settings.model_copy(update={"upload_sync_max_rows": 5, "upload_worker": False})
    with TestClient(create_app(quiet), headers=ADMIN) as c:
        r = upload(c, many_invoices_csv(), "many.csv")
        assert r.status_code == 202
        upload_id = r.json()["id"]
        job, database = job_context_from_settings(quiet, "dying-worker")
        with database.sessionmaker() as s:
            row = s.scalar(select(UploadRow).where(UploadRow.public_id == upload_id))
        # The first worker stores part of the file, then "dies": it stops and leaves the job running with an
        # old heartbeat, as a killed process would.
        job.stop = _StopAfter(database, row.id, invoices=15)
        run_upload(job, row.id) if _claim(database, row.id, "dying-worker") else None
        with database.sessionmaker() as s:
            s.execute(update(UploadRow).where(UploadRow.id == row.id).values(
                status="running", heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
            s.commit()
            part = s.scalar(select(func.count()).select_from(InvoiceRow))
        assert 0 < part < INVOICES

        rescuer, _ = job_context_from_settings(quiet, "rescuer")
        assert run_pending(rescuer, timedelta(seconds=quiet.upload_stale_after_seconds)) == 1
        body = c.get(f"/v1/uploads/{upload_id}").json()
        assert body["status"] == "completed", body
        with database.sessionmaker() as s:
            assert s.scalar(select(func.count()).select_from(InvoiceRow)) == INVOICES
        assert body["counts"]["accepted"] + body["counts"]["already_accepted"] == INVOICES
        database.engine.dispose()


def _claim(database, upload_id: int, worker_id: str) -> bool:
    from app.uploads.job import claim

    with database.sessionmaker() as s:
        return claim(s, upload_id, worker_id, timedelta(seconds=120))


class _StopAfter:
    """A stop flag that turns on once `invoices` invoices are stored (the worker checks it between invoices)."""

    def __init__(self, database, upload_id: int, invoices: int):
        self.database, self.upload_id, self.invoices = database, upload_id, invoices

    def is_set(self) -> bool:
        with self.database.sessionmaker() as s:
            return s.scalar(select(func.count()).select_from(InvoiceRow)) >= self.invoices

    def set(self) -> None:
        pass
