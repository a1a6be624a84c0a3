"""review routing subscriptions outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:41:33.455921
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queues',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('skills', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_queues'))
    )
    op.create_table('reviewers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=30), nullable=False),
    sa.Column('skills', sa.Text(), nullable=False),
    sa.Column('licensed_states', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('available', sa.Boolean(), nullable=False),
    sa.Column('npi', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviewers'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('endpoint', sa.String(length=2000), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('org_identifiers', sa.Text(), nullable=False),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resource', sa.Text(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_outbox_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_subscription_id'), ['subscription_id'], unique=False)

    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorized_quantity', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('reason_code', sa.String(length=20), nullable=True))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_of_business', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('member_state', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('queue', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('required_skills', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('review_priority', sa.String(length=20), nullable=False, server_default='routine'))
        batch_op.add_column(sa.Column('assignee', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('extension_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('near_breach', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('p2p_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('p2p_contact', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_queue'), ['queue'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_reviewers'), 'reviewers', ['assignee'], ['id'])
        batch_op.create_index('ix_cases_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_due_at')
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_reviewers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_queue'))
        batch_op.drop_index(batch_op.f('ix_cases_assignee'))
        batch_op.drop_column('decided_at')
        batch_op.drop_column('p2p_contact')
        batch_op.drop_column('p2p_at')
        batch_op.drop_column('near_breach')
        batch_op.drop_column('extension_reason')
        batch_op.drop_column('escalation_note')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('assignee')
        batch_op.drop_column('review_priority')
        batch_op.drop_column('required_skills')
        batch_op.drop_column('queue')
        batch_op.drop_column('member_state')
        batch_op.drop_column('line_of_business')

    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.drop_column('reason_code')
        batch_op.drop_column('authorized_quantity')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_subscription_id'))
        batch_op.drop_index('ix_outbox_status_next_attempt_at')

    op.drop_table('outbox')
    op.drop_table('subscriptions')
    op.drop_table('reviewers')
    op.drop_table('queues')
