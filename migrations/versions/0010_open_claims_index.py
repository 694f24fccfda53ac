"""Covering indexes for the claims the dashboards put through their rules (every column the rules read): the open
ones (ix_claim_timeliness_open, WHERE settled_on IS NULL) and the settled ones by settled_on
(ix_claim_timeliness_settled_on, now WHERE settled_on IS NOT NULL), instead of a row lookup per claim. And the
primary key of timeliness_rollup_days with days third, so the median's GROUP BY reads it in order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

RULE_COLUMNS = [
    "billing_npi", "billing_tin", "receipt_date", "regime", "programs", "submission_type", "excluded_reason",
    "unclean_reason", "notice_deadline", "contest_date", "info_received_date", "recon_deadline", "final_kind",
    "final_date", "prev_final_kind", "prev_final_date", "reversal_date", "charge_cents", "interest_due_cents",
    "interest_due_by", "penalty_if_missed_cents", "interest_paid_cents", "interest_paid_date", "interest_full_date"]


def _where(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


DAYS_KEY = ["billing_npi", "billing_tin", "programs", "regime", "submission_type", "receipt_date", "settled_month",
            "days"]


def _days_primary_key(columns: list[str]) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE timeliness_rollup_days DROP CONSTRAINT timeliness_rollup_days_pkey, "
                   f"ADD CONSTRAINT timeliness_rollup_days_pkey PRIMARY KEY ({', '.join(columns)})")
        return
    # SQLite cannot change a WITHOUT ROWID table's key: copy it into a new table
    op.create_table(
        'timeliness_rollup_days_new',
        sa.Column('billing_npi', sa.String(length=10), nullable=False),
        sa.Column('billing_tin', sa.String(length=9), nullable=False),
        sa.Column('programs', sa.String(length=10), nullable=False),
        sa.Column('regime', sa.String(length=2), nullable=False),
        sa.Column('submission_type', sa.String(length=10), nullable=False),
        sa.Column('receipt_date', sa.Date(), nullable=False),
        sa.Column('settled_month', sa.Date(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*columns),
        sqlite_with_rowid=False,
    )
    names = ", ".join([*DAYS_KEY, "n"])
    op.execute(f"INSERT INTO timeliness_rollup_days_new ({names}) SELECT {names} FROM timeliness_rollup_days")
    op.drop_table('timeliness_rollup_days')
    op.rename_table('timeliness_rollup_days_new', 'timeliness_rollup_days')


def upgrade() -> None:
    _days_primary_key(["billing_npi", "billing_tin", "days", "programs", "regime", "submission_type", "receipt_date",
                       "settled_month"])
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', ['settled_on', *RULE_COLUMNS],
                    **_where("settled_on IS NOT NULL"))
    op.create_index('ix_claim_timeliness_open', 'claim_timeliness', [*RULE_COLUMNS, 'settled_on'],
                    **_where("settled_on IS NULL"))


def downgrade() -> None:
    _days_primary_key(DAYS_KEY)
    op.drop_index('ix_claim_timeliness_open', table_name='claim_timeliness')
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', ['settled_on', 'receipt_date'])
