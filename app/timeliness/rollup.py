"""The rollup of settled figures: ``timeliness_rollup`` and ``timeliness_rollup_days``.

A settled claim (app.timeliness.claim.with_settled) counts the same on every day from its ``settled_on`` on, so the
dashboards need only the sums of its stored figures. The rollup holds those sums per combination of what the
dashboards filter and group on (billing NPI and TIN, programs, regime, submission type, receipt day, the day the
information arrived, the federal clock start, the contest reason) and per month of ``settled_on``: for an ``as_of``
the dashboards read the months that ended on or before it from the rollup and evaluate every other claim (open,
or settled from the month of as_of + 1 day on) with the rules, through ``ix_claim_timeliness_settled_on``.

Only settled claims that are not excluded (voided, replaced) are in the rollup. Every write that changes a
claim_timeliness row calls ``apply`` with what the row contributed before and after the change, in the same
transaction (app.timeliness.service: events, retire, rebuild). Intake does not: a new claim is open.
``recompute`` builds the same tables from claim_timeliness in SQL (the migration's backfill; the tests' reference).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from app.timeliness.models import ClaimTimelinessRow, TimelinessRollupDaysRow, TimelinessRollupRow
from app.timeliness.sqlfuncs import month_start

NO_DATE = date(1, 1, 1)  # a key column's "none" (key columns are never NULL: NULLs never conflict in an upsert)

R = TimelinessRollupRow.__table__
D = TimelinessRollupDaysRow.__table__
KEY = ("billing_npi", "billing_tin", "programs", "regime", "submission_type", "receipt_date", "info_received_date",
       "s_clock", "contest_reason", "settled_month")
FIGURES = ("s_fed", "s_n30", "s_n90", "s_paid30", "s_paid90", "s_timely", "s_notice_timely", "s_interest_due_cents",
           "s_interest_paid_cents", "s_penalty_cents", "s_late_paid_settled", "s_interest_correct")
VALUES = ("n", "charge_cents", *FIGURES)
DAYS_KEY = ("billing_npi", "billing_tin", "programs", "regime", "submission_type", "receipt_date", "settled_month",
            "days")

Contribution = tuple[tuple, tuple, tuple | None]  # (rollup key, rollup values, days key or None)


def _get(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, dict) else getattr(row, name)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def contribution(row: Any) -> Contribution | None:
    """What one claim_timeliness row (an ORM row or a dict of its columns) adds to the rollup: None unless it is
    settled and included."""
    if row is None:
        return None
    settled = _date(_get(row, "settled_on"))
    if settled is None or _get(row, "excluded_reason") is not None:
        return None
    month = settled.replace(day=1)
    head = (_get(row, "billing_npi"), _get(row, "billing_tin"), _get(row, "programs"), _get(row, "regime"),
            _get(row, "submission_type"), _date(_get(row, "receipt_date")))
    contest = "" if _get(row, "contest_date") is None else (_get(row, "unclean_reason") or "?")
    key = (*head, _date(_get(row, "info_received_date")) or NO_DATE, _date(_get(row, "s_clock")) or NO_DATE, contest,
           month)
    values = (1, int(_get(row, "charge_cents")), *(int(_get(row, name)) for name in FIGURES))
    days = _get(row, "s_days_to_pay")
    return key, values, ((*head, month, int(days)) if days is not None else None)


def deltas(pairs: Iterable[tuple[Contribution | None, Contribution | None]]) -> tuple[dict, dict]:
    """The net change of (before, after) pairs: {key: values} for each table, rows that net to zero dropped."""
    main: dict[tuple, list[int]] = {}
    days: dict[tuple, int] = {}
    for before, after in pairs:
        for sign, c in ((-1, before), (1, after)):
            if c is None:
                continue
            key, values, days_key = c
            acc = main.setdefault(key, [0] * len(VALUES))
            for i, v in enumerate(values):
                acc[i] += sign * v
            if days_key is not None:
                days[days_key] = days.get(days_key, 0) + sign
    return ({k: tuple(v) for k, v in main.items() if any(v)}, {k: n for k, n in days.items() if n})


def _insert(conn):  # noqa: ANN001
    dialect = conn.get_bind().dialect if hasattr(conn, "get_bind") else conn.dialect
    return postgresql.insert if dialect.name == "postgresql" else sqlite.insert


def write_deltas(conn, main: dict, days: dict) -> None:  # noqa: ANN001 - a Session or a Connection
    """Add the deltas to the rollup rows (upsert; keys in sorted order so concurrent writers lock rows in the same
    order), then drop the rows whose claim count fell to zero."""
    ins = _insert(conn)
    if main:
        stmt = ins(R)
        stmt = stmt.on_conflict_do_update(index_elements=list(KEY),
                                          set_={name: R.c[name] + stmt.excluded[name] for name in VALUES})
        conn.execute(stmt, [dict(zip((*KEY, *VALUES), (*k, *main[k]), strict=True)) for k in sorted(main)])
    if days:
        stmt = ins(D)
        stmt = stmt.on_conflict_do_update(index_elements=list(DAYS_KEY), set_={"n": D.c.n + stmt.excluded.n})
        conn.execute(stmt, [dict(zip((*DAYS_KEY, "n"), (*k, days[k]), strict=True)) for k in sorted(days)])
    gone = [k for k in sorted(main) if main[k][0] < 0]
    if gone:
        conn.execute(delete(R).where(R.c.n <= 0, *[R.c[name] == bindparam(name, type_=R.c[name].type) for name in KEY]),
                     [dict(zip(KEY, k, strict=True)) for k in gone])
    gone_days = [k for k in sorted(days) if days[k] < 0]
    if gone_days:
        conn.execute(delete(D).where(D.c.n <= 0, *[D.c[name] == bindparam(name, type_=D.c[name].type) for name in DAYS_KEY]),
                     [dict(zip(DAYS_KEY, k, strict=True)) for k in gone_days])


def apply(conn, before: Contribution | None, after: Contribution | None) -> None:  # noqa: ANN001
    """Move one claim's contribution from ``before`` to ``after`` (either may be None)."""
    if before == after:
        return
    main, days = deltas([(before, after)])
    write_deltas(conn, main, days)


