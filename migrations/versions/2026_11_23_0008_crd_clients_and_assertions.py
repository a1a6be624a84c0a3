"""CRD: EHR clients (issuer, JWKS URL, FHIR servers) and the coverage assertions CDS Hooks calls made

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients') as batch:
        batch.add_column(sa.Column('issuer', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('jwks_url', sa.Text(), nullable=True))
        batch.add_column(sa.Column('fhir_servers', sa.Text(), nullable=True))
        batch.create_index('ix_clients_issuer', ['issuer'], unique=True)
    op.create_table('crd_assertions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('hook', sa.String(length=50), nullable=False),
    sa.Column('hook_instance', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.String(length=100), nullable=True),
    sa.Column('coverage', sa.String(length=500), nullable=True),
    sa.Column('order', sa.String(length=500), nullable=False),
    sa.Column('codes', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crd_assertions'))
    )
    op.create_index('ix_crd_assertions_member_id', 'crd_assertions', ['member_id'])
    op.create_index('ix_crd_assertions_created_at', 'crd_assertions', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_crd_assertions_created_at', table_name='crd_assertions')
    op.drop_index('ix_crd_assertions_member_id', table_name='crd_assertions')
    op.drop_table('crd_assertions')
    with op.batch_alter_table('clients') as batch:
        batch.drop_index('ix_clients_issuer')
        batch.drop_column('fhir_servers')
        batch.drop_column('jwks_url')
        batch.drop_column('issuer')
