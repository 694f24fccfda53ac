"""Dashboard aggregates, computed in SQL over ``claim_timeliness`` (one row per invoice version).

Every per-claim idea here is ``app.timeliness.claim.status_as_of`` written as SQL CASE expressions over the
stored columns and the ``as_of`` day, so a summary is one GROUP BY scan, not a loop over rows in Python.
tests/timeliness/test_sql_matches_rules.py keeps the two in step.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, false, func, literal_column, not_, null, or_, select, text, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import AsBoolean, BooleanClauseList, False_, Grouping

from app.invoices.models import IntakeRejectionRow, InvoiceRow
from app.timeliness import rules
from app.timeliness.claim import FEDERALLY_EXCLUDED_REASONS, PAID
from app.timeliness.cohort import Counts
from app.timeliness.models import ClaimTimelinessRow
from app.timeliness.rollup import NO_DATE, D, R
from app.timeliness.policy import TimelinessPolicy
from app.timeliness.sqlfuncs import date_constant, day_in, days_between, greatest_of, unindexed, utc_period

T = ClaimTimelinessRow.__table__.c
AGING_BUCKETS = ((0, 7), (8, 15), (16, 25), (26, 30), (31, 45), (46, 60), (61, 90), (91, 180), (181, 365),
                 (366, None))
BREACH_IMMINENT = (26, 30)


@dataclass(frozen=True)
class Filters:
    received_from: date | None = None
    received_to: date | None = None
    program: str | None = None  # ECM | CS
    billing_npi: str | None = None
    billing_tin: str | None = None
    submission_type: str | None = None
    regime: str | None = None  # S1 | S2


def _le(column, as_of: date) -> ColumnElement:
    return and_(column.is_not(None), column <= as_of)


def _never(condition) -> bool:  # noqa: ANN001
    """A condition that is false on every row: false(), an AND with such a term, an OR of only such terms
    (SQLAlchemy folds only direct false() terms)."""
    if isinstance(condition, False_):
        return True
    if isinstance(condition, AsBoolean | Grouping):
        return _never(condition.element)
    if isinstance(condition, BooleanClauseList):
        terms = [_never(term) for term in condition.clauses]
        if condition.operator is operators.and_:
            return any(terms)
        return condition.operator is operators.or_ and all(terms)
    return False


ZERO = literal_column("0")


def _case(*whens, else_):  # noqa: ANN001, ANN202
    """case() without the branches that can never be taken (the else alone when none is left)."""
    whens = [(condition, value) for condition, value in whens if not _never(condition)]
    return case(*whens, else_=else_) if whens else else_


def _in(column, start: date | None, end: date | None) -> ColumnElement:
    conditions = [column.is_not(None)]
    if start:
        conditions.append(column >= start)
    if end:
        conditions.append(column <= end)
    return and_(*conditions)


class ClaimSQL:
    """The as-of expressions for one day and policy. With ``undecided`` they are for claims without a decision on
    that day only (where not ``decided_on_day``), and every branch that needs a decision folds away: most claims
    that go through these rules are such, and those branches were half of the rules' cost. ``settled_until`` is the
    latest settled_on there is (``reading`` reads it); by default unknown, so the late range is read whole."""

    def __init__(self, as_of: date, policy: TimelinessPolicy, *, undecided: bool = False,
                 settled_until: date | None = date.max):
        d = date_constant(as_of)
        self.as_of, self.d, self.policy = as_of, d, policy
        self.included = T.excluded_reason.is_(None)
        self.contested = _le(T.contest_date, d)
        self.info_in = _le(T.info_received_date, d)
        if undecided:
            current = previous = false()
        else:
            current = _le(T.final_date, d)
            previous = and_(_le(T.prev_final_date, d), T.reversal_date.is_not(None), T.reversal_date > d)
        self.decided = or_(current, previous)
        # the same, for splitting claims on it: read off the covering indexes, not looked up by the final_date index
        self.decided_on_day = or_(_le(unindexed(T.final_date), d), and_(
            _le(T.prev_final_date, d), T.reversal_date.is_not(None), T.reversal_date > d))
        self.decision_kind = _case((current, T.final_kind), (previous, T.prev_final_kind), else_=null())
        self.decision_date = _case((current, T.final_date), (previous, T.prev_final_date), else_=null())
        self.paid = and_(self.decided, self.decision_kind == PAID)

        if policy.contest_restarts_clock:
            self.clock = case((not_(self.contested), T.receipt_date), (self.info_in, T.info_received_date),
                              else_=None)
        else:
            self.clock = T.receipt_date
        federally_excluded = and_(self.contested,
                                  func.coalesce(T.unclean_reason, "").in_(FEDERALLY_EXCLUDED_REASONS))
        self.in_federal = and_(self.included, self.clock.is_not(None), not_(federally_excluded))
        self.days_to_decision = days_between(self.decision_date, self.clock)
        self.age = days_between(d, self.clock)

        late_notice = and_(self.contested, T.contest_date > T.notice_deadline)
        self.notice_late = late_notice
        self.state_deadline = case((or_(not_(self.contested), late_notice), T.notice_deadline),
                                   (self.info_in, T.recon_deadline), else_=None)
        self.state_outcome = _case(
            (late_notice, "late"),
            (and_(self.contested, not_(self.info_in)), "timely"),
            (self.decided, case((self.decision_date <= self.state_deadline, "timely"), else_="late")),
            (d <= self.state_deadline, "pending"),
            else_="late",
        )

        paid_decision = and_(current, T.final_kind == PAID)
        has_due = and_(paid_decision, T.interest_due_cents > 0)
        on_time = and_(T.interest_full_date.is_not(None), T.interest_full_date <= T.interest_due_by)
        self.penalty_avoided = and_(has_due, on_time, T.interest_full_date <= d)
        self.penalty_owed = and_(has_due, not_(self.penalty_avoided), T.interest_due_by < d)
        self.interest_due = _case((paid_decision, T.interest_due_cents), else_=ZERO)
        self.interest_unpaid_open = and_(has_due, or_(T.interest_full_date.is_(None), T.interest_full_date > d))
        self.interest_paid = case((_le(T.interest_paid_date, d), T.interest_paid_cents), else_=0)
        self.penalty = _case((self.penalty_owed, T.penalty_if_missed_cents), else_=ZERO)

        self.accruing = and_(self.included, not_(self.decided), self.state_deadline.is_not(None),
                             self.state_deadline < d)
        late = days_between(d, self.state_deadline)
        accrued = (2 * T.charge_cents * rules.RATE_BASIS_POINTS * late + 10000 * 365) // (2 * 10000 * 365)
        if policy.s1_interest_floor:
            floor = 1500 * ((late + 364) // 365)
            accrued = case((T.regime == "S1", greatest_of(accrued, floor)), else_=accrued)
        self.accrued = case((self.accruing, accrued), else_=0)

        # A settled claim (claim.with_settled) counts the same on every day from settled_on on: its stored figures
        # are summed in the rollup per month of settled_on (they were stored under a restarting clock, so only under
        # that policy). The months that ended by as_of are read from the rollup; every other claim received by as_of
        # goes through the rules above, by the ranges in ``received_ranges`` (planners do not split an OR well): the
        # open ones from the covering ix_claim_timeliness_open, those settled from the month of as_of + 1 day on
        # from ix_claim_timeliness_settled_on (see _settled_late). The receipt-date term is unindexed() where the
        # receipt-date index would be chosen over the covering one, a row lookup per claim.
        received = unindexed(T.receipt_date) <= d
        if policy.contest_restarts_clock:
            self.cutoff = (as_of + timedelta(days=1)).replace(day=1)
            self.received_ranges = [and_(T.settled_on.is_(None), received),
                                    _settled_late(self.cutoff, settled_until, as_of)]
        else:
            self.cutoff = None
            self.received_ranges = [received]

    @classmethod
    def reading(cls, session: Session, as_of: date, policy: TimelinessPolicy) -> ClaimSQL:
        """For queries through ``session``: the latest settled day there is bounds the late range (_settled_late)."""
        latest = session.scalar(select(func.max(T.settled_on)).where(T.settled_on.is_not(None))) \
            if policy.contest_restarts_clock else None
        return cls(as_of, policy, settled_until=_as_date(latest) if latest is not None else None)

    def federal_key(self):
        return self.clock if self.policy.federal_cohort == "clock_start" else T.receipt_date

    def rolled_federal_key(self):
        return R.c.s_clock if self.policy.federal_cohort == "clock_start" else R.c.receipt_date


LATE_DAYS_LISTED = 1000


def _settled_late(cutoff: date, settled_until: date | None, as_of: date) -> ColumnElement:
    """The claims settled from ``cutoff`` on and received by ``as_of``, where ``settled_until`` is the latest settled
    day there is (None: no claim is settled). Most claims settled since the cutoff were received after as_of, so on
    SQLite their days are listed (day_in): with the receipt date second in ix_claim_timeliness_settled_on, each day
    is one seek to the claims received by as_of. Over LATE_DAYS_LISTED days, the range is read whole."""
    if settled_until is None or settled_until < cutoff:
        return false()
    d = date_constant(as_of)
    if (settled_until - cutoff).days >= LATE_DAYS_LISTED:
        # (bounded on both sides: SQLite then estimates the range as the small part it is)
        return and_(T.settled_on.between(date_constant(cutoff), date_constant(date.max)),
                    unindexed(T.receipt_date) <= d)
    return and_(day_in(T.settled_on, cutoff, settled_until), T.receipt_date <= d)


def _where(sql: ClaimSQL, f: Filters, *, federal_period: bool) -> list[ColumnElement]:
    return [sql.included, *_filters(sql, f, T, None, federal_period=federal_period)]


def _rollup_where(sql: ClaimSQL, f: Filters, table, *, federal_period: bool) -> list[ColumnElement]:
    """_where for a rollup table (its rows are all included claims; a missing date is NO_DATE, not NULL)."""
    c = table.c
    return _filters(sql, f, c, NO_DATE, federal_period=federal_period)


def _filters(sql: ClaimSQL, f: Filters, c, no_date: date | None, *,  # noqa: ANN001 - a column collection
             federal_period: bool) -> list[ColumnElement]:
    """The caller's filters over columns `c`, where a missing date is NULL or `no_date`."""
    conditions = []
    if f.received_from or f.received_to:
        by_receipt = _in(c.receipt_date, f.received_from, f.received_to)
        if federal_period and sql.policy.federal_cohort == "clock_start" and sql.policy.contest_restarts_clock:
            info = _in(c.info_received_date, f.received_from, f.received_to)
            by_receipt = or_(by_receipt, info if no_date is None else and_(c.info_received_date > no_date, info))
        conditions.append(by_receipt)
    if f.program:
        conditions.append(c.programs.contains(f.program))
    if f.billing_npi:
        conditions.append(c.billing_npi == f.billing_npi)
    if f.billing_tin:
        conditions.append(c.billing_tin == f.billing_tin)
    if f.submission_type:
        conditions.append(c.submission_type == f.submission_type)
    if f.regime:
        conditions.append(c.regime == f.regime)
    return conditions


