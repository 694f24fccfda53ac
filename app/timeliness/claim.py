"""One claim's timeliness: the facts stored after each event (``derive``) and what they mean on a given day
(``status_as_of``). Pure module.

``Derived`` is exactly what the ``claim_timeliness`` table keeps per invoice, so dashboards can aggregate in
SQL; ``app/timeliness/queries.py`` spells ``status_as_of`` as SQL expressions and a test keeps the two equal.
Replaying a past day uses the events' own dates: an event dated after ``as_of`` has not happened yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from app.timeliness import rules
from app.timeliness.policy import TimelinessPolicy

CONTESTED = "contested"
INFORMATION_RECEIVED = "information_received"
PAID = "paid"
DENIED = "denied"
INTEREST_PAID = "interest_paid"
DECISION_REVERSED = "decision_reversed"
EVENT_TYPES = (CONTESTED, INFORMATION_RECEIVED, PAID, DENIED, INTEREST_PAID, DECISION_REVERSED)
FINAL_DECISIONS = (PAID, DENIED)

CONTEST_REASONS = ("missing_info", "fraud_investigation", "med_necessity_review", "other")
# 42 CFR 447.45(b): claims under fraud investigation or medical-necessity review are not clean claims and
# leave the federal denominator; the state notice duties still apply.
FEDERALLY_EXCLUDED_REASONS = ("fraud_investigation", "med_necessity_review")


@dataclass(frozen=True)
class Event:
    kind: str
    on: date
    amount: Decimal | None = None  # paid: the payment; interest_paid: the interest
    interest_amount: Decimal | None = None  # paid: interest sent with the payment
    interest_on: date | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ClaimFacts:
    receipt_date: date
    charge_amount: Decimal
    excluded_reason: str | None = None  # voided, or replaced before any decision


@dataclass(frozen=True)
class Derived:
    receipt_date: date
    regime: str
    notice_deadline: date
    charge_cents: int
    excluded_reason: str | None = None
    clean: bool = True
    unclean_reason: str | None = None
    contest_date: date | None = None
    info_received_date: date | None = None
    recon_deadline: date | None = None
    final_kind: str | None = None
    final_date: date | None = None
    paid_cents: int = 0
    # the decision a reversal took back, kept so a day before the reversal replays as it was
    prev_final_kind: str | None = None
    prev_final_date: date | None = None
    reversal_date: date | None = None
    interest_due_cents: int = 0
    interest_due_by: date | None = None
    penalty_if_missed_cents: int = 0
    interest_paid_cents: int = 0
    interest_paid_date: date | None = None  # the latest interest payment
    interest_full_date: date | None = None  # when the interest paid first covered the interest due
    interest_payments: tuple[tuple[date, int], ...] = field(default=(), repr=False)
    # Settled: from ``settled_on`` on, status_as_of no longer changes with the day (a decision in force and every
    # dated fact, the interest window included, behind it), so dashboards read these figures instead of
    # re-deriving them for every as_of. Computed with the clock restarting on a contest (the default policy);
    # the queries use them only under that policy. None/0 while the claim is open.
    settled_on: date | None = None
    s_fed: int = 0  # in the federal test
    s_clock: date | None = None  # federal clock start (None when not in the federal test)
    s_n30: int = 0
    s_n90: int = 0
    s_paid30: int = 0
    s_paid90: int = 0
    s_timely: int = 0  # state outcome timely (else late: a settled claim is never pending)
    s_notice_timely: int = 0
    s_interest_due_cents: int = 0
    s_interest_paid_cents: int = 0
    s_penalty_cents: int = 0
    s_late_paid_settled: int = 0
    s_interest_correct: int = 0
    s_days_to_pay: int | None = None  # receipt to payment, when the decision is a payment


def derive(facts: ClaimFacts, events: list[Event], policy: TimelinessPolicy) -> Derived:
    d = Derived(
        receipt_date=facts.receipt_date, regime=rules.regime(facts.receipt_date),
        notice_deadline=rules.notice_deadline(facts.receipt_date, policy),
        charge_cents=rules.to_cents(facts.charge_amount), excluded_reason=facts.excluded_reason,
    )
    payments: list[tuple[date, int]] = []
    for e in events:
        if e.kind == CONTESTED:
            d = replace(d, clean=False, unclean_reason=e.reason, contest_date=d.contest_date or e.on)
        elif e.kind == INFORMATION_RECEIVED:
            d = replace(d, info_received_date=e.on,
                        recon_deadline=rules.reconsideration_deadline(d.receipt_date, e.on, policy))
        elif e.kind in FINAL_DECISIONS:
            paid = rules.to_cents(e.amount) if e.kind == PAID and e.amount is not None else 0
            d = replace(d, final_kind=e.kind, final_date=e.on, paid_cents=paid)
            if e.interest_amount:
                payments.append((e.interest_on or e.on, rules.to_cents(e.interest_amount)))
        elif e.kind == INTEREST_PAID:
            payments.append((e.on, rules.to_cents(e.amount)))
        elif e.kind == DECISION_REVERSED:
            d = replace(d, prev_final_kind=d.final_kind, prev_final_date=d.final_date, reversal_date=e.on,
                        final_kind=None, final_date=None, paid_cents=0)
    d = replace(d, interest_payments=tuple(payments), interest_paid_cents=sum(c for _, c in payments),
                interest_paid_date=max((on for on, _ in payments), default=None))
    return with_settled(_with_interest_due(d, policy), policy)


def _with_interest_due(d: Derived, policy: TimelinessPolicy) -> Derived:
    if d.final_kind != PAID:
        return replace(d, interest_due_cents=0, interest_due_by=None, penalty_if_missed_cents=0,
                       interest_full_date=None)
    deadline = state_deadline(d, d.final_date)
    days = rules.late_days(deadline, d.final_date) if deadline else 0
    due = rules.interest(rules.from_cents(d.paid_cents), days, d.regime, policy)
    if due <= 0:
        return replace(d, interest_due_cents=0, interest_due_by=None, penalty_if_missed_cents=0,
                       interest_full_date=None)
    full_date, running = None, 0
    for on, cents in sorted(d.interest_payments):
        running += cents
        if running >= rules.to_cents(due):
            full_date = on
            break
    return replace(
        d, interest_due_cents=rules.to_cents(due), interest_due_by=rules.interest_due_by(d.final_date, due, policy),
        penalty_if_missed_cents=rules.to_cents(rules.penalty_if_missed(d.regime, due)), interest_full_date=full_date,
    )


SETTLED_FIELDS = ("settled_on", "s_fed", "s_clock", "s_n30", "s_n90", "s_paid30", "s_paid90", "s_timely",
                  "s_notice_timely", "s_interest_due_cents", "s_interest_paid_cents", "s_penalty_cents",
                  "s_late_paid_settled", "s_interest_correct", "s_days_to_pay")


def settled_on(d: Derived) -> date | None:
    """The first day from which the claim's status no longer depends on the day asked about: a final decision is
    in force and every dated fact (contest, information, decisions, reversal, interest payments) is on or before
    it, and so is the end of the interest window (a penalty is owed from the day after interest_due_by). None
    while the claim is open: its age and accruing interest grow every day."""
    if d.final_kind is None or d.final_date is None:
        return None
    days = [d.receipt_date, d.final_date, d.contest_date, d.info_received_date, d.prev_final_date, d.reversal_date,
            d.interest_paid_date, d.interest_full_date]
    if d.interest_due_cents > 0 and d.interest_due_by is not None:
        days.append(d.interest_due_by + timedelta(days=1))
    return max(day for day in days if day is not None)


def with_settled(d: Derived, policy: TimelinessPolicy) -> Derived:
    """``d`` with its settled figures: status_as_of on its settled_on day (under a restarting clock, whatever the
    policy, and counted as included: exclusion is applied by the queries themselves)."""
    on = settled_on(d)
    if on is None:
        return replace(d, **{name: Derived.__dataclass_fields__[name].default for name in SETTLED_FIELDS})
    s = status_as_of(replace(d, excluded_reason=None), on, replace(policy, contest_restarts_clock=True))
    return replace(
        d, settled_on=on, s_fed=int(s.in_federal), s_clock=s.clock_start, s_n30=int(s.within_30),
        s_n90=int(s.within_90), s_paid30=int(s.paid_within_30), s_paid90=int(s.paid_within_90),
        s_timely=int(s.state_outcome == "timely"), s_notice_timely=int(s.notice_timely is True),
        s_interest_due_cents=s.interest_due_cents, s_interest_paid_cents=s.interest_paid_cents,
        s_penalty_cents=s.penalty_cents, s_late_paid_settled=int(s.interest_correct is not None),
        s_interest_correct=int(s.interest_correct is True),
        s_days_to_pay=(d.final_date - d.receipt_date).days if d.final_kind == PAID else None,
    )


def _on_or_before(day: date | None, as_of: date) -> bool:
    return day is not None and day <= as_of


def contested(d: Derived, as_of: date) -> bool:
    return _on_or_before(d.contest_date, as_of)


def information_in(d: Derived, as_of: date) -> bool:
    return _on_or_before(d.info_received_date, as_of)


def decision(d: Derived, as_of: date) -> tuple[str | None, date | None]:
    """The final decision in force on ``as_of`` (None, None while the claim is open)."""
    if _on_or_before(d.final_date, as_of):
        return d.final_kind, d.final_date
    if _on_or_before(d.prev_final_date, as_of) and d.reversal_date > as_of:
        return d.prev_final_kind, d.prev_final_date
    return None, None


def state_deadline(d: Derived, as_of: date) -> date | None:
    """The state payment deadline as known on ``as_of``: the notice deadline for an uncontested claim or a
    late contest (treated as complete at receipt, §3.3); the reconsideration deadline once the requested
    information is in; none while a timely contest waits for information."""
    if not contested(d, as_of) or d.contest_date > d.notice_deadline:
        return d.notice_deadline
    if information_in(d, as_of):
        return d.recon_deadline
    return None


def clock_start(d: Derived, as_of: date, policy: TimelinessPolicy) -> date | None:
    """Start of the federal clock: the receipt date, or for a contested claim the day the missing information
    arrived (None while it has not)."""
    if not contested(d, as_of) or not policy.contest_restarts_clock:
        return d.receipt_date
    return d.info_received_date if information_in(d, as_of) else None


@dataclass(frozen=True)
class ClaimStatus:
    """One claim on one day, in the terms the dashboards count."""

    as_of: date
    receipt_date: date
    regime: str
    included: bool  # not voided / replaced before a decision
    decision_kind: str | None
    decision_date: date | None
    # federal test
    in_federal: bool
    clock_start: date | None
    within_30: bool
    within_90: bool
    paid_within_30: bool
    paid_within_90: bool
    open_inside_30: bool
    open_inside_90: bool
    # state test
    state_outcome: str  # timely | late | pending
    state_deadline: date | None
    notice_timely: bool | None  # None: not contested (yet)
    # money, in cents
    charge_cents: int
    interest_due_cents: int
    interest_paid_cents: int
    penalty_cents: int
    penalty_status: str  # none | pending | avoided | owed
    accrued_cents: int
    accrual_per_day: Decimal
    interest_correct: bool | None  # late-paid claims: interest paid in full and automatically

    @property
    def is_open(self) -> bool:
        return self.decision_kind is None


def status_as_of(d: Derived, as_of: date, policy: TimelinessPolicy) -> ClaimStatus:
    kind, decided_on = decision(d, as_of)
    included = d.excluded_reason is None
    start = clock_start(d, as_of, policy)
    federally_excluded = contested(d, as_of) and d.unclean_reason in FEDERALLY_EXCLUDED_REASONS
    in_federal = included and start is not None and not federally_excluded
    days = (decided_on - start).days if (in_federal and decided_on) else None
    age = (as_of - start).days if (in_federal and kind is None) else None
    deadline = state_deadline(d, as_of)

    notice_timely = (d.contest_date <= d.notice_deadline) if contested(d, as_of) else None
    if notice_timely is False:
        outcome = "late"
    elif notice_timely and deadline is None:
        outcome = "timely"  # contested in time; nothing is due until the information arrives
    elif kind is not None:
        outcome = "timely" if decided_on <= deadline else "late"
    else:
        outcome = "pending" if as_of <= deadline else "late"

    paid_decision = kind == PAID and decided_on == d.final_date  # interest facts belong to the current payment
    due = d.interest_due_cents if paid_decision else 0
    paid_interest = d.interest_paid_cents if _on_or_before(d.interest_paid_date, as_of) else 0
    penalty, penalty_status = 0, "none"
    if due > 0:
        on_time = d.interest_full_date is not None and d.interest_full_date <= d.interest_due_by
        if on_time and d.interest_full_date <= as_of:
            penalty_status = "avoided"
        elif as_of <= d.interest_due_by:
            penalty_status = "pending"
        else:
            penalty, penalty_status = d.penalty_if_missed_cents, "owed"

    accrued, per_day = 0, Decimal("0")
    if included and kind is None and deadline is not None and as_of > deadline:
        late = rules.late_days(deadline, as_of)
        accrued = rules.interest_cents(d.charge_cents, late)
        if d.regime == "S1" and policy.s1_interest_floor:
            accrued = max(accrued, rules.s1_floor_cents(late))
        per_day = Decimal(d.charge_cents) * rules.RATE_BASIS_POINTS / 10000 / 365 / 100

    return ClaimStatus(
        as_of=as_of, receipt_date=d.receipt_date, regime=d.regime, included=included,
        decision_kind=kind, decision_date=decided_on,
        in_federal=in_federal, clock_start=start if in_federal else None,
        within_30=days is not None and days <= 30, within_90=days is not None and days <= 90,
        paid_within_30=kind == PAID and days is not None and days <= 30,
        paid_within_90=kind == PAID and days is not None and days <= 90,
        # as_of is the end of that day: an open claim on day k has missed the k-day mark
        open_inside_30=age is not None and age < 30, open_inside_90=age is not None and age < 90,
        state_outcome=outcome, state_deadline=deadline, notice_timely=notice_timely,
        charge_cents=d.charge_cents, interest_due_cents=due, interest_paid_cents=paid_interest,
        penalty_cents=penalty, penalty_status=penalty_status, accrued_cents=accrued, accrual_per_day=per_day,
        interest_correct=(penalty_status == "avoided") if due > 0 and penalty_status != "pending" else None,
    )
