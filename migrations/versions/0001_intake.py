"""Intake: invoices, their lines, idempotency keys, counted rejections

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('intake_rejections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rejected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('billing_npi', sa.String(length=10), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('intake_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_rejections_billing_npi'), ['billing_npi'], unique=False)
        batch_op.create_index(batch_op.f('ix_intake_rejections_rejected_at'), ['rejected_at'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('billing_npi', sa.String(length=10), nullable=False),
    sa.Column('invoice_number', sa.String(length=20), nullable=False),
    sa.Column('member_cin', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('programs', sa.String(length=10), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('receipt_date', sa.Date(), nullable=False),
    sa.Column('invoice_date', sa.Date(), nullable=False),
    sa.Column('invoice_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('billing_npi', 'invoice_number', name='uq_invoices_billing_npi_number'),
    sa.UniqueConstraint('public_id')
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_billing_npi'), ['billing_npi'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_member_cin'), ['member_cin'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_receipt_date'), ['receipt_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoices_status'), ['status'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('invoice_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('line_number', sa.Integer(), nullable=False),
    sa.Column('billing_npi', sa.String(length=10), nullable=False),
    sa.Column('member_cin', sa.String(length=9), nullable=False),
    sa.Column('procedure_code', sa.String(length=5), nullable=False),
    sa.Column('modifiers', sa.String(length=11), nullable=False),
    sa.Column('modifiers_key', sa.String(length=11), nullable=False),
    sa.Column('service_start_date', sa.Date(), nullable=False),
    sa.Column('service_end_date', sa.Date(), nullable=False),
    sa.Column('unit_count', sa.Numeric(precision=15, scale=3), nullable=False),
    sa.Column('unit_cost', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('charge_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('place_of_service', sa.String(length=2), nullable=False),
    sa.Column('program', sa.String(length=3), nullable=False),
    sa.Column('encounter_unit', sa.String(length=20), nullable=False),
    sa.Column('encounter_units', sa.Numeric(precision=15, scale=3), nullable=False),
    sa.Column('code_table_version', sa.String(length=40), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('invoice_id', 'line_number', name='uq_invoice_lines_invoice_line')
    )
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_lines_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('uq_invoice_lines_active_service', ['member_cin', 'billing_npi', 'procedure_code', 'modifiers_key', 'service_start_date', 'service_end_date'], unique=True, sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))



def downgrade() -> None:
    with op.batch_alter_table('invoice_lines', schema=None) as batch_op:
        batch_op.drop_index('uq_invoice_lines_active_service', sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))
        batch_op.drop_index(batch_op.f('ix_invoice_lines_invoice_id'))

    op.drop_table('invoice_lines')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_status'))
        batch_op.drop_index(batch_op.f('ix_invoices_receipt_date'))
        batch_op.drop_index(batch_op.f('ix_invoices_member_cin'))
        batch_op.drop_index(batch_op.f('ix_invoices_billing_npi'))

    op.drop_table('invoices')
    with op.batch_alter_table('intake_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_rejections_rejected_at'))
        batch_op.drop_index(batch_op.f('ix_intake_rejections_billing_npi'))

    op.drop_table('intake_rejections')
