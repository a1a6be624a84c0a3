"""rule decisions and rule set versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:26:27.659887
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rule_set_versions',
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('first_loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('files', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_rule_set_versions'))
    )
    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('skills', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('review_priority', sa.String(length=20), nullable=False, server_default='routine'))
        batch_op.add_column(sa.Column('rule_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('ruleset_version', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('trace', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('documents', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('authorized_start', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('authorized_end', sa.String(length=10), nullable=True))

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ruleset_version', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('ruleset_version')

    with op.batch_alter_table('case_items', schema=None) as batch_op:
        batch_op.drop_column('authorized_end')
        batch_op.drop_column('authorized_start')
        batch_op.drop_column('documents')
        batch_op.drop_column('trace')
        batch_op.drop_column('ruleset_version')
        batch_op.drop_column('rule_id')
        batch_op.drop_column('review_priority')
        batch_op.drop_column('skills')

    op.drop_table('rule_set_versions')
