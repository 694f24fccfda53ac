"""Properties of the federal cohort figures over random claim histories (hypothesis)."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.timeliness import cohort
from app.timeliness.claim import ClaimFacts, Event, derive, status_as_of

START = date(2025, 10, 1)

claim_strategy = st.tuples(
    st.integers(0, 150),  # receipt offset from START
    st.one_of(st.none(), st.tuples(st.sampled_from(["paid", "denied"]), st.integers(0, 200))),  # decision day
)


def statuses(policy, claims, as_of):
    out = []
    for offset, decision in claims:
        received = START + timedelta(days=offset)
        events = []
        if decision is not None:
            kind, after = decision
            events.append(Event(kind, received + timedelta(days=after), amount=Decimal("10.00") if kind == "paid"
                                else None, reason="x" if kind == "denied" else None))
        out.append(status_as_of(derive(ClaimFacts(received, Decimal("10.00")), events, policy), as_of, policy))
    return out


@settings(max_examples=150, deadline=None)
@given(claims=st.lists(claim_strategy, min_size=1, max_size=25), look=st.integers(0, 400))
def test_pct30_never_exceeds_pct90_and_the_band_always_contains_the_final_value(policy, claims, look):
    early = START + timedelta(days=look)
    final_day = START + timedelta(days=150 + 200 + 91)  # every decision made, every cohort mature
    counts_early = cohort.tally([s for s in statuses(policy, claims, early) if s.receipt_date <= early])
    received_by_early = [c for c in claims if START + timedelta(days=c[0]) <= early]
    if not received_by_early:
        return
    late = cohort.federal(cohort.tally(statuses(policy, received_by_early, final_day)), final_day)
    now = cohort.federal(counts_early, early)
    assert late.final
    for pct, band in ((late.pct30, now.band30), (late.pct90, now.band90)):
        assert band.floor <= pct <= band.ceiling
        if band.final:
            assert band.floor == band.ceiling == pct
    assert now.band30.floor <= now.band90.floor and now.band30.ceiling <= now.band90.ceiling
    assert late.pct30 <= late.pct90
    assert late.pct30_paid_only <= late.pct30 and late.pct90_paid_only <= late.pct90
