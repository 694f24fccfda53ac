"""Timeliness: the rollup of settled figures (app.timeliness.rollup), backfilled from claim_timeliness, and the index
that serves the claims it does not hold (open ones, and those settled in or after the month of as_of + 1 day).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

HEAD = (
    ('billing_npi', sa.String(length=10)), ('billing_tin', sa.String(length=9)), ('programs', sa.String(length=10)),
    ('regime', sa.String(length=2)), ('submission_type', sa.String(length=10)), ('receipt_date', sa.Date()),
)
INTS = ('s_fed', 's_n30', 's_n90', 's_paid30', 's_paid90', 's_timely', 's_notice_timely')
CENTS = ('s_interest_due_cents', 's_interest_paid_cents', 's_penalty_cents')


def upgrade() -> None:
    key = [*HEAD, ('info_received_date', sa.Date()), ('s_clock', sa.Date()), ('contest_reason', sa.String(length=30)),
           ('settled_month', sa.Date())]
    op.create_table(
        'timeliness_rollup',
        *[sa.Column(name, type_, nullable=False) for name, type_ in key],
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('charge_cents', sa.BigInteger(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in INTS],
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in CENTS],
        sa.Column('s_late_paid_settled', sa.Integer(), nullable=False),
        sa.Column('s_interest_correct', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*[name for name, _ in key]),
        sqlite_with_rowid=False,
    )
    days_key = [*HEAD, ('settled_month', sa.Date()), ('days', sa.Integer())]
    op.create_table(
        'timeliness_rollup_days',
        *[sa.Column(name, type_, nullable=False) for name, type_ in days_key],
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*[name for name, _ in days_key]),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', ['settled_on', 'receipt_date'], unique=False)

    from app.timeliness.rollup import recompute

    recompute(op.get_bind())
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ANALYZE timeliness_rollup')
        op.execute('ANALYZE timeliness_rollup_days')
        op.execute('ANALYZE claim_timeliness')


def downgrade() -> None:
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.drop_table('timeliness_rollup_days')
    op.drop_table('timeliness_rollup')
