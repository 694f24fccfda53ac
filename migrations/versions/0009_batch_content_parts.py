"""A released batch's 837P bytes in pieces (batch_content_parts) and its claims' positions one JSON array per
transaction set (batch_claim_parts), so that neither the cut nor a download holds the whole file or every claim in
memory. batches.content and batches.validation["claims"] stay for batches released before this revision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'batch_content_parts',
        sa.Column('batch_id', sa.Integer(), sa.ForeignKey('batches.id'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('batch_id', 'seq'),
    )
    op.create_table(
        'batch_claim_parts',
        sa.Column('batch_id', sa.Integer(), sa.ForeignKey('batches.id'), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('claims', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('batch_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('batch_claim_parts')
    op.drop_table('batch_content_parts')
