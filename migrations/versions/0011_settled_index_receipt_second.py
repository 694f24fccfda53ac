"""ix_claim_timeliness_settled_on with receipt_date second (after settled_on): the dashboards seek the claims settled
on each day after as_of's month that were received by as_of, instead of filtering them out of every claim settled
since (app.timeliness.queries._settled_late).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

RULE_COLUMNS = [
    "billing_npi", "billing_tin", "receipt_date", "regime", "programs", "submission_type", "excluded_reason",
    "unclean_reason", "notice_deadline", "contest_date", "info_received_date", "recon_deadline", "final_kind",
    "final_date", "prev_final_kind", "prev_final_date", "reversal_date", "charge_cents", "interest_due_cents",
    "interest_due_by", "penalty_if_missed_cents", "interest_paid_cents", "interest_paid_date", "interest_full_date"]
WHERE = {"sqlite_where": sa.text("settled_on IS NOT NULL"), "postgresql_where": sa.text("settled_on IS NOT NULL")}


def _settled_index(columns: list[str]) -> None:
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', columns, **WHERE)


def upgrade() -> None:
    _settled_index(['settled_on', 'receipt_date', *(c for c in RULE_COLUMNS if c != 'receipt_date')])


def downgrade() -> None:
    _settled_index(['settled_on', *RULE_COLUMNS])
