"""Portable SQL pieces the dashboard queries need (SQLite and PostgreSQL spell them differently)."""

from datetime import date, timedelta

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Whole days from the second date to the first (``later - earlier``)."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):  # noqa: ANN001
    later, earlier = list(element.clauses)
    return (f"CAST(julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)}) "
            "AS INTEGER)")


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):  # noqa: ANN001
    later, earlier = list(element.clauses)
    return f"(CAST({compiler.process(later, **kw)} AS DATE) - CAST({compiler.process(earlier, **kw)} AS DATE))"


class utc_period(FunctionElement):  # noqa: N801
    """An instant's UTC day (YYYY-MM-DD) or month (YYYY-MM), as text."""

    type = String()
    inherit_cache = True
    name = "utc_period"


@compiles(utc_period, "sqlite")
def _utc_period_sqlite(element, compiler, **kw):  # noqa: ANN001
    instant, length = list(element.clauses)
    return f"substr(CAST({compiler.process(instant, **kw)} AS TEXT), 1, {compiler.process(length, **kw)})"


@compiles(utc_period, "postgresql")
def _utc_period_pg(element, compiler, **kw):  # noqa: ANN001
    instant, length = list(element.clauses)
    return (f"substr(to_char({compiler.process(instant, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 1, "
            f"{compiler.process(length, **kw)})")


class greatest_of(FunctionElement):  # noqa: N801
    type = Integer()
    inherit_cache = True
    name = "greatest_of"


@compiles(greatest_of, "sqlite")
def _greatest_sqlite(element, compiler, **kw):  # noqa: ANN001
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest_of, "postgresql")
def _greatest_pg(element, compiler, **kw):  # noqa: ANN001
    return f"greatest({compiler.process(element.clauses, **kw)})"


class date_constant(ColumnElement):  # noqa: N801
    """A date written into the SQL text rather than bound: the as-of day appears in many CASE expressions
    and PostgreSQL only matches a GROUP BY expression to the SELECT list when they are textually equal."""

    type = Date()
    inherit_cache = False

    def __init__(self, value: date):
        self.value = value


@compiles(date_constant, "sqlite")
def _date_constant_sqlite(element, compiler, **kw):  # noqa: ANN001
    return f"'{element.value.isoformat()}'"


@compiles(date_constant, "postgresql")
def _date_constant_pg(element, compiler, **kw):  # noqa: ANN001
    return f"DATE '{element.value.isoformat()}'"


class month_start(FunctionElement):  # noqa: N801
    """The first day of a date's month, as a date."""

    type = Date()
    inherit_cache = True
    name = "month_start"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):  # noqa: ANN001
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):  # noqa: ANN001
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


class unindexed(FunctionElement):  # noqa: N801
    """A column the planner must not pick an index for (SQLite's unary +; PostgreSQL plans well without it)."""

    inherit_cache = True
    name = "unindexed"

    @property
    def type(self):  # noqa: ANN201
        return list(self.clauses)[0].type


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):  # noqa: ANN001
    return f"+{compiler.process(element.clauses, **kw)}"


@compiles(unindexed, "postgresql")
def _unindexed_pg(element, compiler, **kw):  # noqa: ANN001
    return compiler.process(element.clauses, **kw)


class day_in(ColumnElement):  # noqa: N801
    """``column`` (a date) from ``first`` to ``last``. On SQLite, spelled as the list of those days: with another
    column second in an index, each day is then one seek on both (SQLite skips through an index's first column only
    with ANALYZE statistics). PostgreSQL plans the range well, and a list badly (it scanned the table)."""

    type = Boolean()
    inherit_cache = False
    _is_implicitly_boolean = True  # a condition as it is (no "= 1" where booleans are not native)

    def __init__(self, column, first: date, last: date):  # noqa: ANN001
        self.column, self.first, self.last = column, first, last


@compiles(day_in, "sqlite")
def _day_in_sqlite(element, compiler, **kw):  # noqa: ANN001
    days = ", ".join(f"'{element.first + timedelta(days=n)}'" for n in range((element.last - element.first).days + 1))
    return f"({compiler.process(element.column, **kw)} IN ({days}))"


@compiles(day_in, "postgresql")
def _day_in_pg(element, compiler, **kw):  # noqa: ANN001
    return (f"({compiler.process(element.column, **kw)} BETWEEN DATE '{element.first.isoformat()}' "
            f"AND DATE '{element.last.isoformat()}')")
