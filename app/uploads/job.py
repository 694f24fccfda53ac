"""Processing a stored upload: every invoice in the file goes through `service.submit_invoice` — the one
intake path `POST /v1/invoices` uses — and each outcome and problem is recorded against the file's rows.

Resumable: each invoice commits whole (submit_invoice's own commit), and outcomes are written in small
batches together with the progress counters. A job that dies is picked up again from the first invoice
without a recorded outcome; submitting an invoice a second time returns the stored one (natural key)."""

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth.caller import Caller
from app.invoices import service
from app.invoices.problems import Problem
from app.invoices.rules import RuleContext
from app.uploads.assemble import Located, build_invoice, disagreements, locate
from app.uploads.columns import Column
from app.uploads.grouping import Group, SheetRow, SpooledGroups
from app.uploads.models import UploadFileRow, UploadInvoiceRow, UploadProblemRow, UploadRow
from app.uploads.reading import reopen

log = logging.getLogger("encounter_service.uploads")

SOURCE = "upload"
STORED = ("accepted", "already_accepted")
OUTCOME_COUNTERS = ("accepted", "already_accepted", "rejected", "not_stored")


@dataclass
class JobContext:
    engine: Engine
    sessionmaker: sessionmaker
    rule_context: Callable[[], RuleContext]
    timezone: str
    worker_id: str
    stop: threading.Event | None = None
    policy: object = None  # the app's TimelinessPolicy; None: submit_invoice takes it from the environment
    flush_seconds: float = 1.0
    flush_invoices: int = 500


@dataclass
class InvoiceResult:
    group: Group
    status: str  # accepted | already_accepted | rejected | not_stored | skipped
    invoice_public_id: str | None = None
    problems: list[Located] = field(default_factory=list)


class LostOwnership(Exception):
    """Another worker took the job over (this one was presumed dead); stop without writing more."""


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------------ claiming


def _claimable(stale_after: timedelta):
    return or_(UploadRow.status == "queued",
               and_(UploadRow.status == "running", UploadRow.heartbeat_at < now() - stale_after))


def claimable_ids(session: Session, stale_after: timedelta, limit: int = 10) -> list[int]:
    ids = list(session.scalars(select(UploadRow.id).where(_claimable(stale_after)).order_by(UploadRow.id)
                               .limit(limit)))
    session.commit()
    return ids


def claim(session: Session, upload_id: int, worker_id: str, stale_after: timedelta) -> bool:
    """Take a queued job, or one whose worker stopped beating; exactly one worker wins."""
    at = now()
    result = session.execute(
        update(UploadRow).where(UploadRow.id == upload_id, _claimable(stale_after))
        .values(status="running", worker_id=worker_id, heartbeat_at=at, attempts=UploadRow.attempts + 1,
                started_at=func.coalesce(UploadRow.started_at, at))
    )
    session.commit()
    return result.rowcount == 1


# ------------------------------------------------------------------------------------------ progress


class Pending:
    """Outcomes and counter increments not yet written; written together with a heartbeat."""

    def __init__(self, job: JobContext, upload_id: int):
        self.job, self.upload_id = job, upload_id
        self.results: list[InvoiceResult] = []
        self.deltas: Counter = Counter()
        self.last = time.monotonic()

    def record(self, result: InvoiceResult, *, count_validated: bool = True) -> None:
        self.results.append(result)
        rows = len(result.group.rows)
        if count_validated:
            self.deltas["rows_validated"] += rows
        if result.status in STORED:
            self.deltas["rows_stored"] += rows
        if result.status in OUTCOME_COUNTERS:
            self.deltas[result.status] += 1
        for p in result.problems:
            self.deltas["errors" if p.severity == "error" else "warnings"] += 1

    def due(self) -> bool:
        return len(self.results) >= self.job.flush_invoices or time.monotonic() - self.last >= self.job.flush_seconds

    def flush(self, session: Session, **finish) -> None:
        if self.results:
            # Core INSERTs through the connection (the ORM's bulk-insert path added nothing for plain rows).
            connection = session.connection()
            connection.execute(_INSERT_OUTCOME, [{
                "upload_id": self.upload_id, "group_index": r.group.index, "billing_npi": r.group.billing_npi,
                "invoice_number": r.group.invoice_number, "rows": r.group.row_numbers, "status": r.status,
                "invoice_public_id": r.invoice_public_id} for r in self.results])
            problems = [_problem_row(self.upload_id, r.group.index, p) for r in self.results for p in r.problems]
            if problems:
                connection.execute(_INSERT_PROBLEM, problems)
        values = {name: getattr(UploadRow, name) + n for name, n in self.deltas.items() if n}
        result = session.execute(update(UploadRow).where(UploadRow.id == self.upload_id,
                                                         UploadRow.worker_id == self.job.worker_id)
                                 .values(heartbeat_at=now(), **values, **finish))
        if result.rowcount != 1:
            session.rollback()
            raise LostOwnership()
        session.commit()
        session.expunge_all()  # the session lives for the whole job: keep its identity map small
        self.results, self.deltas, self.last = [], Counter(), time.monotonic()


