"""Concurrent review: an admission's dates and days requested, authorized and used, and its next review date

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('admitted_on', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('discharged_on', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('days_requested', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('days_authorized', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('days_used', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('next_review_on', sa.String(length=10), nullable=True))
    op.create_index('ix_cases_next_review_on', 'cases', ['next_review_on'])


def downgrade() -> None:
    op.drop_index('ix_cases_next_review_on', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        for column in ('next_review_on', 'days_used', 'days_authorized', 'days_requested', 'discharged_on',
                       'admitted_on'):
            batch.drop_column(column)
