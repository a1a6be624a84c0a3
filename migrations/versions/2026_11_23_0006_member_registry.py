"""member registry

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('members',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('family', sa.String(length=200), nullable=True),
    sa.Column('given', sa.String(length=200), nullable=True),
    sa.Column('birth_date', sa.String(length=10), nullable=True),
    sa.Column('gender', sa.String(length=20), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members'))
    )
    op.create_table('member_coverages',
    sa.Column('member_id', sa.String(length=100), nullable=False),
    sa.Column('coverage_key', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('start', sa.String(length=10), nullable=False),
    sa.Column('end', sa.String(length=10), nullable=True),
    sa.Column('payor', sa.String(length=300), nullable=True),
    sa.Column('group_id', sa.String(length=100), nullable=True),
    sa.Column('plan', sa.String(length=100), nullable=True),
    sa.Column('relationship', sa.String(length=30), nullable=True),
    sa.Column('type_code', sa.String(length=50), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_coverages_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', 'coverage_key', name=op.f('pk_member_coverages'))
    )


def downgrade() -> None:
    op.drop_table('member_coverages')
    op.drop_table('members')