def _count(condition) -> ColumnElement:
    return _sum(condition, 1)


def _sum(condition, value) -> ColumnElement:  # noqa: ANN001
    """SUM(value) over the rows where condition holds; a constant 0 when it never does (or value is 0)."""
    if _never(condition) or value is ZERO:
        return ZERO
    return func.sum(case((condition, value), else_=0))


def _counts_columns(sql: ClaimSQL, f: Filters) -> list:
    fed = and_(sql.in_federal, _in(sql.federal_key(), f.received_from, f.received_to))
    st = _in(T.receipt_date, f.received_from, f.received_to)
    open_ = and_(st, not_(sql.decided))
    return [
        _count(fed).label("fed_claims"),
        _count(and_(fed, sql.decided, sql.days_to_decision <= 30)).label("fed_n30"),
        _count(and_(fed, sql.decided, sql.days_to_decision <= 90)).label("fed_n90"),
        _count(and_(fed, sql.paid, sql.days_to_decision <= 30)).label("fed_paid30"),
        _count(and_(fed, sql.paid, sql.days_to_decision <= 90)).label("fed_paid90"),
        _count(and_(fed, not_(sql.decided))).label("fed_open"),
        _count(and_(fed, not_(sql.decided), sql.age < 30)).label("fed_open_inside_30"),
        _count(and_(fed, not_(sql.decided), sql.age < 90)).label("fed_open_inside_90"),
        func.max(case((fed, sql.clock), else_=None)).label("fed_max_clock_start"),
        _count(st).label("claims"),
        _count(and_(st, sql.state_outcome == "timely")).label("state_timely"),
        _count(and_(st, sql.state_outcome == "late")).label("state_late"),
        _count(and_(st, sql.state_outcome == "pending")).label("state_pending"),
        _count(and_(st, sql.contested)).label("contested"),
        _count(and_(st, sql.contested, not_(sql.notice_late))).label("notice_timely"),
        _count(open_).label("open"),
        _sum(open_, T.charge_cents).label("open_cents"),
        _sum(st, sql.interest_due).label("interest_due_cents"),
        _sum(st, sql.interest_paid).label("interest_paid_cents"),
        _sum(st, sql.penalty).label("penalty_cents"),
        _sum(st, sql.accrued).label("accrued_cents"),
        _sum(and_(st, sql.accruing), T.charge_cents).label("accruing_principal_cents"),
        _count(and_(st, or_(sql.penalty_avoided, sql.penalty_owed))).label("late_paid_settled"),
        _count(and_(st, sql.penalty_avoided)).label("interest_correct"),
    ]


