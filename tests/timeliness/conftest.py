from pathlib import Path

import pytest

from app.timeliness.calendar import load_calendar
from app.timeliness.policy import TimelinessPolicy

CODES = Path(__file__).resolve().parents[2] / "codes"


@pytest.fixture(scope="session")
def calhr():
    return load_calendar(CODES / "calhr_holidays.csv")


@pytest.fixture(scope="session")
def policy(calhr):
    return TimelinessPolicy(calendar=calhr)
