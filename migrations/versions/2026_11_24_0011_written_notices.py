"""Written notices of denials and partial approvals, kept as issued

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 00:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_notices',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('audience', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('appeal_by', sa.String(length=10), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_notices_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notices'))
    )
    op.create_index('ix_case_notices_case_id', 'case_notices', ['case_id'])


def downgrade() -> None:
    op.drop_index('ix_case_notices_case_id', table_name='case_notices')
    op.drop_table('case_notices')