_INSERT_OUTCOME = UploadInvoiceRow.__table__.insert()
_INSERT_PROBLEM = UploadProblemRow.__table__.insert()


def _problem_row(upload_id: int, group_index: int | None, p: Located) -> dict:
    return {"upload_id": upload_id, "group_index": group_index, "severity": p.severity, "row_number": p.row,
            "column_index": p.column.index if p.column else None,
            "column_header": p.column.header if p.column else None, "field": p.field, "code": p.code,
            "message": p.message, "allowed": p.allowed}


def file_problem_row(upload_id: int, p: Located) -> dict:
    return _problem_row(upload_id, None, p)


# ------------------------------------------------------------------------------------------ one invoice


@dataclass
class GroupInput:
    group: Group
    rows: list[SheetRow]
    by_field: dict[str, Column]

    def located(self, problems: list[Problem], severity: str, skip_fields: set[str] = frozenset()) -> list[Located]:
        out = []
        for p in problems:
            if p.code == "already_accepted" or p.loc.split(".")[0].split("[")[0] in skip_fields:
                continue
            out.append(locate(p, severity, self.group.row_numbers, self.by_field))
        return out


def _example(inp: GroupInput) -> InvoiceResult:
    column = inp.by_field.get("invoice_number")
    return InvoiceResult(inp.group, "skipped", problems=[
        Located("warning", n, column, "invoice_number", "example_row",
                "This is an example row of the template (its Invoice Number begins with EXAMPLE); it was not "
                "submitted. Delete it, or replace it with a real invoice line.")
        for n in inp.group.row_numbers])


def _checked_without_storing(session: Session, ctx: RuleContext, inp: GroupInput, caller: Caller
                             ) -> tuple[list[Located], list[Located], str | None]:
    """Errors and warnings of an invoice, the cross-row disagreements included, and its billing NPI."""
    if (denied := _out_of_scope(inp, caller)) is not None:
        return denied.problems, [], None
    conflicts = disagreements(inp.rows, inp.by_field, inp.group.invoice_number)
    result = service.validate(session, build_invoice(inp.rows), ctx, caller=caller)
    disputed = {p.field for p in conflicts}
    errors = conflicts + inp.located(result.findings.errors, "error", disputed)
    return errors, inp.located(result.findings.warnings, "warning", disputed), result.billing_npi


def _record_rejection(session: Session, billing_npi: str | None, errors: list[Located]) -> None:
    service.record_rejection(session, billing_npi, [Problem(p.field or "file", p.code, "") for p in errors], SOURCE)


def _out_of_scope(inp: GroupInput, caller: Caller) -> InvoiceResult | None:
    """A provider key uploads only for its own billing NPIs, as it submits only for them."""
    if caller.may_act_for(inp.group.billing_npi):
        return None
    column = inp.by_field.get("billing_provider_npi")
    return InvoiceResult(inp.group, "rejected", problems=[
        Located("error", n, column, "billing_provider_npi", "npi_not_in_key_scope",
                "The billing provider NPI must be one this API key was issued for; the invoice was not checked "
                "further or stored.", sorted(caller.npis)) for n in inp.group.row_numbers])


