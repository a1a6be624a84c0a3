"""Scale indexes: every read the scale bench runs finds its rows by an index, not by scanning all history

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-24 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# case/status.py OPEN, as um_service/db/models.py OPEN_CASES writes it.
OPEN_CASES = (
    "status IN ('escalated', 'in_md_review', 'in_review', 'info_requested', 'p2p_scheduled', 'pended', 'received')"
)


def upgrade() -> None:
    # The CMS report, the dashboard and the operations figures select cases, items and audit events by period.
    op.create_index('ix_cases_decided_at', 'cases', ['decided_at'])
    op.create_index('ix_case_items_updated_at', 'case_items', ['updated_at'])
    op.create_index('ix_audit_events_at', 'audit_events', ['at'])
    # $inquire and ClaimResponse search look a Claim identifier up by value (and system), whoever submitted it.
    op.create_index('ix_case_identifiers_value_system', 'case_identifiers', ['value', 'system'])
    # The work list's open cases by due time; `due_at` alone walks the closed history first.
    op.create_index(
        'ix_cases_open_due_at',
        'cases',
        ['due_at', 'id'],
        postgresql_where=sa.text(OPEN_CASES),
        sqlite_where=sa.text(OPEN_CASES),
    )


def downgrade() -> None:
    op.drop_index('ix_cases_open_due_at', table_name='cases')
    op.drop_index('ix_case_identifiers_value_system', table_name='case_identifiers')
    op.drop_index('ix_audit_events_at', table_name='audit_events')
    op.drop_index('ix_case_items_updated_at', table_name='case_items')
    op.drop_index('ix_cases_decided_at', table_name='cases')
