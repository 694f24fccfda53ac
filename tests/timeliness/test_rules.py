"""The pure timeliness rules: working days on the CalHR calendar, deadlines per regime, interest, penalties,
cohort figures — the reference's worked example reproduced exactly."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.timeliness import cohort, rules
from app.timeliness.calendar import CalendarError, load_calendar
from app.timeliness.claim import ClaimFacts, Event, derive, status_as_of
from timeliness.worked_example import AS_OF, CLAIMS, EXPECTED_INTEREST, EXPECTED_STATE_DEADLINES

D = date.fromisoformat


def history(claim_id):
    provider, kind, received, charge, events = CLAIMS[claim_id]
    return ClaimFacts(received, charge), [
        Event(k, on, amount=Decimal(f["amount"]) if "amount" in f else None,
              interest_amount=Decimal(f["interest_amount"]) if "interest_amount" in f else None,
              reason=f.get("reason"))
        for k, on, f in events
    ]


def example_statuses(policy, as_of=AS_OF):
    out = {}
    for cid in CLAIMS:
        facts, events = history(cid)
        out[cid] = status_as_of(derive(facts, events, policy), as_of, policy)
    return out


# --- holidays and working days -------------------------------------------------------------------------

def test_calendar_covers_every_calhr_holiday_2022_to_2027(calhr):
    for year in range(2022, 2028):
        assert sum(1 for d in calhr.holidays if d.year == year) == 11, year


def test_sunday_holiday_is_observed_the_following_monday(calhr):
    assert not calhr.is_working_day(D("2022-12-26"))  # Christmas 2022 was a Sunday
    assert not calhr.is_working_day(D("2023-01-02"))  # New Year's Day 2023
    assert not calhr.is_working_day(D("2024-04-01"))  # Cesar Chavez Day 2024
    assert not calhr.is_working_day(D("2027-07-05"))  # Independence Day 2027


def test_saturday_holiday_is_not_moved_to_friday(calhr):
    assert calhr.is_working_day(D("2026-07-03"))  # July 4 2026 is a Saturday
    assert calhr.is_working_day(D("2027-12-24"))  # Christmas 2027 is a Saturday
    assert calhr.is_working_day(D("2027-12-31"))  # New Year's Day 2028 is a Saturday


def test_saturday_veterans_day_moves_to_the_preceding_friday(calhr):
    assert not calhr.is_working_day(D("2023-11-10"))


def test_holidays_the_python_package_adds_are_working_days(calhr):
    for day in ("2022-02-15", "2024-02-15", "2025-06-19", "2024-06-19", "2027-10-29"):
        assert calhr.is_working_day(D(day)), day


def test_juneteenth_2025_is_a_working_day_so_the_legacy_deadline_is_july_15(policy):
    assert rules.notice_deadline(D("2025-06-02"), policy) == D("2025-07-15")


def test_five_working_days_after_a_payment_on_2026_06_15_is_06_22(calhr):
    assert calhr.add_working_days(D("2026-06-15"), 5) == D("2026-06-22")


def test_a_date_outside_the_calendar_is_an_error_not_a_working_day(calhr):
    with pytest.raises(CalendarError, match="outside the holiday calendar"):
        calhr.is_working_day(date(calhr.last_year + 1, 3, 3))


def test_malformed_holiday_file_is_rejected_with_file_and_line(tmp_path):
    bad = tmp_path / "h.csv"
    bad.write_text("date,holiday,observance,source\n2026-13-01,X,fixed,CalHR\n")
    with pytest.raises(CalendarError, match=r"h.csv, line 2"):
        load_calendar(bad)


# --- deadlines per regime --------------------------------------------------------------------------------

def test_legacy_example_received_2025_12_15_is_due_2026_01_29_on_the_calhr_calendar(policy):
    assert rules.regime(D("2025-12-15")) == "S1"
    assert rules.notice_deadline(D("2025-12-15"), policy) == D("2026-01-29")


def test_same_receipt_under_s2_would_be_due_2026_01_14_and_s2_starts_on_2026_01_01(policy):
    assert D("2025-12-15") + timedelta(days=30) == D("2026-01-14")
    assert rules.regime(D("2025-12-31")) == "S1"
    assert rules.regime(D("2026-01-01")) == "S2"
    assert rules.notice_deadline(D("2026-01-01"), policy) == D("2026-01-31")


def test_s2_deadline_on_a_saturday_is_not_extended_unless_configured(policy):
    received = D("2026-01-08")  # + 30 = Saturday 2026-02-07
    assert rules.notice_deadline(received, policy) == D("2026-02-07")
    extended = replace(policy, extend_calendar_deadlines=True)
    assert rules.notice_deadline(received, extended) == D("2026-02-09")


def test_s1_receipt_on_a_weekend_rolls_forward_only_when_configured(policy):
    saturday = D("2025-06-07")
    # off (default): Saturday is day 0; on: Monday 06-09 is day 0, one working day later
    assert rules.notice_deadline(saturday, policy) == D("2025-07-21")
    assert rules.notice_deadline(saturday, replace(policy, s1_roll_receipt_to_working_day=True)) == D("2025-07-22")


def test_s1_working_days_skip_a_holiday(policy):
    assert rules.notice_deadline(D("2025-07-03"), replace(policy, s1_working_days=1)) == D("2025-07-07")


def test_reconsideration_deadline_counts_from_information_received(policy):
    assert rules.reconsideration_deadline(D("2026-02-16"), D("2026-03-20"), policy) == D("2026-04-19")
    assert rules.reconsideration_deadline(D("2025-11-03"), D("2025-12-15"), policy) == D("2026-01-29")


# --- interest and penalties -----------------------------------------------------------------------------

@pytest.mark.parametrize(("principal", "days", "expected"), [
    ("1250.00", 9, "4.62"), ("480.00", 75, "14.79"), ("820.00", 5, "1.68"), ("900.00", 82, "30.33"),
    ("100.00", 0, "0.00"), ("0.01", 365, "0.00"),
])
def test_interest_is_15_percent_a_year_actual_365_rounded_half_up(policy, principal, days, expected):
    assert rules.interest(Decimal(principal), days, "S2", policy) == Decimal(expected)


def test_interest_rounds_an_exact_half_cent_up():
    assert rules.interest_cents(3650, 1) == 2  # $36.50 x 15% / 365 = 1.5 cents exactly
    assert rules.interest_cents(1217, 1) == 1  # 0.5001 cents
    assert rules.interest_cents(1216, 1) == 0  # 0.4997 cents


def test_s2_penalty_is_the_greater_of_15_dollars_or_10_percent():
    assert rules.penalty_if_missed("S2", Decimal("14.79")) == Decimal("15.00")
    assert rules.penalty_if_missed("S2", Decimal("200.00")) == Decimal("20.00")
    assert rules.penalty_if_missed("S1", Decimal("200.00")) == Decimal("10.00")
    assert rules.penalty_if_missed("S2", Decimal("0")) == Decimal("0.00")


def test_interest_under_2_dollars_may_wait_until_10_days_after_month_end(policy):
    assert rules.interest_due_by(D("2026-05-05"), Decimal("1.68"), policy) == D("2026-06-10")
    assert rules.interest_due_by(D("2026-06-15"), Decimal("14.79"), policy) == D("2026-06-22")


def test_legacy_interest_floor_of_15_dollars_a_year_applies_only_when_switched_on(policy):
    assert rules.interest(Decimal("100.00"), 10, "S1", policy) == Decimal("0.41")
    floored = replace(policy, s1_interest_floor=True)
    assert rules.interest(Decimal("100.00"), 10, "S1", floored) == Decimal("15.00")
    assert rules.interest(Decimal("100.00"), 400, "S1", floored) == Decimal("30.00")
    assert rules.interest(Decimal("100.00"), 10, "S2", floored) == Decimal("0.41")


# --- the worked example ---------------------------------------------------------------------------------

def test_worked_example_state_deadlines(policy):
    for cid, status in example_statuses(policy).items():
        assert status.state_deadline == EXPECTED_STATE_DEADLINES[cid], cid


def test_worked_example_interest_per_claim(policy):
    for cid, status in example_statuses(policy).items():
        assert rules.from_cents(status.interest_due_cents) == EXPECTED_INTEREST.get(cid, Decimal("0.00")), cid


def test_worked_example_penalty_only_on_c6_and_c8_accruing(policy):
    statuses = example_statuses(policy)
    assert {cid for cid, s in statuses.items() if s.penalty_cents} == {"C6"}
    assert statuses["C6"].penalty_cents == 1500
    assert statuses["C8"].accrued_cents == 3033
    assert statuses["C8"].accrual_per_day.quantize(Decimal("0.01")) == Decimal("0.37")


def test_worked_example_cohort_figures(policy):
    counts = cohort.tally(example_statuses(policy).values(), D("2026-01-01"), D("2026-03-31"))
    fed = cohort.federal(counts, AS_OF, D("2026-03-31"))
    assert (fed.claims, fed.pct30, fed.pct90) == (10, 60.0, 80.0)
    assert (fed.pct30_paid_only, fed.pct90_paid_only) == (50.0, 70.0)  # C4's denial leaves both
    assert fed.final and fed.band30.floor == fed.band30.ceiling == 60.0
    assert fed.band90.final_on == D("2026-06-29")
    assert (fed.meets30, fed.meets90) == (False, False)
    st = cohort.state(counts)
    assert (st.timely, st.late, st.pending, st.timely_pct) == (6, 4, 0, 60.0)
    assert st.interest_accuracy_pct == 66.67
    assert st.notice_timely_pct == 100.0
    money = cohort.money(counts)
    assert money.interest_due == Decimal("21.09")
    assert money.penalties_owed == Decimal("15.00")
    assert money.interest_accruing == Decimal("30.33")
    assert money.interest_accruing_per_day == Decimal("0.37")


def test_worked_example_per_provider_pct30(policy):
    statuses = example_statuses(policy)
    by_provider = {}
    for cid, s in statuses.items():
        by_provider.setdefault(CLAIMS[cid][0], []).append(s)
    pct = {p: cohort.federal(cohort.tally(ss), AS_OF).pct30 for p, ss in by_provider.items()}
    assert pct == {"ECM-A": 50.0, "ECM-C": 100.0, "CS-B": 50.0}


def test_worked_example_is_a_band_before_it_matures(policy):
    as_of = D("2026-04-15")
    counts = cohort.tally(example_statuses(policy, as_of).values(), D("2026-01-01"), D("2026-03-31"))
    fed = cohort.federal(counts, as_of, D("2026-03-31"))
    assert not fed.band30.final and not fed.band90.final
    assert fed.band30.floor <= 60.0 <= fed.band30.ceiling
    assert fed.band90.floor <= 80.0 <= fed.band90.ceiling


def test_denied_claim_counts_as_finalized_but_not_as_paid(policy):
    s = example_statuses(policy)["C4"]
    assert s.within_30 and not s.paid_within_30 and s.state_outcome == "timely"
