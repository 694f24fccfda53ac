"""Invoice intake: check, de-duplicate, store. Plain functions over a session and data."""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.caller import LOCAL_OPERATOR, Caller
from app.db import insert_under_parent, insert_values, reading, reading_before_write
from app.batches.models import EncounterRow
from app.invoices import fields as fx
from app.invoices.documents import content_hash, invoice_document
from app.invoices.domain import Invoice
from app.invoices.models import IdempotencyKeyRow, IntakeRejectionRow, InvoiceLineRow, InvoiceRow
from app.invoices.problems import Findings, Problem
from app.invoices.rules import CheckResult, RuleContext, check_invoice
from app.timeliness import service as timeliness
from app.timeliness.models import ClaimTimelinessRow
from app.timeliness.policy import TimelinessPolicy

log = logging.getLogger("encounter_service.intake")


class IntakeRejected(Exception):
    def __init__(self, problems: list[Problem], warnings: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems, self.warnings = problems, warnings


class IntakeConflict(Exception):
    def __init__(self, detail: str, problems: list[Problem], existing: InvoiceRow | None = None):
        super().__init__(detail)
        self.detail, self.problems, self.existing = detail, problems, existing


@dataclass
class IntakeOutcome:
    invoice: InvoiceRow
    created: bool  # False when a retry returned the invoice already stored


def today_for_checks() -> date:
    # The UTC date is never behind California's, so a caller whose clock is ahead of Los Angeles (any US
    # zone east of it, or a UTC server) is never told that today is "in the future".
    return datetime.now(UTC).date()


def receipt_date(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def check_received_date(
    result: CheckResult, raw: Mapping[str, Any], caller: Caller, timezone: str,
) -> date | None:
    """A trusted caller may state the date the plan actually received the invoice (paper, fax, e-mail, a
    history import): never in the future, never before the services it bills. Anyone else gets a 422."""
    raw_value = raw.get("received_date")
    if raw_value is None:
        return None
    if not caller.may_set_receipt_date:
        result.findings.error(
            "received_date", "received_date_not_allowed",
            "Only plan staff (roles admin, finance) may state an invoice's receipt date; leave received_date out "
            "and the invoice is dated the day it arrives.")
        return None
    received = fx.a_date(result.findings, "received_date", raw_value, "Received date")
    if received is None:
        return None
    today = receipt_date(datetime.now(UTC), timezone)
    if received > today:
        result.findings.error("received_date", "future_date",
                              f"Received date {received.isoformat()} is in the future (today in {timezone} is "
                              f"{today.isoformat()}).", [f"on or before {today.isoformat()}"])
        return None
    if result.invoice is not None:
        latest = max(line.service_end_date for line in result.invoice.lines)
        if received < latest:
            result.findings.error(
                "received_date", "before_service",
                f"Received date {received.isoformat()} is before the last service date {latest.isoformat()}; an "
                "invoice cannot arrive before the services it bills.", [f"on or after {latest.isoformat()}"])
            return None
    return received


def validate(session: Session, raw: Mapping[str, Any], ctx: RuleContext, *, caller: Caller = LOCAL_OPERATOR,
             timezone: str = "America/Los_Angeles") -> CheckResult:
    """All checks, the stored-duplicate and invoice-number checks included, without storing anything."""
    result = check_invoice(raw, ctx)
    check_received_date(result, raw, caller, timezone)
    with reading(session):
        if result.invoice is not None:
            existing = _find_by_natural_key(session, result.invoice.billing_provider.npi,
                                            result.invoice.invoice_number)
            if existing is not None:
                try:
                    _same_or_conflict(existing, result.invoice)
                    result.findings.warn("invoice_number", "already_accepted",
                                         f"This exact invoice was already accepted as {existing.public_id}; "
                                         "sending it again returns the stored invoice.")
                except IntakeConflict as conflict:
                    result.findings.errors.extend(conflict.problems)
                return result
        _check_stored_duplicates(session, result)
    return result


def submit_invoice(
    session: Session, raw: Mapping[str, Any], ctx: RuleContext, *, timezone: str, source: str = "api",
    idempotency_key: str | None = None, caller: Caller = LOCAL_OPERATOR, policy: TimelinessPolicy | None = None,
) -> IntakeOutcome:
    request_hash = content_hash(raw)
    result = check_invoice(raw, ctx)
    # The reads run outside the write lock; the unique indexes catch what changes before the write (_after_race).
    with reading_before_write(session):
        if idempotency_key:
            replay = _replay_idempotent(session, idempotency_key, request_hash)
            if replay is not None:
                return IntakeOutcome(replay, created=False)
        if result.invoice is not None:
            existing = _find_by_natural_key(session, result.invoice.billing_provider.npi,
                                            result.invoice.invoice_number)
            if existing is not None:
                return IntakeOutcome(_same_or_conflict(existing, result.invoice), created=False)
        received = check_received_date(result, raw, caller, timezone)
        _check_stored_duplicates(session, result)
    if result.findings.errors:
        record_rejection(session, result.billing_npi, result.findings.errors, source)
        raise IntakeRejected(result.findings.errors, result.findings.warnings)

    row = _new_invoice_row(result.invoice, result.findings, timezone, source, received, caller)
    try:
        _insert_new_invoice(session, row, policy or default_policy(), idempotency_key, request_hash)
        session.commit()
    except IntegrityError:
        # A concurrent request stored the same invoice, key or service line first: answer as if we came second.
        session.rollback()
        return _after_race(session, raw, ctx, idempotency_key, request_hash, timezone, source)
    log.info("invoice accepted", extra={"invoice_id": row.public_id, "lines": len(row.lines), "source": source})
    return IntakeOutcome(row, created=True)


def _insert_new_invoice(session: Session, row: InvoiceRow, policy: TimelinessPolicy, idempotency_key: str | None,
                        request_hash: str) -> None:
    """Store a new invoice with its lines, queued encounter, timeliness row and idempotency key as plain INSERTs
    in the session's transaction. The ORM's unit of work cost a third of an intake request; these objects are
    never added to the session: they stay transient, take the ids the database gave, and are the answer. Every
    row is built before the transaction begins (on SQLite it holds the write lock); the invoice id is filled in
    once the database has numbered the invoice."""
    encounter = new_encounter(row, frequency="1")
    claim = timeliness.new_claim(row, policy)
    children = [(InvoiceLineRow.__table__, [insert_values(line) for line in row.lines]),
                (EncounterRow.__table__, [insert_values(encounter)]),
                (ClaimTimelinessRow.__table__, [insert_values(claim)])]
    if idempotency_key:
        children.append((IdempotencyKeyRow.__table__, [{
            "key": idempotency_key, "request_hash": request_hash, "invoice_id": None, "created_at": row.received_at}]))
    ids = insert_under_parent(session, InvoiceRow.__table__, insert_values(row), children, "invoice_id")
    row.id, encounter.id = ids[0], ids[2]
    for child in (*row.lines, encounter, claim):
        child.invoice_id = row.id
    set_committed_value(row, "encounters", [encounter])  # viewonly relationships: the answer needs no SELECT


def _after_race(session, raw, ctx, idempotency_key, request_hash, timezone, source) -> IntakeOutcome:
    if idempotency_key:
        replay = _replay_idempotent(session, idempotency_key, request_hash)
        if replay is not None:
            return IntakeOutcome(replay, created=False)
    result = check_invoice(raw, ctx)
    existing = _find_by_natural_key(session, result.invoice.billing_provider.npi, result.invoice.invoice_number)
    if existing is not None:
        return IntakeOutcome(_same_or_conflict(existing, result.invoice), created=False)
    _check_stored_duplicates(session, result)
    if result.findings.errors:
        record_rejection(session, result.billing_npi, result.findings.errors, source)
        raise IntakeRejected(result.findings.errors, result.findings.warnings)
    raise RuntimeError("integrity error with no conflicting row found")


def _replay_idempotent(session: Session, key: str, request_hash: str) -> InvoiceRow | None:
    stored = session.get(IdempotencyKeyRow, key)
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise IntakeConflict(
            "This Idempotency-Key was already used with a different request body.",
            [Problem("header:Idempotency-Key", "idempotency_key_reused",
                     "The key was first used for a different invoice; send a new key for a new request, "
                     "or resend the original body unchanged.")],
        )
    return get_invoice(session, stored_invoice_public_id(session, stored.invoice_id))


def stored_invoice_public_id(session: Session, invoice_id: int) -> str:
    return session.scalar(select(InvoiceRow.public_id).where(InvoiceRow.id == invoice_id))


# Statements built once (building the expression per request cost more than running it); spelled as in
# the partial unique indexes' WHERE, so SQLite can use them (it cannot match a bound parameter or
# "active = 1" against the index condition, and scans the table instead).
_BY_NATURAL_KEY = (
    select(InvoiceRow.public_id)
    .where(InvoiceRow.billing_npi == bindparam("npi"), InvoiceRow.invoice_number == bindparam("number"),
           InvoiceRow.status == literal_column("'accepted'"))
)
_STORED_LINES = (
    select(InvoiceLineRow.procedure_code, InvoiceLineRow.modifiers_key, InvoiceLineRow.service_start_date,
           InvoiceLineRow.service_end_date, InvoiceLineRow.line_number, InvoiceRow.invoice_number,
           InvoiceRow.public_id)
    .join(InvoiceRow, InvoiceRow.id == InvoiceLineRow.invoice_id)
    .where(literal_column("invoice_lines.active"), InvoiceLineRow.billing_npi == bindparam("npi"),
           InvoiceLineRow.member_cin == bindparam("cin"),
           InvoiceLineRow.service_start_date.in_(bindparam("starts", expanding=True)),
           # Lines of the same billing NPI + invoice number are that invoice itself (a retry, or a changed
           # resubmission); the natural-key check answers those with 200 or 409, not as duplicates.
           InvoiceRow.invoice_number != bindparam("number"), InvoiceRow.id != bindparam("exclude"))
    .order_by(InvoiceLineRow.invoice_id, InvoiceLineRow.line_number)
)


def _find_by_natural_key(session: Session, billing_npi: str, invoice_number: str) -> InvoiceRow | None:
    # Almost always absent: ask the connection for the id alone, and load the invoice only when there is one.
    public_id = session.connection().scalar(_BY_NATURAL_KEY, {"npi": billing_npi, "number": invoice_number})
    return None if public_id is None else get_invoice(session, public_id)


def _same_or_conflict(existing: InvoiceRow, invoice: Invoice) -> InvoiceRow:
    if existing.content_hash == content_hash(invoice_document(invoice)):
        return existing
    raise IntakeConflict(
        f"Invoice number {invoice.invoice_number} from billing provider {invoice.billing_provider.npi} was already "
        f"accepted (invoice {existing.public_id}, received {existing.receipt_date.isoformat()}) with different "
        "content.",
        [Problem("invoice_number", "invoice_number_taken",
                 "An accepted invoice is never edited in place. To correct it, send a replacement "
                 f"(POST /v1/invoices/{existing.public_id}/replace) or void it "
                 f"(POST /v1/invoices/{existing.public_id}/void); to bill something new, use a new invoice number.")],
        existing,
    )


def _check_stored_duplicates(session: Session, result: CheckResult, exclude_invoice_id: int | None = None) -> None:
    if not (result.billing_npi and result.member_cin and result.line_keys):
        return
    keys = {key: i for i, key in reversed(result.line_keys)}
    stored = session.connection().execute(_STORED_LINES, {
        "npi": result.billing_npi, "cin": result.member_cin, "starts": sorted({start for _, _, start, _ in keys}),
        "number": result.invoice_number or "", "exclude": -1 if exclude_invoice_id is None else exclude_invoice_id,
    })
    found = [(keys[(code, mods, start, end)], line_number, number, public_id)
             for code, mods, start, end, line_number, number, public_id in stored
             if (code, mods, start, end) in keys]
    for i, earlier_line, number, public_id in sorted(found):
        result.findings.error(
            f"lines[{i}]", "duplicate_line",
            f"Line {i + 1} duplicates line {earlier_line} of invoice {number} (id {public_id}), already "
            "accepted for this member and billing provider with the same procedure code, modifiers and service "
            "dates; the state denies a whole encounter for one duplicate line. If the earlier invoice is wrong, "
            "replace or void it.",
        )


def record_rejection(session: Session, billing_npi: str | None, problems: list[Problem], source: str) -> None:
    """Count the rejection per provider and error code, in its own commit (nothing of the invoice is kept)."""
    session.rollback()
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.code] = counts.get(p.code, 0) + 1
    now = datetime.now(UTC)
    session.add_all(
        IntakeRejectionRow(rejected_at=now, billing_npi=billing_npi, source=source, code=code, count=n)
        for code, n in sorted(counts.items())
    )
    session.commit()
    log.info("invoice rejected", extra={"problems": len(problems), "codes": sorted(counts), "source": source})


@lru_cache
def default_policy() -> TimelinessPolicy:
    """For callers that do not pass the app's policy (the CLI, other intake paths): from the environment."""
    from app.settings import get_settings
    from app.timeliness.policy import policy_from_settings

    return policy_from_settings(get_settings())


def _new_invoice_row(inv: Invoice, findings: Findings, timezone: str, source: str, received: date | None = None,
                     caller: Caller | None = None) -> InvoiceRow:
    now = datetime.now(UTC)
    document = invoice_document(inv)
    return InvoiceRow(
        public_id=str(uuid.uuid4()),
        billing_npi=inv.billing_provider.npi,
        invoice_number=inv.invoice_number,
        member_cin=inv.member.cin,
        status="accepted",
        source=source,
        programs=",".join(inv.programs),
        received_at=now,
        receipt_date=received or receipt_date(now, timezone),
        receipt_date_set_by=caller.key_id if received else None,
        invoice_date=inv.invoice_date,
        invoice_amount=inv.invoice_amount,
        content_hash=content_hash(document),
        document=document,
        warnings=[w.as_dict() for w in findings.warnings],
        lines=[
            InvoiceLineRow(
                line_number=line.line_number,
                billing_npi=inv.billing_provider.npi,
                member_cin=inv.member.cin,
                procedure_code=line.procedure_code,
                modifiers=" ".join(line.modifiers),
                modifiers_key=" ".join(sorted(line.modifiers)),
                service_start_date=line.service_start_date,
                service_end_date=line.service_end_date,
                unit_count=line.unit_count,
                unit_cost=line.unit_cost,
                charge_amount=line.charge_amount,
                place_of_service=line.place_of_service,
                program=line.program,
                encounter_unit=line.encounter_unit,
                encounter_units=line.encounter_units,
                code_table_version=line.code_table_version,
                active=True,
            )
            for line in inv.lines
        ],
    )


def new_encounter(invoice: InvoiceRow, frequency: str, original: EncounterRow | None = None) -> EncounterRow:
    """Queue an invoice version for the 837P. A replacement (7) or void (8) points at what the receiver
    knows: its own control number when an acknowledgment gave us one, else the CLM01 we sent."""
    now = datetime.now(UTC)
    reference = None
    if original is not None:
        reference = original.receiver_control_number or original.clm01
    return EncounterRow(
        invoice=invoice, frequency=frequency, original_encounter_id=original.id if original else None,
        original_reference=reference, payer_id=invoice.document["primary_payer_identifier"], status="queued",
        findings=[], created_at=now, updated_at=now,
    )


def get_invoice(session: Session, public_id: str) -> InvoiceRow | None:
    return session.scalar(
        select(InvoiceRow).options(selectinload(InvoiceRow.lines)).where(InvoiceRow.public_id == public_id)
    )


@dataclass
class InvoiceFilters:
    billing_npi: str | None = None
    member_cin: str | None = None
    status: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    billing_npis: frozenset[str] | None = None  # a provider key's scope


def list_invoices(session: Session, filters: InvoiceFilters, after_id: int | None, limit: int) -> list[InvoiceRow]:
    query = select(InvoiceRow).options(selectinload(InvoiceRow.lines)).order_by(InvoiceRow.id).limit(limit)
    if after_id is not None:
        query = query.where(InvoiceRow.id > after_id)
    if filters.billing_npi:
        query = query.where(InvoiceRow.billing_npi == filters.billing_npi)
    if filters.billing_npis is not None:
        query = query.where(InvoiceRow.billing_npi.in_(sorted(filters.billing_npis)))
    if filters.member_cin:
        query = query.where(InvoiceRow.member_cin == filters.member_cin)
    if filters.status:
        query = query.where(InvoiceRow.status == filters.status)
    if filters.received_from:
        query = query.where(InvoiceRow.receipt_date >= filters.received_from)
    if filters.received_to:
        query = query.where(InvoiceRow.receipt_date <= filters.received_to)
    return list(session.scalars(query))