def _rolled_columns(sql: ClaimSQL, f: Filters) -> list:
    """The Counts of the settled claims the rollup holds for as_of, from their summed stored figures
    (claim.with_settled): no rules. A settled claim is decided, so it is never open, pending or accruing."""
    c = R.c
    period = bool(f.received_from or f.received_to)
    st = _in(c.receipt_date, f.received_from, f.received_to)
    fed = and_(c.s_fed > 0, _in(sql.rolled_federal_key(), f.received_from, f.received_to))

    def fed_sum(column) -> ColumnElement:  # s_n30 ... are 0 unless s_fed is
        return func.sum(case((fed, column), else_=0) if period else column)

    def st_sum(column) -> ColumnElement:
        return func.sum(case((st, column), else_=0) if period else column)

    return [
        fed_sum(c.s_fed).label("fed_claims"), fed_sum(c.s_n30).label("fed_n30"), fed_sum(c.s_n90).label("fed_n90"),
        fed_sum(c.s_paid30).label("fed_paid30"), fed_sum(c.s_paid90).label("fed_paid90"),
        func.max(case((fed if period else c.s_clock > NO_DATE, c.s_clock), else_=None)).label("fed_max_clock_start"),
        st_sum(c.n).label("claims"),
        st_sum(c.s_timely).label("state_timely"), st_sum(c.n - c.s_timely).label("state_late"),
        st_sum(case((c.contest_reason != "", c.n), else_=0)).label("contested"),
        st_sum(c.s_notice_timely).label("notice_timely"),
        st_sum(c.s_interest_due_cents).label("interest_due_cents"),
        st_sum(c.s_interest_paid_cents).label("interest_paid_cents"),
        st_sum(c.s_penalty_cents).label("penalty_cents"),
        st_sum(c.s_late_paid_settled).label("late_paid_settled"),
        st_sum(c.s_interest_correct).label("interest_correct"),
    ]


