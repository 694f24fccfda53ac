"""The background worker: a thread (one per API process) that takes queued uploads, and uploads whose worker
stopped beating (the process died), from the database and runs them. Several processes may run one; a job
is claimed with a conditional UPDATE, so each is run by one worker at a time."""

import logging
import os
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from app.codetable import CodeTables, load_code_list
from app.db import Database
from app.invoices.rules import RuleContext
from app.invoices.service import today_for_checks
from app.settings import Settings
from app.timeliness.policy import policy_from_settings
from app.uploads.job import JobContext, claim, claimable_ids, run_upload

log = logging.getLogger("encounter_service.uploads")


def new_worker_id(kind: str) -> str:
    return f"{kind}:{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def rule_context_factory(code_tables: CodeTables, places_of_service: dict, states: dict, max_lines: int):
    def make() -> RuleContext:
        # "today" is taken when a job starts, as a request takes it when it arrives.
        return RuleContext(code_tables=code_tables, places_of_service=places_of_service, states=states,
                           today=today_for_checks(), max_lines=max_lines)

    return make


def job_context(database: Database, settings: Settings, rule_context, worker_id: str,
                stop: threading.Event | None = None) -> JobContext:
    return JobContext(engine=database.engine, sessionmaker=database.sessionmaker, rule_context=rule_context,
                      timezone=settings.timezone, worker_id=worker_id, stop=stop,
                      flush_seconds=settings.upload_progress_seconds, policy=policy_from_settings(settings))


def job_context_from_settings(settings: Settings, worker_id: str) -> tuple[JobContext, Database]:
    """For the CLI: the same job context the API process builds, from settings alone."""
    database = Database(settings.database_url, settings.sqlite_busy_timeout_ms)
    make = rule_context_factory(
        CodeTables.load(settings.codes_dir / "allowed_codes"),
        load_code_list(settings.codes_dir / "place_of_service.csv"),
        load_code_list(settings.codes_dir / "us_states.csv"), settings.max_lines_per_invoice)
    return job_context(database, settings, make, worker_id), database


def run_pending(job: JobContext, stale_after: timedelta) -> int:
    """Run every claimable upload (queued, or running with a stale heartbeat); the number run."""
    ran = 0
    while not (job.stop and job.stop.is_set()):
        with job.sessionmaker() as s:
            ids = claimable_ids(s, stale_after)
            claimed = next((i for i in ids if claim(s, i, job.worker_id, stale_after)), None)
        if claimed is None:
            return ran
        run_upload(job, claimed)
        ran += 1
    return ran


class UploadWorker:
    def __init__(self, job: JobContext, stale_after: timedelta, poll_seconds: float):
        self.job, self.stale_after, self.poll_seconds = job, stale_after, poll_seconds
        self.stop = job.stop or threading.Event()
        self.job.stop = self.stop
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="upload-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def notify(self) -> None:
        """A new upload was queued: look now rather than at the next poll."""
        self.wake.set()

    def shutdown(self, timeout: float = 30.0) -> None:
        # A running job stops between invoices and is set back to queued, so the next start resumes it.
        self.stop.set()
        self.wake.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stop.is_set():
            try:
                run_pending(self.job, self.stale_after)
            except Exception as exc:  # noqa: BLE001 - e.g. the database is briefly unreachable; try again later
                log.error("upload worker error", extra={"error_type": type(exc).__name__})
            self.wake.wait(self.poll_seconds)
            self.wake.clear()


@asynccontextmanager
async def upload_worker_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the worker with the app (resuming unfinished uploads) and stop it with the app."""
    settings: Settings = app.state.settings
    worker = None
    if settings.upload_worker:
        state = app.state
        make = rule_context_factory(state.code_tables, state.places_of_service, state.us_states,
                                    settings.max_lines_per_invoice)
        job = job_context(state.database, settings, make, new_worker_id("worker"))
        worker = UploadWorker(job, timedelta(seconds=settings.upload_stale_after_seconds),
                              settings.upload_poll_seconds)
        worker.start()
    app.state.upload_worker = worker
    try:
        yield
    finally:
        if worker is not None:
            worker.shutdown()
