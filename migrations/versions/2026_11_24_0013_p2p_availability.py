"""Peer-to-peer availability: slots medical directors publish, and the case booked into each

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('p2p_slots',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('reviewer_id', sa.String(length=100), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('case_id', sa.String(length=36), nullable=True),
    sa.Column('returns_to', sa.String(length=30), nullable=True),
    sa.Column('contact', sa.String(length=300), nullable=True),
    sa.Column('join_instructions', sa.Text(), nullable=True),
    sa.Column('booked_by', sa.String(length=100), nullable=True),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['reviewers.id'], name=op.f('fk_p2p_slots_reviewer_id_reviewers')),
    sa.ForeignKeyConstraint(
        ['case_id'], ['cases.id'], name=op.f('fk_p2p_slots_case_id_cases'), ondelete='SET NULL'
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_p2p_slots'))
    )
    op.create_index('ix_p2p_slots_case_id', 'p2p_slots', ['case_id'])
    op.create_index('ix_p2p_slots_reviewer_id_starts_at', 'p2p_slots', ['reviewer_id', 'starts_at'])


def downgrade() -> None:
    op.drop_index('ix_p2p_slots_reviewer_id_starts_at', table_name='p2p_slots')
    op.drop_index('ix_p2p_slots_case_id', table_name='p2p_slots')
    op.drop_table('p2p_slots')
