"""The open claims' covering index (ix_claim_timeliness_open: every column the dashboards' rules read, WHERE
settled_on IS NULL), and ix_claim_timeliness_settled_on limited to settled claims, so that a planner reaches the
open claims through the covering index alone.

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

OPEN_CLAIM_COLUMNS = [
    "billing_npi", "billing_tin", "receipt_date", "regime", "programs", "submission_type", "excluded_reason",
    "unclean_reason", "notice_deadline", "contest_date", "info_received_date", "recon_deadline", "final_kind",
    "final_date", "prev_final_kind", "prev_final_date", "reversal_date", "charge_cents", "interest_due_cents",
    "interest_due_by", "penalty_if_missed_cents", "interest_paid_cents", "interest_paid_date", "interest_full_date",
    "settled_on"]


def _where(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', ['settled_on', 'receipt_date'],
                    **_where("settled_on IS NOT NULL"))
    op.create_index('ix_claim_timeliness_open', 'claim_timeliness', OPEN_CLAIM_COLUMNS, **_where("settled_on IS NULL"))


def downgrade() -> None:
    op.drop_index('ix_claim_timeliness_open', table_name='claim_timeliness')
    op.drop_index('ix_claim_timeliness_settled_on', table_name='claim_timeliness')
    op.create_index('ix_claim_timeliness_settled_on', 'claim_timeliness', ['settled_on', 'receipt_date'])