def _future_columns(f: Filters, table=ClaimTimelinessRow.__table__) -> list:
    """The Counts of claims received after as_of, which the rules see as not yet contested or decided (every
    event is on or after receipt): open, pending, in the federal test with the receipt date as clock start (in
    either cohort) and a negative age, nothing owed or accruing. Over claim_timeliness (one claim a row) or the
    rollup (``n`` claims a row)."""
    c = table.c
    st = _in(c.receipt_date, f.received_from, f.received_to)
    n = _count(st) if table is ClaimTimelinessRow.__table__ else func.sum(case((st, c.n), else_=0))
    return [n.label("fed_claims"), n.label("fed_open"), n.label("fed_open_inside_30"),
            n.label("fed_open_inside_90"),
            func.max(case((st, c.receipt_date), else_=None)).label("fed_max_clock_start"),
            n.label("claims"), n.label("state_pending"), n.label("open"),
            func.sum(case((st, c.charge_cents), else_=0)).label("open_cents"),
            func.min(case((st, c.receipt_date), else_=None)).label("oldest_open")]


def _parts(sql: ClaimSQL, f: Filters, keys: list, *, oldest_open: bool = False,
           npis: list[str] | None = None) -> list[tuple]:
    """(group columns, SELECT) per part of the claims: the rollup's settled claims (summed stored figures) and its
    claims received after as_of (trivially open), the other claims received after as_of, and only the rest through
    the rules as SQL. With ``npis``, only those billing NPIs' claims."""
    where = _where(sql, f, federal_period=True)
    rwhere = _rollup_where(sql, f, R, federal_period=True)
    if npis is not None:
        where.append(_of_npis(sql, npis))
        rwhere.append(R.c.billing_npi.in_(npis))  # (the rollup's key starts with the NPI)
    st = _in(T.receipt_date, f.received_from, f.received_to)
    undecided = ClaimSQL(sql.as_of, sql.policy, undecided=True)

    def through_rules(rules: ClaimSQL, *conditions) -> tuple:  # noqa: ANN002
        extra = [func.min(case((and_(st, not_(rules.decided)), T.receipt_date), else_=None)).label("oldest_open")] \
            if oldest_open else []
        return keys, select(*keys, *_counts_columns(rules, f), *extra).where(*where, *conditions)

    # The claims through the rules (sql.received_ranges), each range in two parts: those undecided on as_of, through
    # the rules with the decision branches folded away, and the others.
    parts = []
    for received in sql.received_ranges:
        parts += [through_rules(undecided, received, not_(sql.decided_on_day)),
                  through_rules(sql, received, sql.decided_on_day)]
    if sql.cutoff is None:  # no settled figures under this policy: every claim through the rules
        parts.append((keys, select(*keys, *_future_columns(f)).where(*where, T.receipt_date > sql.d)))
    else:
        rkeys = [R.c[k.name] for k in keys]
        # (unindexed: the open claims come from their covering index, not by a walk of the receipt-date index)
        parts += [(keys, select(*keys, *_future_columns(f)).where(*where, unindexed(T.receipt_date) > sql.d,
                                                                   T.settled_on.is_(None))),
                  (rkeys, select(*rkeys, *_rolled_columns(sql, f)).where(
                     *rwhere, R.c.settled_month < date_constant(sql.cutoff))),
                  (rkeys, select(*rkeys, *_future_columns(f, R)).where(*rwhere, R.c.receipt_date > sql.d))]
    return parts


