"""State working days: Monday to Friday, minus the CalHR paid holidays (the days state offices close).

Pure module: standard library only. The holidays are data, ``codes/calhr_holidays.csv`` (one row per
holiday, with the date it is observed and where it comes from). A date outside the years the file covers
raises instead of being silently treated as a working day.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

COLUMNS = ("date", "holiday", "observance", "source")


class CalendarError(Exception):
    """The holiday file is malformed, or a date falls outside the years it covers."""


@dataclass(frozen=True)
class WorkingDayCalendar:
    holidays: frozenset[date]
    first_year: int
    last_year: int

    @classmethod
    def from_dates(cls, dates: list[date] | frozenset[date], first_year: int, last_year: int) -> WorkingDayCalendar:
        return cls(frozenset(dates), first_year, last_year)

    def _check_covered(self, day: date) -> None:
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarError(
                f"{day.isoformat()} is outside the holiday calendar ({self.first_year}-{self.last_year}); "
                "add that year's CalHR holidays to codes/calhr_holidays.csv."
            )

    def is_working_day(self, day: date) -> bool:
        self._check_covered(day)
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself is day 0 and never counted)."""
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def next_working_day_on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day


def load_calendar(path: Path) -> WorkingDayCalendar:
    """Read the CalHR holiday table; a bad row stops the start with the file and line named."""
    dates: set[date] = set()
    years: set[int] = set()
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise CalendarError(f"{path.name}: header must be {','.join(COLUMNS)}")
        for row in reader:
            where = f"{path.name}, line {reader.line_num}"
            try:
                day = date.fromisoformat(row["date"])
            except ValueError:
                raise CalendarError(f"{where}: '{row['date']}' is not a YYYY-MM-DD date") from None
            if not row["holiday"].strip() or not row["source"].strip():
                raise CalendarError(f"{where}: every holiday needs a name and a source")
            dates.add(day)
            years.add(day.year)
    if not years:
        raise CalendarError(f"{path.name}: no holidays")
    missing = sorted(set(range(min(years), max(years) + 1)) - years)
    if missing:
        raise CalendarError(f"{path.name}: no holidays for {', '.join(map(str, missing))}")
    return WorkingDayCalendar(frozenset(dates), min(years), max(years))
