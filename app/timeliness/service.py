"""Timeliness flows: open a claim's derived row at intake, append adjudication events, build the timeline.
Plain functions over a session and data; the rules live in the pure modules."""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.invoices.models import InvoiceRow
from app.invoices.problems import Problem
from app.timeliness import rollup
from app.timeliness.claim import ClaimFacts, Derived, Event, derive
from app.timeliness.events import InvoiceState, check_against_state, parse_event
from app.timeliness.models import ClaimTimelinessRow, EventIdempotencyKeyRow, InvoiceEventRow
from app.timeliness.policy import TimelinessPolicy

log = logging.getLogger("encounter_service.timeliness")

# Derived fields stored as they are; the rest of the row is the invoice's slicing columns.
_STORED = [f for f in Derived.__dataclass_fields__ if f not in ("interest_payments", "receipt_date")]


class EventRejected(Exception):
    def __init__(self, status: int, detail: str, problems: list[Problem]):
        super().__init__(detail)
        self.status, self.detail, self.problems = status, detail, problems


@dataclass
class EventOutcome:
    event: InvoiceEventRow
    created: bool  # False when an Idempotency-Key retry returned the stored event


def _facts(invoice: InvoiceRow, excluded_reason: str | None) -> ClaimFacts:
    return ClaimFacts(invoice.receipt_date, invoice.invoice_amount, excluded_reason)


def _store(row: ClaimTimelinessRow, derived: Derived) -> None:
    for name in _STORED:
        setattr(row, name, getattr(derived, name))


def new_claim(invoice: InvoiceRow, policy: TimelinessPolicy) -> ClaimTimelinessRow:
    """The derived row of a newly accepted invoice (or replacement): clean, open, deadlines from receipt."""
    row = ClaimTimelinessRow(
        invoice_id=invoice.id, receipt_date=invoice.receipt_date, programs=invoice.programs, billing_npi=invoice.billing_npi,
        billing_tin=invoice.document["billing_provider_tin"], submission_type=invoice.source, event_count=0,
    )
    _store(row, derive(_facts(invoice, None), [], policy))
    set_committed_value(invoice, "timeliness", row)  # a viewonly relationship: known now, no SELECT later
    return row


def open_claim(session: Session, invoice: InvoiceRow, policy: TimelinessPolicy) -> ClaimTimelinessRow:
    row = new_claim(invoice, policy)
    session.add(row)
    return row


def retire_claim(session: Session, invoice: InvoiceRow, status: str) -> None:
    """A voided invoice leaves every cohort; a replaced one leaves it unless the plan had already decided it
    (the replacement is a new receipt with its own clock)."""
    row = session.get(ClaimTimelinessRow, invoice.id)
    if row is None:
        return
    before = rollup.contribution(row)
    if status == "voided":
        row.excluded_reason = "voided"
    elif row.final_kind is None:
        row.excluded_reason = "replaced"
    rollup.apply(session, before, rollup.contribution(row))  # a voided settled claim leaves the rollup


def history(session: Session, invoice_id: int) -> list[InvoiceEventRow]:
    return list(session.scalars(
        select(InvoiceEventRow).where(InvoiceEventRow.invoice_id == invoice_id).order_by(InvoiceEventRow.sequence)))


def as_event(row: InvoiceEventRow) -> Event:
    return Event(row.kind, row.event_date, amount=row.amount, interest_amount=row.interest_amount,
                 interest_on=row.interest_date, reason=row.reason)


