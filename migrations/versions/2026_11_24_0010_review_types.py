"""Review types: a case is prospective, concurrent or retrospective

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24 00:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(
            sa.Column('review_type', sa.String(length=20), nullable=False, server_default='prospective')
        )


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('review_type')
