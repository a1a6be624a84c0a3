"""Care-management referrals a rule asks for, and outbox messages to a configured endpoint (no subscription)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('care_referrals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('program', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rule_id', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.String(length=200), nullable=True),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_care_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_referrals')),
    sa.UniqueConstraint('case_id', 'sequence', 'program', name=op.f('uq_care_referrals_case_id_sequence_program'))
    )
    op.create_index('ix_care_referrals_created_at', 'care_referrals', ['created_at'])
    with op.batch_alter_table('outbox') as batch:
        batch.alter_column('subscription_id', existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column('endpoint', sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column('headers', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('headers')
        batch.drop_column('endpoint')
        batch.alter_column('subscription_id', existing_type=sa.String(length=36), nullable=False)
    op.drop_index('ix_care_referrals_created_at', table_name='care_referrals')
    op.drop_table('care_referrals')
