"""Work-list columns: who the request is for and from, and what it asks for, so the list shows and searches them

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('patient_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('member_id', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('provider_name', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('service_codes', sa.Text(), nullable=True))
        batch.add_column(sa.Column('service_from', sa.String(length=10), nullable=True))
    op.create_index('ix_cases_member_id', 'cases', ['member_id'])
    op.create_index('ix_cases_received_at', 'cases', ['received_at'])


def downgrade() -> None:
    op.drop_index('ix_cases_received_at', table_name='cases')
    op.drop_index('ix_cases_member_id', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        for column in ('service_from', 'service_codes', 'provider_name', 'member_id', 'patient_name'):
            batch.drop_column(column)