def submit_group(session: Session, ctx: RuleContext, job: JobContext, inp: GroupInput, caller: Caller,
                 resumed_since: datetime | None = None) -> InvoiceResult:
    if inp.group.example:
        return _example(inp)
    if (denied := _out_of_scope(inp, caller)) is not None:
        return denied
    if disagreements(inp.rows, inp.by_field, inp.group.invoice_number):
        # The rows do not say which value is the invoice's: report everything else too, store nothing.
        errors, warnings, npi = _checked_without_storing(session, ctx, inp, caller)
        _record_rejection(session, npi, errors)
        return InvoiceResult(inp.group, "rejected", problems=errors + warnings)
    try:
        outcome = service.submit_invoice(session, build_invoice(inp.rows), ctx, timezone=job.timezone,
                                         source=SOURCE, caller=caller, policy=job.policy)
    except service.IntakeRejected as rejected:
        return InvoiceResult(inp.group, "rejected", problems=inp.located(rejected.problems, "error")
                             + inp.located(rejected.warnings, "warning"))
    except service.IntakeConflict as conflict:
        problems = [Problem(p.loc, p.code, f"{conflict.detail} {p.message}", p.allowed) for p in conflict.problems]
        return InvoiceResult(inp.group, "rejected", problems=inp.located(problems, "error"))
    invoice = outcome.invoice
    created = outcome.created or (
        # After a crash, invoices this job stored before its last progress write come back as "already
        # stored"; they are this upload's own when they arrived through an upload after the job first started.
        resumed_since is not None and invoice.source == SOURCE and invoice.received_at >= resumed_since)
    if not created:
        return InvoiceResult(inp.group, "already_accepted", invoice.public_id)
    warnings = [Problem(w["loc"], w["code"], w["message"], w.get("allowed")) for w in invoice.warnings]
    return InvoiceResult(inp.group, "accepted", invoice.public_id, inp.located(warnings, "warning"))


# ------------------------------------------------------------------------------------------ the job


def run_upload(job: JobContext, upload_id: int) -> str:
    """Process (or resume) one claimed upload. Returns its status afterwards: completed, failed, or queued
    when asked to stop (it is resumed later)."""
    try:
        return _run(job, upload_id)
    except LostOwnership:
        log.warning("upload taken over by another worker", extra={"upload_id": upload_id})
        return "running"
    except Exception as exc:  # noqa: BLE001 - the job must end in a recorded state whatever happened
        # Only the type: exception text can carry cell values (PHI).
        log.error("upload failed", extra={"upload_id": upload_id, "error_type": type(exc).__name__})
        with job.sessionmaker() as s:
            s.execute(update(UploadRow).where(UploadRow.id == upload_id, UploadRow.worker_id == job.worker_id)
                      .values(status="failed", finished_at=now(), worker_id=None,
                              failure=f"Internal error ({type(exc).__name__}) while processing; invoices "
                                      "already stored stay stored. Re-run the upload to finish it."))
            s.commit()
        return "failed"


def _run(job: JobContext, upload_id: int) -> str:
    with job.sessionmaker() as s:
        upload = s.get(UploadRow, upload_id)
        content = s.scalar(select(UploadFileRow.content).where(UploadFileRow.upload_id == upload_id))
        done = set(s.scalars(select(UploadInvoiceRow.group_index).where(UploadInvoiceRow.upload_id == upload_id)))
        s.commit()  # end the read: on SQLite every transaction holds the write lock
    sheet = reopen(upload.file_format, content, upload.sheet_name, upload.header_row)
    columns = [Column(**c) for c in upload.columns]
    by_field = {c.field: c for c in columns if c.field}
    resumed_since = upload.started_at if upload.attempts > 1 else None
    caller = Caller(key_id=upload.created_by, role=upload.caller_role, npis=frozenset(upload.caller_npis))

    with job.sessionmaker() as s:
        def rows_read(n: int) -> None:
            _set(s, job, upload_id, rows_read=n)

        with SpooledGroups(sheet, columns, on_progress=rows_read) as groups:
            _set(s, job, upload_id, rows_read=groups.rows, rows_total=groups.rows, invoices_total=len(groups))
            if upload.mode == "all_or_nothing":
                status = _all_or_nothing(job, s, upload_id, groups, by_field, caller)
            else:
                status = _per_invoice(job, s, upload_id, groups, by_field, done, resumed_since, caller)
    log.info("upload %s", status, extra={"upload_id": upload.public_id, "rows": groups.rows,
                                         "invoices": len(groups)})
    return status


def _set(session: Session, job: JobContext, upload_id: int, **values) -> None:
    result = session.execute(update(UploadRow).where(UploadRow.id == upload_id, UploadRow.worker_id == job.worker_id)
                             .values(heartbeat_at=now(), **values))
    if result.rowcount != 1:
        session.rollback()
        raise LostOwnership()
    session.commit()


