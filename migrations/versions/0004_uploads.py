"""Spreadsheet uploads: upload records, rows and problems, job progress

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'uploads',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('caller_role', sa.String(length=20), nullable=False),
        sa.Column('caller_npis', sa.JSON(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('file_format', sa.String(length=4), nullable=False),
        sa.Column('mode', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('worker_id', sa.String(length=80), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sheet_name', sa.String(length=100), nullable=True),
        sa.Column('header_row', sa.Integer(), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('rows_estimate', sa.Integer(), nullable=False),
        sa.Column('rows_total', sa.Integer(), nullable=True),
        sa.Column('rows_read', sa.Integer(), nullable=False),
        sa.Column('rows_validated', sa.Integer(), nullable=False),
        sa.Column('rows_stored', sa.Integer(), nullable=False),
        sa.Column('invoices_total', sa.Integer(), nullable=True),
        sa.Column('accepted', sa.Integer(), nullable=False),
        sa.Column('already_accepted', sa.Integer(), nullable=False),
        sa.Column('rejected', sa.Integer(), nullable=False),
        sa.Column('not_stored', sa.Integer(), nullable=False),
        sa.Column('errors', sa.Integer(), nullable=False),
        sa.Column('warnings', sa.Integer(), nullable=False),
        sa.Column('failure', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_uploads'),
        sa.UniqueConstraint('public_id', name='uq_uploads_public_id'),
    )
    op.create_index('ix_uploads_created_by', 'uploads', ['created_by'], unique=False)
    op.create_index('ix_uploads_status_heartbeat', 'uploads', ['status', 'heartbeat_at'], unique=False)

    op.create_table(
        'upload_files',
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name='fk_upload_files_upload_id', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('upload_id', name='pk_upload_files'),
    )

    op.create_table(
        'upload_invoices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('group_index', sa.Integer(), nullable=False),
        sa.Column('billing_npi', sa.String(length=20), nullable=True),
        sa.Column('invoice_number', sa.String(length=40), nullable=True),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('invoice_public_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name='fk_upload_invoices_upload_id',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_upload_invoices'),
        sa.UniqueConstraint('upload_id', 'group_index', name='uq_upload_invoices_group'),
    )
    op.create_index('ix_upload_invoices_upload_id', 'upload_invoices', ['upload_id'], unique=False)

    op.create_table(
        'upload_problems',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('upload_id', sa.Integer(), nullable=False),
        sa.Column('group_index', sa.Integer(), nullable=True),
        sa.Column('severity', sa.String(length=7), nullable=False),
        sa.Column('row_number', sa.Integer(), nullable=True),
        sa.Column('column_index', sa.Integer(), nullable=True),
        sa.Column('column_header', sa.String(length=255), nullable=True),
        sa.Column('field', sa.String(length=120), nullable=True),
        sa.Column('code', sa.String(length=60), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('allowed', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name='fk_upload_problems_upload_id',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_upload_problems'),
    )
    op.create_index('ix_upload_problems_upload_row', 'upload_problems', ['upload_id', 'row_number'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_upload_problems_upload_row', table_name='upload_problems')
    op.drop_table('upload_problems')
    op.drop_index('ix_upload_invoices_upload_id', table_name='upload_invoices')
    op.drop_table('upload_invoices')
    op.drop_table('upload_files')
    op.drop_index('ix_uploads_status_heartbeat', table_name='uploads')
    op.drop_index('ix_uploads_created_by', table_name='uploads')
    op.drop_table('uploads')
