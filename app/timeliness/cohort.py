"""Cohort figures: federal pct30/pct90 with the floor/ceiling band until the cohort matures (reference §4.2),
the state on-time share, and the money owed. Pure module.

``Counts`` is what one GROUP BY row of the dashboard query holds; ``tally`` builds the same thing from
``ClaimStatus`` objects, so the SQL and the rules can be checked against each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.timeliness import rules
from app.timeliness.claim import ClaimStatus

FEDERAL_TARGETS = {30: Decimal("90"), 90: Decimal("99")}  # 42 CFR 447.45(d)(2)-(3) via 447.46


@dataclass
class Counts:
    # federal (cohort keyed on clock start or receipt date)
    fed_claims: int = 0
    fed_n30: int = 0
    fed_n90: int = 0
    fed_paid30: int = 0
    fed_paid90: int = 0
    fed_open: int = 0
    fed_open_inside_30: int = 0
    fed_open_inside_90: int = 0
    fed_max_clock_start: date | None = None
    # state (cohort keyed on receipt date, every claim clean or not)
    claims: int = 0
    state_timely: int = 0
    state_late: int = 0
    state_pending: int = 0
    contested: int = 0
    notice_timely: int = 0
    open: int = 0
    open_cents: int = 0
    # money, cents
    interest_due_cents: int = 0
    interest_paid_cents: int = 0
    penalty_cents: int = 0
    accrued_cents: int = 0
    accruing_principal_cents: int = 0
    late_paid_settled: int = 0  # late-paid claims whose interest window has closed (or interest is paid)
    interest_correct: int = 0

    def __add__(self, other: Counts) -> Counts:
        out = Counts()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "fed_max_clock_start":
                setattr(out, f.name, max((x for x in (a, b) if x is not None), default=None))
            else:
                setattr(out, f.name, a + b)
        return out


def in_period(day: date | None, start: date | None, end: date | None) -> bool:
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


def tally(statuses: Iterable[ClaimStatus], received_from: date | None = None, received_to: date | None = None,
          federal_cohort: str = "clock_start") -> Counts:
    c = Counts()
    for s in statuses:
        if not s.included:
            continue
        fed_key = s.clock_start if federal_cohort == "clock_start" else s.receipt_date
        if s.in_federal and in_period(fed_key, received_from, received_to):
            c.fed_claims += 1
            c.fed_n30 += s.within_30
            c.fed_n90 += s.within_90
            c.fed_paid30 += s.paid_within_30
            c.fed_paid90 += s.paid_within_90
            c.fed_open += s.is_open
            c.fed_open_inside_30 += s.open_inside_30
            c.fed_open_inside_90 += s.open_inside_90
            c.fed_max_clock_start = max(filter(None, (c.fed_max_clock_start, s.clock_start)))
        if not in_period(s.receipt_date, received_from, received_to):
            continue
        c.claims += 1
        c.state_timely += s.state_outcome == "timely"
        c.state_late += s.state_outcome == "late"
        c.state_pending += s.state_outcome == "pending"
        c.contested += s.notice_timely is not None
        c.notice_timely += s.notice_timely is True
        c.open += s.is_open
        c.open_cents += s.charge_cents if s.is_open else 0
        c.interest_due_cents += s.interest_due_cents
        c.interest_paid_cents += s.interest_paid_cents
        c.penalty_cents += s.penalty_cents
        c.accrued_cents += s.accrued_cents
        c.accruing_principal_cents += s.charge_cents if s.accrued_cents else 0
        c.late_paid_settled += s.interest_correct is not None
        c.interest_correct += s.interest_correct is True
    return c


def percent(numerator: int, denominator: int) -> float | None:
    if not denominator:
        return None
    return float((Decimal(100 * numerator) / denominator).quantize(Decimal("0.01"), ROUND_HALF_UP))


@dataclass(frozen=True)
class Band:
    floor: float | None
    ceiling: float | None
    final: bool
    final_on: date | None  # the first as_of on which the figure can no longer move (None: not yet knowable)


@dataclass(frozen=True)
class FederalFigures:
    claims: int
    open: int
    pct30: float | None
    pct90: float | None
    pct30_paid_only: float | None
    pct90_paid_only: float | None
    band30: Band
    band90: Band
    final: bool
    target30: float
    target90: float
    meets30: bool | None  # None until the 30-day figure is final
    meets90: bool | None


def _band(n: int, open_inside: int, claims: int, days: int, counts: Counts, as_of: date,
          period_to: date | None) -> Band:
    final_on = counts.fed_max_clock_start + timedelta(days=days) if counts.fed_max_clock_start else None
    if period_to is not None:
        # a period still running can gain claims; it cannot be final before it has ended
        final_on = max(filter(None, (final_on, period_to + timedelta(days=1))))
    final = final_on is not None and as_of >= final_on
    return Band(percent(n, claims), percent(n + open_inside, claims), final, final_on)


def federal(counts: Counts, as_of: date, period_to: date | None = None) -> FederalFigures:
    n = counts.fed_claims
    band30 = _band(counts.fed_n30, counts.fed_open_inside_30, n, 30, counts, as_of, period_to)
    band90 = _band(counts.fed_n90, counts.fed_open_inside_90, n, 90, counts, as_of, period_to)
    pct30, pct90 = percent(counts.fed_n30, n), percent(counts.fed_n90, n)
    return FederalFigures(
        claims=n, open=counts.fed_open, pct30=pct30, pct90=pct90,
        pct30_paid_only=percent(counts.fed_paid30, n), pct90_paid_only=percent(counts.fed_paid90, n),
        band30=band30, band90=band90, final=band30.final and band90.final,
        target30=float(FEDERAL_TARGETS[30]), target90=float(FEDERAL_TARGETS[90]),
        meets30=(pct30 >= FEDERAL_TARGETS[30]) if band30.final and pct30 is not None else None,
        meets90=(pct90 >= FEDERAL_TARGETS[90]) if band90.final and pct90 is not None else None,
    )


@dataclass(frozen=True)
class StateFigures:
    claims: int
    timely: int
    late: int
    pending: int
    timely_pct: float | None  # pending claims counted as not (yet) timely
    timely_pct_ceiling: float | None  # pending claims counted as timely
    notice_timely_pct: float | None
    interest_accuracy_pct: float | None


def state(counts: Counts) -> StateFigures:
    return StateFigures(
        claims=counts.claims, timely=counts.state_timely, late=counts.state_late, pending=counts.state_pending,
        timely_pct=percent(counts.state_timely, counts.claims),
        timely_pct_ceiling=percent(counts.state_timely + counts.state_pending, counts.claims),
        notice_timely_pct=percent(counts.notice_timely, counts.contested),
        interest_accuracy_pct=percent(counts.interest_correct, counts.late_paid_settled),
    )


@dataclass(frozen=True)
class MoneyFigures:
    interest_due: Decimal  # interest owed on claims paid late
    interest_paid: Decimal
    interest_unpaid: Decimal
    penalties_owed: Decimal
    interest_accruing: Decimal  # accrued so far on open claims past their deadline
    interest_accruing_per_day: Decimal
    open_amount: Decimal


def money(counts: Counts) -> MoneyFigures:
    per_day = Decimal(counts.accruing_principal_cents) * rules.RATE_BASIS_POINTS / 10000 / 365 / 100
    return MoneyFigures(
        interest_due=rules.from_cents(counts.interest_due_cents),
        interest_paid=rules.from_cents(counts.interest_paid_cents),
        interest_unpaid=rules.from_cents(max(0, counts.interest_due_cents - counts.interest_paid_cents)),
        penalties_owed=rules.from_cents(counts.penalty_cents),
        interest_accruing=rules.from_cents(counts.accrued_cents),
        interest_accruing_per_day=per_day.quantize(rules.CENT, ROUND_HALF_UP),
        open_amount=rules.from_cents(counts.open_cents),
    )
