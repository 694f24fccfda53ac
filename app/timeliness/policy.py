"""The knobs of the timeliness rules: the reference's CONVENTIONs, each with the reference's default.

Pure module. Built from settings at start-up (app.state.timeliness) and handed to the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.timeliness.calendar import WorkingDayCalendar, load_calendar

FEDERAL_COHORTS = ("clock_start", "receipt_date")


@dataclass(frozen=True)
class TimelinessPolicy:
    calendar: WorkingDayCalendar
    # HSC 1371.35: 30 working days, 45 for a Knox-Keene HMO; Medi-Cal plans use 30 (reference §0).
    s1_working_days: int = 30
    # 28 CCR 1300.71(a)(5) reads receipt as a working day; off = the arrival date itself (reference §1.3).
    s1_roll_receipt_to_working_day: bool = False
    # CCP §12a: whether a calendar-day deadline ending on a weekend/holiday moves on; off (reference §7).
    extend_calendar_deadlines: bool = False
    # A contested claim's federal clock restarts when the missing information arrives (reference §4.2.1).
    contest_restarts_clock: bool = True
    # The literal 1371.35(b) "$15 per year" interest floor for legacy claims; off (reference §3.2).
    s1_interest_floor: bool = False
    # Federal cohorts keyed on clock start (reference §4.2.2) or on the receipt date.
    federal_cohort: str = "clock_start"
    # At-risk work queue: items whose deadline is this many days away or less (reference §6.3).
    at_risk_days: int = 7

    def __post_init__(self) -> None:
        if self.federal_cohort not in FEDERAL_COHORTS:
            raise ValueError(f"federal_cohort must be one of {FEDERAL_COHORTS}")


def policy_from_settings(settings) -> TimelinessPolicy:  # noqa: ANN001 - app.settings.Settings
    path = settings.timeliness_holiday_calendar or Path(settings.codes_dir) / "calhr_holidays.csv"
    return TimelinessPolicy(
        calendar=load_calendar(Path(path)),
        s1_working_days=settings.timeliness_s1_working_days,
        s1_roll_receipt_to_working_day=settings.timeliness_s1_roll_receipt_to_working_day,
        extend_calendar_deadlines=settings.timeliness_extend_calendar_deadlines,
        contest_restarts_clock=settings.timeliness_contest_restarts_clock,
        s1_interest_floor=settings.timeliness_s1_interest_floor,
        federal_cohort=settings.timeliness_federal_cohort,
        at_risk_days=settings.timeliness_at_risk_days,
    )