def _group_keys(session: Session, sql: ClaimSQL, f: Filters, keys: list) -> set[tuple]:
    """The groups _grouped_counts would return, without working out their figures: those of the claims its parts
    count. With the rollup (cutoff set), every such claim is open (in claim_timeliness, read off the covering index
    in key order) or settled (in the rollup, whichever its month): two reads instead of one per part."""
    where = _where(sql, f, federal_period=True)
    queries = [select(*keys).where(*where)]
    if sql.cutoff is not None:
        rkeys = [R.c[k.name] for k in keys]
        queries = [select(*keys).where(*where, T.settled_on.is_(None)),
                   select(*rkeys).where(*_rollup_where(sql, f, R, federal_period=True))]
    return {tuple(row) for query in queries for row in session.execute(query.group_by(*query.selected_columns))}


def _grouped_counts(session: Session, sql: ClaimSQL, f: Filters, keys: list, oldest_open: bool = False,
                    npis: list[str] | None = None) -> dict:
    """Counts per group (``keys``: claim_timeliness columns) from the parts of ``_parts``, of every group or of the
    groups of the billing NPIs ``npis``. Returns {key tuple: (Counts, oldest open receipt date or None)}."""
    sums: dict = {}  # key -> _COUNT_FIELDS' values
    for group, query in _parts(sql, f, keys, oldest_open=oldest_open, npis=npis):
        result = session.execute(_in_key_order(group, query))
        columns = list(result.keys())
        # (position in the row, position in sums) of each figure the part has; the others stay 0
        added = [(columns.index(name), i) for i, name in enumerate(_COUNT_FIELDS)
                 if name in columns and i not in _LATEST]
        latest = [(columns.index(name), i) for i in _LATEST if (name := _COUNT_FIELDS[i]) in columns]
        for row in result:
            key = tuple(row[:len(keys)])
            values = sums.get(key)
            if values is None:
                values = sums[key] = [None if i in _LATEST else 0 for i in range(len(_COUNT_FIELDS))]
            for at, i in added:
                values[i] += int(row[at] or 0)
            for at, i in latest:  # the latest date, or (the oldest open receipt) the earliest
                day = _as_date(row[at]) if row[at] is not None else None
                if day is not None and (values[i] is None or (day < values[i] if i == _OLDEST else day > values[i])):
                    values[i] = day
    return {key: (Counts(*values[:_OLDEST]), values[_OLDEST]) for key, values in sums.items()}


_ROLLUP_KEY_HEAD = [R.c.billing_npi, R.c.billing_tin, R.c.programs, R.c.regime]


