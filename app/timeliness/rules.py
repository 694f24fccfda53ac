"""California per-claim deadlines, interest and penalties (tests S1 and S2 of the reference).

Pure module: plain functions over dates and Decimals. Day counts follow the reference: "N days after X" is
X + N, the day of X is day 0, and an act on day X + N is on time.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.timeliness.policy import TimelinessPolicy

S2_START = date(2026, 1, 1)  # AB 3275: claims received on or after this date
S2_DAYS = 30  # calendar days, HSC 1371(a) as amended
RATE_BASIS_POINTS = 1500  # 15% a year, simple, Actual/365 (leap years too)
INTEREST_AUTO_WORKING_DAYS = 5  # 28 CCR 1300.71(a)(1)(A): "automatically"
SMALL_INTEREST = Decimal("2.00")  # below this, interest may be batched monthly (1300.71(a)(1)(B))
SMALL_INTEREST_DAYS_AFTER_MONTH_END = 10
S2_PENALTY_MINIMUM = Decimal("15.00")
S2_PENALTY_SHARE = Decimal("0.10")
S1_PENALTY = Decimal("10.00")
S1_FLOOR_PER_YEAR = Decimal("15.00")
CENT = Decimal("0.01")


def regime(receipt_date: date) -> str:
    return "S2" if receipt_date >= S2_START else "S1"


def _calendar_deadline(start: date, days: int, policy: TimelinessPolicy) -> date:
    due = start + timedelta(days=days)
    return policy.calendar.next_working_day_on_or_after(due) if policy.extend_calendar_deadlines else due


def notice_deadline(receipt_date: date, policy: TimelinessPolicy) -> date:
    """The day by which the plan must pay a complete claim, or contest or deny it in writing."""
    if regime(receipt_date) == "S2":
        return _calendar_deadline(receipt_date, S2_DAYS, policy)
    start = receipt_date
    if policy.s1_roll_receipt_to_working_day:
        start = policy.calendar.next_working_day_on_or_after(receipt_date)
    return policy.calendar.add_working_days(start, policy.s1_working_days)


def reconsideration_deadline(receipt_date: date, info_received: date, policy: TimelinessPolicy) -> date:
    """After a contest, the plan decides within the same period counted from the information's arrival."""
    if regime(receipt_date) == "S2":
        return _calendar_deadline(info_received, S2_DAYS, policy)
    return policy.calendar.add_working_days(info_received, policy.s1_working_days)


def late_days(deadline: date, paid_on: date) -> int:
    """Interest runs from the day after the deadline through the payment date, both included."""
    return max(0, (paid_on - deadline).days)


def interest_cents(principal_cents: int, days: int) -> int:
    """principal x 15% x days / 365, rounded half-up to the cent, in integers (the SQL does the same)."""
    if days <= 0 or principal_cents <= 0:
        return 0
    numerator = principal_cents * RATE_BASIS_POINTS * days
    denominator = 10000 * 365
    return (2 * numerator + denominator) // (2 * denominator)


def s1_floor_cents(days: int) -> int:
    """$15 for each 12-month period or portion of one (the literal 1371.35(b) floor, off by default)."""
    if days <= 0:
        return 0
    return int(S1_FLOOR_PER_YEAR * 100) * ((days + 364) // 365)


def interest(principal: Decimal, days: int, claim_regime: str, policy: TimelinessPolicy) -> Decimal:
    cents = interest_cents(to_cents(principal), days)
    if claim_regime == "S1" and policy.s1_interest_floor:
        cents = max(cents, s1_floor_cents(days))
    return from_cents(cents)


def daily_accrual(principal: Decimal) -> Decimal:
    return (principal * RATE_BASIS_POINTS / 10000 / 365).quantize(CENT, ROUND_HALF_UP)


def interest_due_by(paid_on: date, interest_due: Decimal, policy: TimelinessPolicy) -> date:
    """Last day interest counts as paid "automatically": 5 working days after the payment, or, for interest
    under $2 that may be batched, 10 days after the end of the month of payment if that is later."""
    due_by = policy.calendar.add_working_days(paid_on, INTEREST_AUTO_WORKING_DAYS)
    if interest_due < SMALL_INTEREST:
        month_end = paid_on.replace(day=_calendar.monthrange(paid_on.year, paid_on.month)[1])
        due_by = max(due_by, month_end + timedelta(days=SMALL_INTEREST_DAYS_AFTER_MONTH_END))
    return due_by


def penalty_if_missed(claim_regime: str, interest_due: Decimal) -> Decimal:
    """The fee owed when interest is not paid in full automatically: S2 the greater of $15 or 10% of the
    interest (AB 3275); S1 a flat $10."""
    if interest_due <= 0:
        return Decimal("0.00")
    if claim_regime == "S2":
        return max(S2_PENALTY_MINIMUM, (S2_PENALTY_SHARE * interest_due).quantize(CENT, ROUND_HALF_UP))
    return S1_PENALTY


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