def recompute(conn) -> None:  # noqa: ANN001
    """Rebuild both tables from claim_timeliness in SQL (the same rows ``contribution`` gives, summed)."""
    T = ClaimTimelinessRow.__table__.c
    conn.execute(delete(R))
    conn.execute(delete(D))
    settled = and_(T.settled_on.is_not(None), T.excluded_reason.is_(None))
    month = month_start(T.settled_on).label("settled_month")
    head = [T.billing_npi, T.billing_tin, T.programs, T.regime, T.submission_type, T.receipt_date]
    rows = select(*head, func.coalesce(T.info_received_date, literal(NO_DATE)).label("info_received_date"),
                  func.coalesce(T.s_clock, literal(NO_DATE)).label("s_clock"),
                  case((T.contest_date.is_(None), ""), else_=func.coalesce(T.unclean_reason, "?")).label(
                      "contest_reason"), month, T.s_days_to_pay, T.charge_cents,
                  *[T[name] for name in FIGURES]).where(settled).subquery()
    key = [rows.c[name] for name in KEY]
    sums = [func.count(), func.sum(rows.c.charge_cents), *[func.sum(rows.c[name]) for name in FIGURES]]
    conn.execute(insert(R).from_select([*KEY, *VALUES], select(*key, *sums).group_by(*key)))
    days_key = [*[rows.c[name] for name in DAYS_KEY[:-1]], rows.c.s_days_to_pay]
    conn.execute(insert(D).from_select([*DAYS_KEY, "n"], select(*days_key, func.count()).where(
        rows.c.s_days_to_pay.is_not(None)).group_by(*days_key)))