def _finish_values() -> dict:
    return {"status": "completed", "finished_at": now(), "worker_id": None}


def _stopping(job: JobContext) -> bool:
    return job.stop is not None and job.stop.is_set()


def _per_invoice(job: JobContext, s: Session, upload_id: int, groups: SpooledGroups, by_field: dict[str, Column],
                 done: set[int], resumed_since: datetime | None, caller: Caller) -> str:
    ctx = job.rule_context()
    pending = Pending(job, upload_id)
    for group in groups:
        if group.index in done:
            continue
        if _stopping(job):
            pending.flush(s, status="queued", worker_id=None)
            return "queued"
        inp = GroupInput(group, groups.load(group), by_field)
        pending.record(submit_group(s, ctx, job, inp, caller, resumed_since))
        if pending.due():
            pending.flush(s)
    pending.flush(s, **_finish_values())
    return "completed"


def _all_or_nothing(job: JobContext, s: Session, upload_id: int, groups: SpooledGroups,
                    by_field: dict[str, Column], caller: Caller) -> str:
    """Check every invoice first; store them all in one transaction only if none has an error."""
    ctx = job.rule_context()
    _set(s, job, upload_id, rows_validated=0)  # a re-run starts the checks again
    checked: list[tuple[Group, list[Located], list[Located], str | None]] = []
    counter = Pending(job, upload_id)
    for group in groups:
        if _stopping(job):
            _set(s, job, upload_id, status="queued", worker_id=None, rows_validated=0)
            return "queued"
        inp = GroupInput(group, groups.load(group), by_field)
        if group.example:
            checked.append((group, [], _example(inp).problems, None))
        else:
            checked.append((group, *_checked_without_storing(s, ctx, inp, caller)))
        counter.deltas["rows_validated"] += len(group.rows)
        if counter.due():
            counter.flush(s)
    counter.flush(s)

    pending = Pending(job, upload_id)
    if any(errors for _, errors, _, _ in checked):
        for group, errors, warnings, npi in checked:
            if errors:
                _record_rejection(s, npi, errors)
            status = "skipped" if group.example else "rejected" if errors else "not_stored"
            pending.record(InvoiceResult(group, status, problems=errors + warnings), count_validated=False)
        pending.flush(s, **_finish_values())
        return "completed"
    return _store_all(job, s, upload_id, groups, by_field, ctx, checked, caller)


def _store_all(job: JobContext, s: Session, upload_id: int, groups: SpooledGroups, by_field: dict[str, Column],
               ctx: RuleContext, checked: list, caller: Caller) -> str:
    """One outer transaction; each submit_invoice commit only releases a savepoint inside it."""
    pending = Pending(job, upload_id)
    failed: InvoiceResult | None = None
    with job.engine.connect() as conn:
        outer = conn.begin()
        with Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False) as tx:
            # Touch the upload row first: on PostgreSQL its row lock keeps a second worker from claiming the
            # job while this transaction runs.
            _heartbeat_in(tx, job, upload_id)
            for group, _, warnings, _ in checked:
                inp = GroupInput(group, groups.load(group), by_field)
                result = submit_group(tx, ctx, job, inp, caller)
                if result.status == "rejected":  # a race with another submission, or a duplicate within the file
                    failed = result
                    break
                pending.record(result, count_validated=False)
            if failed is None:
                pending.flush(tx, **_finish_values())
                outer.commit()
                return "completed"
            outer.rollback()
    # Nothing of this file was stored: report the failing invoice and every other as not stored.
    s.rollback()
    pending = Pending(job, upload_id)
    for group, _, warnings, npi in checked:
        if group is failed.group:
            errors = [p for p in failed.problems if p.severity == "error"]
            _record_rejection(s, npi, errors)
            pending.record(failed, count_validated=False)
        else:
            pending.record(InvoiceResult(group, "skipped" if group.example else "not_stored", problems=warnings),
                           count_validated=False)
    pending.flush(s, **_finish_values())
    return "completed"


def _heartbeat_in(session: Session, job: JobContext, upload_id: int) -> None:
    result = session.execute(update(UploadRow).where(UploadRow.id == upload_id, UploadRow.worker_id == job.worker_id)
                             .values(heartbeat_at=now()))
    if result.rowcount != 1:
        raise LostOwnership()