def _in_key_order(group: list, query):  # noqa: ANN001, ANN202 - a Select
    """``query`` grouped by ``group``. A rollup query whose groups are not a prefix of the rollup's key (the summary's
    regime) is summed in two steps, per leading key columns (read in key order) and then per group: SQLite
    otherwise sorts every rollup row for the GROUP BY."""
    if group[0].table is not R or [c.name for c in group] == [c.name for c in _ROLLUP_KEY_HEAD[:len(group)]]:
        return query.group_by(*group)
    names = [c.name for c in group]
    inner = query.add_columns(*[c for c in _ROLLUP_KEY_HEAD if c.name not in names]) \
        .group_by(*_ROLLUP_KEY_HEAD).subquery()
    again = {"fed_max_clock_start": func.max, "oldest_open": func.min}
    outer = [inner.c[name] for name in names]
    return select(*outer, *[again.get(c.name, func.sum)(c).label(c.name) for c in inner.c if c.name in _COUNT_FIELDS]) \
        .group_by(*outer)


_COUNT_FIELDS = [f.name for f in fields(Counts)] + ["oldest_open"]  # Counts' fields in order, then one more
_OLDEST = len(_COUNT_FIELDS) - 1
_LATEST = (_COUNT_FIELDS.index("fed_max_clock_start"), _OLDEST)


def summary_counts(session: Session, as_of: date, policy: TimelinessPolicy, f: Filters) -> dict[str, Counts]:
    """Counts per regime (S1, S2) for the filtered cohort."""
    sql = ClaimSQL.reading(session, as_of, policy)
    return {key[0]: counts for key, (counts, _) in _grouped_counts(session, sql, f, [T.regime]).items()}


@dataclass
class ProviderRow:
    billing_npi: str
    billing_tin: str
    counts: Counts
    median_days_to_pay: float | None = None
    oldest_open_receipt_date: date | None = None
    top_contest_reasons: list[tuple[str, int]] | None = None


def provider_rows(session: Session, as_of: date, policy: TimelinessPolicy, f: Filters, limit: int,
                  offset: int) -> tuple[list[ProviderRow], int]:
    sql = ClaimSQL.reading(session, as_of, policy)
    group_by = [T.billing_npi, T.billing_tin]
    keys = sorted(_group_keys(session, sql, f, group_by))
    total = len(keys)
    page = keys[offset:offset + limit]
    # the figures of the page's providers only
    groups = _grouped_counts(session, sql, f, group_by, oldest_open=True, npis=sorted({npi for npi, _ in page})) \
        if page else {}
    rows = []
    for key in page:
        counts, oldest_open = groups.get(key, (Counts(), None))
        if counts.claims == 0 and counts.fed_claims == 0:
            continue
        rows.append(ProviderRow(key[0], key[1], counts, oldest_open_receipt_date=oldest_open))
    npis = [r.billing_npi for r in rows]
    if npis:
        medians = _median_days_to_pay(session, sql, f, npis)
        reasons = _top_reasons(session, sql, f, npis)
        for r in rows:
            r.median_days_to_pay = medians.get((r.billing_npi, r.billing_tin))
            r.top_contest_reasons = reasons.get((r.billing_npi, r.billing_tin), [])
    return rows, total


def _of_npis(sql: ClaimSQL, npis: list[str]) -> ColumnElement:
    """The claims of these billing NPIs. Where the claims through the rules come by ranges of their covering indexes
    (cutoff set), checked on each one there rather than looked up by the NPI + receipt-date index."""
    return (T.billing_npi if sql.cutoff is None else unindexed(T.billing_npi)).in_(npis)


def _median_days_to_pay(session: Session, sql: ClaimSQL, f: Filters, npis: list[str]) -> dict:
    """Median of receipt-to-payment days per provider: SQL counts the claims per provider and day count (the
    rollup's settled claims, the rest through the rules), the median is read off those few rows (no window over
    every paid claim)."""
    where = [*_where(sql, f, federal_period=False), _in(T.receipt_date, f.received_from, f.received_to)]
    live = days_between(sql.decision_date, T.receipt_date).label("days")
    where.append(_of_npis(sql, npis))
    # (a claim received after as_of has no decision by then: events are dated on or after receipt)
    queries = [select(T.billing_npi, T.billing_tin, live, func.count().label("n"))
               .where(*where, sql.decided_on_day, sql.decision_kind == PAID, received)
               .group_by(T.billing_npi, T.billing_tin, text("days")) for received in sql.received_ranges]
    if sql.cutoff is not None:
        queries.append(select(D.c.billing_npi, D.c.billing_tin, D.c.days, func.sum(D.c.n).label("n"))
                       .where(*_rollup_where(sql, f, D, federal_period=False),
                              _in(D.c.receipt_date, f.received_from, f.received_to), D.c.billing_npi.in_(npis),
                              D.c.settled_month < date_constant(sql.cutoff))
                       .group_by(D.c.billing_npi, D.c.billing_tin, D.c.days))
    histograms: dict = defaultdict(lambda: defaultdict(int))
    for query in queries:
        for r in session.execute(query):
            histograms[(r.billing_npi, r.billing_tin)][int(r.days)] += int(r.n)
    return {key: _median(sorted(h.items())) for key, h in histograms.items()}


