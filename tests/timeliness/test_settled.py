"""Settled figures (claim.with_settled): from settled_on on, a claim's status no longer depends on the day, and the
stored figures are that status; open claims are never settled. The dashboards read the stored figures for
settled claims (test_sql_matches_rules checks the SQL end to end)."""

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.timeliness.claim import SETTLED_FIELDS, ClaimFacts, derive, settled_on, status_as_of
from app.timeliness.queries import _median
from timeliness.test_sql_matches_rules import random_history, to_events


@pytest.mark.parametrize("seed", range(6))
def test_status_is_constant_from_settled_on(policy, seed):
    rng = random.Random(seed)
    settled = 0
    for _ in range(150):
        received = date(2025, 10, 1) + timedelta(days=rng.randint(0, 200))
        charge = Decimal(rng.randint(5000, 200000)) / 100
        d = derive(ClaimFacts(received, charge), to_events(random_history(rng, received, charge)), policy)
        on = settled_on(d)
        assert d.settled_on == on
        if on is None:
            assert d.final_kind is None and d.s_fed == 0 and d.s_clock is None
            continue
        settled += 1
        first = status_as_of(d, on, policy)
        for later in (on + timedelta(days=1), on + timedelta(days=45), on + timedelta(days=400)):
            assert status_as_of(d, later, policy) == replace(first, as_of=later)
        assert (d.s_fed, d.s_clock, d.s_n30, d.s_n90, d.s_paid30, d.s_paid90) == (
            int(first.in_federal), first.clock_start, int(first.within_30), int(first.within_90),
            int(first.paid_within_30), int(first.paid_within_90))
        assert first.state_outcome in ("timely", "late") and d.s_timely == int(first.state_outcome == "timely")
        assert (d.s_interest_due_cents, d.s_interest_paid_cents, d.s_penalty_cents) == (
            first.interest_due_cents, first.interest_paid_cents, first.penalty_cents)
        assert (d.s_late_paid_settled, d.s_interest_correct) == (
            int(first.interest_correct is not None), int(first.interest_correct is True))
    assert settled > 60


def test_open_claims_have_no_settled_figures(policy):
    d = derive(ClaimFacts(date(2026, 2, 1), Decimal("100.00")), [], policy)
    assert all(getattr(d, name) in (None, 0) for name in SETTLED_FIELDS)


def test_median_from_counts():
    assert _median([(5, 1)]) == 5.0
    assert _median([(23, 1), (35, 1), (39, 1), (53, 1)]) == 37.0
    assert _median([(1, 2), (4, 1)]) == 1.0
    assert _median([(1, 2), (4, 2)]) == 2.5