def _request_hash(invoice_id: int, raw: dict) -> str:
    body = json.dumps({"invoice": invoice_id, "event": raw}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def append_event(
    session: Session, invoice: InvoiceRow, raw: dict, *, policy: TimelinessPolicy, today: date, recorded_by: str,
    idempotency_key: str | None = None,
) -> EventOutcome:
    request_hash = _request_hash(invoice.id, raw)
    if idempotency_key:
        replay = _replay(session, idempotency_key, request_hash)
        if replay is not None:
            return EventOutcome(replay, created=False)

    event, requested, ack, problems = parse_event(raw, today)
    if problems:
        raise EventRejected(422, f"The event has {len(problems)} problem(s); nothing was recorded.", problems)
    claim = session.scalar(
        select(ClaimTimelinessRow).where(ClaimTimelinessRow.invoice_id == invoice.id).with_for_update())
    stored = history(session, invoice.id)
    past = [as_event(r) for r in stored]
    state = InvoiceState(invoice.receipt_date, invoice.invoice_amount, invoice.status)
    status, problems = check_against_state(state, past, event, ack)
    if problems:
        session.rollback()
        raise EventRejected(status, "The event does not fit the claim's history; nothing was recorded.", problems)

    now = datetime.now(UTC)
    row = InvoiceEventRow(
        invoice_id=invoice.id, sequence=len(stored) + 1, kind=event.kind, event_date=event.on, amount=event.amount,
        interest_amount=event.interest_amount, interest_date=event.interest_on, reason=event.reason,
        information_requested=requested, exceeds_charge_acknowledged=ack, recorded_at=now, recorded_by=recorded_by,
    )
    session.add(row)
    if claim is None:  # an invoice stored before timeliness existed
        claim = open_claim(session, invoice, policy)
    before = rollup.contribution(claim)
    _store(claim, derive(_facts(invoice, claim.excluded_reason), [*past, event], policy))
    claim.event_count = row.sequence
    try:
        session.flush()
        rollup.apply(session, before, rollup.contribution(claim))  # same transaction as the row it sums
        if idempotency_key:
            session.add(EventIdempotencyKeyRow(key=idempotency_key, request_hash=request_hash, event_id=row.id,
                                               created_at=now))
        session.commit()
    except IntegrityError:
        session.rollback()
        if idempotency_key:
            replay = _replay(session, idempotency_key, request_hash)
            if replay is not None:
                return EventOutcome(replay, created=False)
        raise EventRejected(409, "Another event for this invoice was recorded at the same time.",
                            [Problem("invoice", "concurrent_event", "Reload the timeline and retry.")]) from None
    log.info("event recorded", extra={"invoice_id": invoice.public_id, "event": event.kind, "sequence": row.sequence})
    return EventOutcome(row, created=True)


def _replay(session: Session, key: str, request_hash: str) -> InvoiceEventRow | None:
    stored = session.get(EventIdempotencyKeyRow, key)
    if stored is None:
        return None
    if stored.request_hash != request_hash:
        raise EventRejected(422, "This Idempotency-Key was already used with a different request.", [
            Problem("header:Idempotency-Key", "idempotency_key_reused",
                    "The key was first used for a different event; send a new key for a new event, or resend "
                    "the original request unchanged.")])
    return session.get(InvoiceEventRow, stored.event_id)


def claim_row(session: Session, invoice: InvoiceRow, policy: TimelinessPolicy) -> ClaimTimelinessRow:
    row = session.get(ClaimTimelinessRow, invoice.id)
    if row is None:
        row = open_claim(session, invoice, policy)
        session.flush()
    return row


def derived_from_row(row: ClaimTimelinessRow) -> Derived:
    values = {name: getattr(row, name) for name in _STORED}
    return Derived(receipt_date=row.receipt_date, **values)


def rebuild(session: Session, policy: TimelinessPolicy, batch: int = 1000) -> int:
    """Recompute every derived row from its invoice and events, e.g. after a timeliness setting changed."""
    count, last = 0, 0
    while True:
        invoices = list(session.scalars(select(InvoiceRow).where(InvoiceRow.id > last).order_by(InvoiceRow.id)
                                        .limit(batch)))
        if not invoices:
            break
        for invoice in invoices:
            row = claim_row(session, invoice, policy)
            events = [as_event(r) for r in history(session, invoice.id)]
            before = rollup.contribution(row)
            _store(row, derive(_facts(invoice, row.excluded_reason), events, policy))
            rollup.apply(session, before, rollup.contribution(row))
            count += 1
        last = invoices[-1].id
        session.commit()
    return count


def timeline(session: Session, invoice: InvoiceRow, policy: TimelinessPolicy, as_of: date) -> dict:
    """Events, deadlines and what is owed for one invoice, as it stood on ``as_of``."""
    from datetime import timedelta

    from app.timeliness import rules
    from app.timeliness.claim import status_as_of

    row = claim_row(session, invoice, policy)
    derived = derived_from_row(row)
    s = status_as_of(derived, as_of, policy)
    events = history(session, invoice.id)
    start = s.clock_start
    days_left = (s.state_deadline - as_of).days if s.is_open and s.state_deadline else None
    return {
        "invoice_id": invoice.public_id, "status": invoice.status, "as_of": as_of, "regime": derived.regime,
        "clean": derived.clean, "unclean_reason": derived.unclean_reason, "excluded_reason": derived.excluded_reason,
        "charge_amount": invoice.invoice_amount,
        "receipt": {"receipt_date": invoice.receipt_date, "received_at": invoice.received_at,
                    "dated_by": "caller" if invoice.receipt_date_set_by else "clock",
                    "set_by": invoice.receipt_date_set_by},
        "events": [event_out(e) for e in events],
        "deadlines": {
            "notice": derived.notice_deadline, "payment": s.state_deadline, "reconsideration": derived.recon_deadline,
            "federal_clock_start": start, "federal_30": start + timedelta(days=30) if start else None,
            "federal_90": start + timedelta(days=90) if start else None,
            "interest_due_by": derived.interest_due_by if s.interest_due_cents else None,
        },
        "current": {
            "decision": s.decision_kind, "decision_date": s.decision_date,
            "days_to_decision": (s.decision_date - start).days if (start and s.decision_date) else None,
            "within_30": s.within_30, "within_90": s.within_90, "in_federal_test": s.in_federal,
            "state_outcome": s.state_outcome, "days_left": days_left,
        },
        "owed": {
            "interest_due": rules.from_cents(s.interest_due_cents),
            "interest_paid": rules.from_cents(s.interest_paid_cents),
            "interest_unpaid": rules.from_cents(max(0, s.interest_due_cents - s.interest_paid_cents)),
            "penalty": rules.from_cents(s.penalty_cents), "penalty_status": s.penalty_status,
            "interest_accrued": rules.from_cents(s.accrued_cents),
            "interest_accruing_per_day": s.accrual_per_day.quantize(rules.CENT) if s.accrued_cents else rules.CENT * 0,
        },
    }


def event_out(row: InvoiceEventRow) -> dict:
    return {
        "sequence": row.sequence, "type": row.kind, "date": row.event_date, "amount": row.amount,
        "interest_amount": row.interest_amount, "interest_date": row.interest_date, "reason": row.reason,
        "information_requested": row.information_requested,
        "exceeds_charge_acknowledged": row.exceeds_charge_acknowledged, "recorded_at": row.recorded_at,
        "recorded_by": row.recorded_by,
    }
