"""Timeliness: receipt provenance, clean flag, adjudication events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_date_set_by', sa.String(length=64), nullable=True))

    op.create_table('invoice_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('event_date', sa.Date(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('interest_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('interest_date', sa.Date(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('information_requested', sa.JSON(), nullable=True),
    sa.Column('exceeds_charge_acknowledged', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name='fk_invoice_events_invoice_id', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id', 'sequence', name='uq_invoice_events_invoice_sequence')
    )
    op.create_index('ix_invoice_events_invoice_id', 'invoice_events', ['invoice_id'], unique=False)

    op.create_table('event_idempotency_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['invoice_events.id'], name='fk_event_idempotency_keys_event_id', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key')
    )

    op.create_table('claim_timeliness',
    sa.Column('invoice_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('receipt_date', sa.Date(), nullable=False),
    sa.Column('regime', sa.String(length=2), nullable=False),
    sa.Column('programs', sa.String(length=10), nullable=False),
    sa.Column('billing_npi', sa.String(length=10), nullable=False),
    sa.Column('billing_tin', sa.String(length=9), nullable=False),
    sa.Column('submission_type', sa.String(length=10), nullable=False),
    sa.Column('excluded_reason', sa.String(length=30), nullable=True),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('clean', sa.Boolean(), nullable=False),
    sa.Column('unclean_reason', sa.String(length=30), nullable=True),
    sa.Column('notice_deadline', sa.Date(), nullable=False),
    sa.Column('contest_date', sa.Date(), nullable=True),
    sa.Column('info_received_date', sa.Date(), nullable=True),
    sa.Column('recon_deadline', sa.Date(), nullable=True),
    sa.Column('final_kind', sa.String(length=10), nullable=True),
    sa.Column('final_date', sa.Date(), nullable=True),
    sa.Column('prev_final_kind', sa.String(length=10), nullable=True),
    sa.Column('prev_final_date', sa.Date(), nullable=True),
    sa.Column('reversal_date', sa.Date(), nullable=True),
    sa.Column('charge_cents', sa.BigInteger(), nullable=False),
    sa.Column('paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('interest_due_cents', sa.BigInteger(), nullable=False),
    sa.Column('interest_due_by', sa.Date(), nullable=True),
    sa.Column('penalty_if_missed_cents', sa.BigInteger(), nullable=False),
    sa.Column('interest_paid_cents', sa.BigInteger(), nullable=False),
    sa.Column('interest_paid_date', sa.Date(), nullable=True),
    sa.Column('interest_full_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name='fk_claim_timeliness_invoice_id', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invoice_id')
    )
    op.create_index('ix_claim_timeliness_receipt_date', 'claim_timeliness', ['receipt_date'], unique=False)
    op.create_index('ix_claim_timeliness_info_received_date', 'claim_timeliness', ['info_received_date'], unique=False)
    op.create_index('ix_claim_timeliness_npi_receipt', 'claim_timeliness', ['billing_npi', 'receipt_date'], unique=False)
    op.create_index('ix_claim_timeliness_final_date', 'claim_timeliness', ['final_date'], unique=False)


def downgrade() -> None:
    op.drop_table('claim_timeliness')
    op.drop_table('event_idempotency_keys')
    op.drop_table('invoice_events')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('receipt_date_set_by')