def _median(histogram: list[tuple[int, int]]) -> float:
    """Median of the values of a sorted (value, count) list: the middle one, or the mean of the two middle ones."""
    n = sum(count for _, count in histogram)
    wanted = sorted({(n + 1) // 2, (n + 2) // 2})  # 1-based positions
    found, seen = [], 0
    for value, count in histogram:
        seen += count
        while wanted and wanted[0] <= seen:
            found.append(value)
            wanted.pop(0)
    if len(found) == 1:
        found.append(found[0])
    return round(sum(found) / 2, 1)


def _top_reasons(session: Session, sql: ClaimSQL, f: Filters, npis: list[str], top: int = 3) -> dict:
    queries = [select(T.billing_npi, T.billing_tin, T.unclean_reason, func.count().label("n"))
               .where(*_where(sql, f, federal_period=False), _in(T.receipt_date, f.received_from, f.received_to),
                      sql.contested, _of_npis(sql, npis), received)
               .group_by(T.billing_npi, T.billing_tin, T.unclean_reason) for received in sql.received_ranges]
    if sql.cutoff is not None:
        queries.append(select(R.c.billing_npi, R.c.billing_tin, R.c.contest_reason, func.sum(R.c.n).label("n"))
                       .where(*_rollup_where(sql, f, R, federal_period=False),
                              _in(R.c.receipt_date, f.received_from, f.received_to), R.c.contest_reason != "",
                              R.c.billing_npi.in_(npis), R.c.settled_month < date_constant(sql.cutoff))
                       .group_by(R.c.billing_npi, R.c.billing_tin, R.c.contest_reason))
    found: dict = defaultdict(lambda: defaultdict(int))
    for query in queries:
        for r in session.execute(query):
            found[(r[0], r[1])][r[2]] += int(r.n)
    return {k: sorted(v.items(), key=lambda x: (-x[1], x[0]))[:top] for k, v in found.items()}


def aging(session: Session, as_of: date, policy: TimelinessPolicy, f: Filters) -> list[dict]:
    """Open clean claims by days since their clock start, count and dollars per bucket."""
    sql = ClaimSQL(as_of, policy)
    whens = [((sql.age <= high) if high is not None else (sql.age >= low), f"{low}-{high}" if high else f">{low - 1}")
             for low, high in AGING_BUCKETS]
    bucket = case(*whens).label("bucket")
    query = (select(bucket, func.count().label("n"), func.sum(T.charge_cents).label("cents"))
             .where(*_where(sql, f, federal_period=False), _in(T.receipt_date, f.received_from, f.received_to),
                    sql.in_federal, not_(sql.decided), sql.age >= 0)
             .group_by(text("bucket")))
    found = {r.bucket: (int(r.n), int(r.cents or 0)) for r in session.execute(query)}
    out = []
    for low, high in AGING_BUCKETS:
        label = f"{low}-{high}" if high else f">{low - 1}"
        n, cents = found.get(label, (0, 0))
        out.append({"bucket": label, "min_days": low, "max_days": high, "count": n, "amount": rules.from_cents(cents),
                    "breach_imminent": (low, high) == BREACH_IMMINENT})
    return out


AT_RISK_KINDS = {
    "decision_due": "State deadline to pay, or to contest or deny in writing (interest accrues after it).",
    "reconsideration_due": "State deadline to decide a contested claim after the information arrived.",
    "federal_30": "Clean claim nearing day 30 of the federal 90%-in-30-days test.",
    "federal_90": "Clean claim nearing day 90 of the federal 99%-in-90-days test.",
    "interest_unpaid": "Paid late; interest not yet paid in full; the automatic-payment window closes (penalty "
                       "after it).",
}


def at_risk(session: Session, as_of: date, policy: TimelinessPolicy, f: Filters, limit: int) -> tuple[list, dict]:
    sql = ClaimSQL(as_of, policy)
    window = policy.at_risk_days
    base = [*_where(sql, f, federal_period=False), _in(T.receipt_date, f.received_from, f.received_to)]
    open_ = and_(sql.included, not_(sql.decided))
    state_left = days_between(sql.state_deadline, sql.d)
    interest_left = days_between(T.interest_due_by, sql.d)

    def part(kind: str, days_left, *conditions):
        return select(T.invoice_id.label("invoice_id"), literal_column(f"'{kind}'").label("kind"), days_left.label("days_left"),
                      sql.accrued.label("accrued_cents"),
                      (T.interest_due_cents - T.interest_paid_cents).label("interest_unpaid_cents")).where(
            *base, *conditions)

    parts = union_all(
        part("decision_due", state_left, open_, sql.state_deadline.is_not(None),
             or_(not_(sql.contested), sql.notice_late), state_left <= window),
        part("reconsideration_due", state_left, open_, sql.contested, not_(sql.notice_late), sql.info_in,
             state_left <= window),
        part("federal_30", 30 - sql.age, open_, sql.in_federal, sql.age >= 30 - window, sql.age <= 30),
        part("federal_90", 90 - sql.age, open_, sql.in_federal, sql.age >= 90 - window, sql.age <= 90),
        part("interest_unpaid", interest_left, sql.interest_unpaid_open, interest_left <= window),
    ).subquery()
    by_kind = {r.kind: int(r.n) for r in session.execute(
        select(parts.c.kind, func.count().label("n")).group_by(parts.c.kind))}
    query = (select(parts, InvoiceRow.public_id, T.receipt_date, T.billing_npi, T.programs, T.regime, T.charge_cents,
                    T.submission_type)
             .join(InvoiceRow, InvoiceRow.id == parts.c.invoice_id)
             .join(ClaimTimelinessRow, ClaimTimelinessRow.invoice_id == parts.c.invoice_id)
             .order_by(parts.c.days_left, parts.c.kind, parts.c.invoice_id).limit(limit))
    items = []
    for r in session.execute(query):
        days_left = int(r.days_left)
        items.append({
            "invoice_id": r.public_id, "kind": r.kind, "deadline": as_of + timedelta(days=days_left),
            "days_left": days_left, "overdue": days_left < 0, "receipt_date": _as_date(r.receipt_date),
            "billing_npi": r.billing_npi, "programs": r.programs.split(","), "regime": r.regime,
            "submission_type": r.submission_type, "amount": rules.from_cents(int(r.charge_cents)),
            "interest_accrued": rules.from_cents(int(r.accrued_cents or 0)) if r.kind == "decision_due"
            or r.kind == "reconsideration_due" else None,
            "interest_unpaid": rules.from_cents(max(0, int(r.interest_unpaid_cents)))
            if r.kind == "interest_unpaid" else None,
        })
    return items, by_kind


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def rejections(session: Session, start: date | None, end: date | None, period: str, billing_npi: str | None,
               source: str | None) -> list[dict]:
    """Intake rejections (counted per provider and error code at intake) per UTC day or month."""
    key = utc_period(IntakeRejectionRow.rejected_at, 10 if period == "day" else 7).label("period")
    query = select(key, IntakeRejectionRow.billing_npi, IntakeRejectionRow.code,
                   func.sum(IntakeRejectionRow.count).label("n"))
    if start:
        query = query.where(IntakeRejectionRow.rejected_at >= datetime.combine(start, time(), UTC))
    if end:
        query = query.where(IntakeRejectionRow.rejected_at < datetime.combine(end + timedelta(days=1), time(), UTC))
    if billing_npi:
        query = query.where(IntakeRejectionRow.billing_npi == billing_npi)
    if source:
        query = query.where(IntakeRejectionRow.source == source)
    query = query.group_by(key, IntakeRejectionRow.billing_npi, IntakeRejectionRow.code).order_by(
        key, IntakeRejectionRow.billing_npi, IntakeRejectionRow.code)
    return [{"period": r.period, "billing_npi": r.billing_npi, "code": r.code, "count": int(r.n)}
            for r in session.execute(query)]
