"""administrative decisions: case_items.decision_kind

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "administrative" (intake: coverage, exclusions), "clinical" (a medical director) or NULL (no denial).
    with op.batch_alter_table('case_items') as batch:
        batch.add_column(sa.Column('decision_kind', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_items') as batch:
        batch.drop_column('decision_kind')
