"""Encounters, batches, the control-number registry, acknowledgments; invoice versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('mode', sa.String(length=9), nullable=False),
    sa.Column('payer_id', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('release_seq', sa.BigInteger(), nullable=True),
    sa.Column('isa13', sa.BigInteger(), nullable=False),
    sa.Column('gs06', sa.BigInteger(), nullable=False),
    sa.Column('st02_first', sa.BigInteger(), nullable=False),
    sa.Column('transaction_count', sa.Integer(), nullable=False),
    sa.Column('claim_count', sa.Integer(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('encounter_count', sa.Integer(), nullable=False),
    sa.Column('total_charge', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('validation', sa.JSON(), nullable=False),
    sa.Column('ack_status', sa.String(length=10), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('public_id'),
    sa.UniqueConstraint('release_seq')
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_status'), ['status'], unique=False)

    counters = op.create_table('control_counters',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('next_value', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('wraps', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.bulk_insert(counters, [{"name": name, "next_value": 1, "wraps": 0}
                              for name in ("isa13", "gs06", "st02", "release_seq")])
    op.create_table('acknowledgments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('acknowledgments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_acknowledgments_batch_id'), ['batch_id'], unique=False)

    op.create_table('encounters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('frequency', sa.String(length=1), nullable=False),
    sa.Column('original_encounter_id', sa.Integer(), nullable=True),
    sa.Column('original_reference', sa.String(length=50), nullable=True),
    sa.Column('payer_id', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('clm01', sa.String(length=38), nullable=True),
    sa.Column('receiver_control_number', sa.String(length=50), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['original_encounter_id'], ['encounters.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('encounters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_encounters_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_encounters_invoice_id'), ['invoice_id'], unique=False)
        batch_op.create_index('ix_encounters_status_id', ['status', 'id'], unique=False)

    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces_invoice_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_invoices_billing_npi_number'), type_='unique')
        batch_op.create_index('uq_invoices_current_number', ['billing_npi', 'invoice_number'], unique=True, sqlite_where=sa.text("status = 'accepted'"), postgresql_where=sa.text("status = 'accepted'"))
        batch_op.create_foreign_key('fk_invoices_replaces_invoice_id', 'invoices', ['replaces_invoice_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invoices_replaces_invoice_id', type_='foreignkey')
        batch_op.drop_index('uq_invoices_current_number', sqlite_where=sa.text("status = 'accepted'"), postgresql_where=sa.text("status = 'accepted'"))
        batch_op.create_unique_constraint(batch_op.f('uq_invoices_billing_npi_number'), ['billing_npi', 'invoice_number'])
        batch_op.drop_column('replaces_invoice_id')

    with op.batch_alter_table('encounters', schema=None) as batch_op:
        batch_op.drop_index('ix_encounters_status_id')
        batch_op.drop_index(batch_op.f('ix_encounters_invoice_id'))
        batch_op.drop_index(batch_op.f('ix_encounters_batch_id'))

    op.drop_table('encounters')
    with op.batch_alter_table('acknowledgments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_acknowledgments_batch_id'))

    op.drop_table('acknowledgments')
    op.drop_table('control_counters')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_status'))

    op.drop_table('batches')
