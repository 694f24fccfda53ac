"""Timeliness: settled figures per claim (what a decided claim counts on every day from settled_on on), so the
dashboards sum stored columns for settled claims and evaluate the day-dependent rules only for the rest.
Existing rows are backfilled from their stored derived columns with the rules module.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INTS = ('s_fed', 's_n30', 's_n90', 's_paid30', 's_paid90', 's_timely', 's_notice_timely', 's_late_paid_settled',
        's_interest_correct')
CENTS = ('s_interest_due_cents', 's_interest_paid_cents', 's_penalty_cents')


def upgrade() -> None:
    with op.batch_alter_table('claim_timeliness') as batch_op:
        batch_op.add_column(sa.Column('settled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('s_clock', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('s_days_to_pay', sa.Integer(), nullable=True))
        for name in INTS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default=sa.text('0'), nullable=False))
        for name in CENTS:
            batch_op.add_column(sa.Column(name, sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    backfill(op.get_bind())
    if op.get_bind().dialect.name == 'postgresql':
        # NPI and TIN go together: without this PostgreSQL multiplies their distinct counts, expects ~100 times
        # more provider groups than there are and sorts every row instead of hashing ~2,000 groups.
        op.execute('CREATE STATISTICS IF NOT EXISTS st_claim_timeliness_provider (ndistinct) '
                   'ON billing_npi, billing_tin FROM claim_timeliness')
        op.execute('ANALYZE claim_timeliness')


def backfill(conn, batch: int = 20000) -> int:
    """Settled figures for every decided claim, from its stored derived row (open claims keep the defaults)."""
    from app.settings import get_settings
    from app.timeliness.claim import SETTLED_FIELDS, Derived, with_settled
    from app.timeliness.policy import policy_from_settings

    policy = policy_from_settings(get_settings())
    stored = [f for f in Derived.__dataclass_fields__ if f not in ('interest_payments', *SETTLED_FIELDS)]
    dates = {n for n in (*stored, *SETTLED_FIELDS) if n.endswith(('_date', '_deadline', '_by', '_on', '_clock'))}
    table = sa.table('claim_timeliness', sa.column('invoice_id'),
                     *[sa.column(n, sa.Date() if n in dates else None) for n in (*stored, *SETTLED_FIELDS)])
    names = [n for n in SETTLED_FIELDS]
    update = (table.update().where(table.c.invoice_id == sa.bindparam('key'))
              .values({n: sa.bindparam(f'v_{n}') for n in names}))
    last, count = -1, 0
    while True:
        rows = conn.execute(sa.select(table.c.invoice_id, *[table.c[n] for n in stored])
                            .where(table.c.invoice_id > last, table.c.final_kind.is_not(None))
                            .order_by(table.c.invoice_id).limit(batch)).all()
        if not rows:
            return count
        params = []
        for r in rows:
            values = dict(zip(stored, r[1:], strict=True))
            d = with_settled(Derived(**values), policy)
            params.append({'key': r[0], **{f'v_{n}': getattr(d, n) for n in names}})
        conn.execute(update, params)
        last, count = rows[-1][0], count + len(rows)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS IF EXISTS st_claim_timeliness_provider')
    with op.batch_alter_table('claim_timeliness') as batch_op:
        for name in ('settled_on', 's_clock', 's_days_to_pay', *INTS, *CENTS):
            batch_op.drop_column(name)
