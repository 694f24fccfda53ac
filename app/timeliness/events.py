"""Checking one adjudication event against the invoice and the events before it. Pure module.

422: the event itself is wrong (a field missing or malformed, a date before receipt or before the previous
event, an amount above the charge without saying so). 409: the event is well formed but the claim's state
does not allow it now (a second final decision without a reversal, information without a contest, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from app.invoices.problems import Problem
from app.timeliness.claim import (
    CONTEST_REASONS, CONTESTED, DECISION_REVERSED, DENIED, EVENT_TYPES, FINAL_DECISIONS, INFORMATION_RECEIVED,
    INTEREST_PAID, PAID, Event,
)

FIELDS_BY_TYPE = {
    CONTESTED: {"reason", "information_requested"},
    INFORMATION_RECEIVED: set(),
    PAID: {"amount", "interest_amount", "interest_date", "exceeds_charge_acknowledged"},
    DENIED: {"reason"},
    INTEREST_PAID: {"amount"},
    DECISION_REVERSED: {"reason"},
}
OPTIONAL_FIELDS = {"type", "date"}
MAX_REASON = 200


@dataclass(frozen=True)
class InvoiceState:
    receipt_date: date
    charge_amount: Decimal
    status: str  # accepted | replaced | voided


@dataclass
class CheckedEvent:
    event: Event | None
    information_requested: list[str] | None
    exceeds_charge_acknowledged: bool
    problems: list[Problem]
    status: int  # 201 when there are no problems, else 409 or 422


def _money(raw: Any, loc: str, label: str, problems: list[Problem], *, allow_zero: bool = False) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        problems.append(Problem(loc, "invalid_amount", f"{label} must be a number of dollars and cents.",
                                ["a decimal such as 1250.00"]))
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        problems.append(Problem(loc, "invalid_amount", f"{label} '{raw}' is not a number.",
                                ["a decimal such as 1250.00"]))
        return None
    if value.as_tuple().exponent < -2:
        problems.append(Problem(loc, "too_many_decimals", f"{label} {raw} has fractions of a cent.",
                                ["at most 2 decimal places"]))
        return None
    if value < 0 or (value == 0 and not allow_zero):
        problems.append(Problem(loc, "amount_not_positive", f"{label} must be more than 0.", ["> 0"]))
        return None
    return value.quantize(Decimal("0.01"))


def _date(raw: Any, loc: str, label: str, problems: list[Problem], today: date) -> date | None:
    try:
        value = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        value = None
    if value is None:
        problems.append(Problem(loc, "invalid_date", f"{label} '{raw}' is not a calendar date.", ["YYYY-MM-DD"]))
        return None
    if value > today:
        problems.append(Problem(loc, "future_date", f"{label} {value} is in the future (today is {today}).",
                                [f"on or before {today}"]))
        return None
    return value


def parse_event(raw: Mapping[str, Any], today: date) -> tuple[Event | None, list[str] | None, bool, list[Problem]]:
    """The request body as an Event, or every problem with it."""
    problems: list[Problem] = []
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        problems.append(Problem("type", "required" if kind is None else "unknown_event_type",
                                "type is required." if kind is None else f"'{kind}' is not an event type.",
                                list(EVENT_TYPES)))
        return None, None, False, problems
    allowed = FIELDS_BY_TYPE[kind] | OPTIONAL_FIELDS
    for name, value in raw.items():
        if name not in allowed and value is not None:
            problems.append(Problem(name, "not_allowed_for_type", f"A {kind} event has no {name}.",
                                    sorted(allowed)))
    on = _date(raw.get("date"), "date", "date", problems, today) if raw.get("date") is not None else None
    if raw.get("date") is None:
        problems.append(Problem("date", "required", f"The {kind} event's date is required (the date on the "
                                "payment, notice or document, not the day it is keyed in).", ["YYYY-MM-DD"]))

    reason = raw.get("reason")
    if kind in (CONTESTED, DENIED, DECISION_REVERSED):
        if not isinstance(reason, str) or not reason.strip():
            problems.append(Problem("reason", "required", f"A {kind} event needs a reason.",
                                    list(CONTEST_REASONS) if kind == CONTESTED else None))
            reason = None
        elif kind == CONTESTED and reason not in CONTEST_REASONS:
            problems.append(Problem("reason", "unknown_contest_reason", f"'{reason}' is not a contest reason.",
                                    list(CONTEST_REASONS)))
        elif len(reason) > MAX_REASON:
            problems.append(Problem("reason", "too_long", f"reason is longer than {MAX_REASON} characters.",
                                    [f"at most {MAX_REASON} characters"]))

    requested = raw.get("information_requested")
    if kind == CONTESTED:
        if isinstance(requested, str):
            requested = [requested]
        if requested is not None and (not isinstance(requested, list)
                                      or not all(isinstance(x, str) and x.strip() for x in requested)):
            problems.append(Problem("information_requested", "invalid_type",
                                    "information_requested is a list of the items the plan needs.",
                                    ["a list of non-empty strings"]))
            requested = None
        if reason == "missing_info" and not requested:
            problems.append(Problem("information_requested", "required",
                                    "A contest for missing information must list the information requested "
                                    "(HSC 1371: the notice names the specific information needed)."))

    amount = interest_amount = interest_on = None
    if kind in (PAID, INTEREST_PAID):
        if raw.get("amount") is None:
            problems.append(Problem("amount", "required", f"A {kind} event needs the amount.",
                                    ["a decimal such as 1250.00"]))
        else:
            amount = _money(raw["amount"], "amount", "amount", problems)
    if kind == PAID:
        if raw.get("interest_amount") is not None:
            interest_amount = _money(raw["interest_amount"], "interest_amount", "interest_amount", problems,
                                     allow_zero=True)
        if raw.get("interest_date") is not None:
            if raw.get("interest_amount") is None:
                problems.append(Problem("interest_date", "interest_amount_missing",
                                        "interest_date was given without interest_amount.",
                                        ["interest_amount with interest_date"]))
            interest_on = _date(raw["interest_date"], "interest_date", "interest_date", problems, today)
            if interest_on and on and interest_on < on:
                problems.append(Problem("interest_date", "before_payment",
                                        f"Interest cannot be paid ({interest_on}) before the claim ({on}).",
                                        [f"on or after {on}"]))
    ack = raw.get("exceeds_charge_acknowledged") or False
    if not isinstance(ack, bool):
        problems.append(Problem("exceeds_charge_acknowledged", "invalid_type", "Must be true or false.",
                                ["true", "false"]))
        ack = False
    if problems:
        return None, None, False, problems
    event = Event(kind, on, amount=amount, interest_amount=interest_amount,
                  interest_on=interest_on or (on if interest_amount else None),
                  reason=reason.strip() if isinstance(reason, str) else None)
    return event, requested, ack, problems


def check_against_state(invoice: InvoiceState, history: list[Event], event: Event,
                        exceeds_charge_acknowledged: bool) -> tuple[int, list[Problem]]:
    """(201, []) when the event may be appended; otherwise the status and the problems."""
    if invoice.status != "accepted":
        return 409, [Problem("invoice", f"invoice_{invoice.status}",
                             f"The invoice was {invoice.status}; record events on its current version.")]
    problems: list[Problem] = []
    if event.on < invoice.receipt_date:
        problems.append(Problem("date", "before_receipt",
                                f"{event.on} is before the invoice's receipt date {invoice.receipt_date}.",
                                [f"on or after {invoice.receipt_date}"]))
    last = history[-1] if history else None
    if last is not None and event.on < last.on:
        problems.append(Problem("date", "before_previous_event",
                                f"{event.on} is before the previous event ({last.kind} on {last.on}); events are "
                                "appended in date order.", [f"on or after {last.on}"]))
    if event.kind == PAID and event.amount is not None and event.amount > invoice.charge_amount \
            and not exceeds_charge_acknowledged:
        problems.append(Problem("amount", "exceeds_charge",
                                f"{event.amount} is more than the invoice's charge {invoice.charge_amount}. If that "
                                "is right, send exceeds_charge_acknowledged: true.",
                                [f"at most {invoice.charge_amount}", "exceeds_charge_acknowledged: true"]))
    if problems:
        return 422, problems

    decided = _decision_in_force(history)
    awaiting = _awaiting_information(history)
    contested_before = any(e.kind == CONTESTED for e in history)
    conflict: Problem | None = None
    if event.kind in FINAL_DECISIONS and decided is not None:
        conflict = Problem("type", "already_decided",
                           f"The claim was already {decided.kind} on {decided.on}. Record a decision_reversed "
                           "event first to change the decision.", [DECISION_REVERSED, INTEREST_PAID])
    elif event.kind == CONTESTED and decided is not None:
        conflict = Problem("type", "already_decided",
                           f"The claim was {decided.kind} on {decided.on}; a decided claim cannot be contested.",
                           [DECISION_REVERSED])
    elif event.kind == CONTESTED and contested_before:
        conflict = Problem("type", "already_contested",
                           "The claim was already contested; one contest per claim is tracked. Record "
                           "information_received, then the decision.",
                           [INFORMATION_RECEIVED, PAID, DENIED] if awaiting else [PAID, DENIED])
    elif event.kind == INFORMATION_RECEIVED and (not awaiting or decided is not None):
        conflict = Problem("type", "not_awaiting_information",
                           "No contest is waiting for information" + (
                               f" (the claim was {decided.kind} on {decided.on})" if decided else "") + ".",
                           [CONTESTED] if decided is None and not contested_before else [])
    elif event.kind == INTEREST_PAID and (decided is None or decided.kind != PAID):
        conflict = Problem("type", "not_paid", "Interest can only follow a payment; the claim has no payment "
                           "in force.", [PAID])
    elif event.kind == DECISION_REVERSED and decided is None:
        conflict = Problem("type", "nothing_to_reverse", "The claim has no final decision to reverse.",
                           [PAID, DENIED, CONTESTED])
    if conflict is not None:
        return 409, [conflict]
    return 201, []


def _decision_in_force(history: list[Event]) -> Event | None:
    decided = None
    for e in history:
        if e.kind in FINAL_DECISIONS:
            decided = e
        elif e.kind == DECISION_REVERSED:
            decided = None
    return decided


def _awaiting_information(history: list[Event]) -> bool:
    awaiting = False
    for e in history:
        if e.kind == CONTESTED:
            awaiting = True
        elif e.kind == INFORMATION_RECEIVED:
            awaiting = False
    return awaiting
