"""The control-number registry: one counter row per series, handed out under a row lock, never reused.

ISA13, GS06 and ST02 are at most 9 digits. When a series passes 999,999,999 it wraps to 1 and the row's
`wraps` count goes up: a number then repeats only after a billion interchanges, far beyond any trading
partner's duplicate-detection window, and the wrap is visible in the registry."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.batches.models import ControlCounterRow

NINE_DIGITS = 999_999_999
SERIES = ("isa13", "gs06", "st02", "release_seq")


def allocate(session: Session, name: str, count: int = 1, maximum: int | None = NINE_DIGITS) -> int:
    """Reserve `count` consecutive values of a series and return the first. The row stays locked until the
    caller's transaction ends (FOR UPDATE on PostgreSQL; SQLite's write lock is already held)."""
    row = session.execute(
        select(ControlCounterRow).where(ControlCounterRow.name == name).with_for_update()
    ).scalar_one()
    first = row.next_value
    if maximum is not None and first + count - 1 > maximum:
        first = 1
        row.wraps += 1
    row.next_value = first + count
    session.flush()
    return first
