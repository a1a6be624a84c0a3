"""Fewer index writes per change: indexes another one already holds are dropped, and the indexes of columns most
cases leave empty (queue, assignee, concurrent review date) hold only the rows that set them

A new auto-approved request wrote some 44 pages to SQLite's log before this (bench/stages_submit.py), each index it
touches at least one; every status change wrote two status indexes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

# Each index by its columns; the first one is set in every row it holds. A reviewer's open cases are found with
# the status beside her id, not by reading every case she ever held (routing.open_count, at each `next case`).
_SET = {'queue': ['queue'], 'assignee': ['assignee', 'status'], 'next_review_on': ['next_review_on']}


def upgrade() -> None:
    # ix_cases_status_due_at starts with status; the unique (case_id, role, system, value) starts with case_id.
    op.drop_index('ix_cases_status', table_name='cases')
    op.drop_index('ix_case_parties_case_id', table_name='case_parties')
    for column, columns in _SET.items():
        op.drop_index(f'ix_cases_{column}', table_name='cases')
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(f'ix_cases_{column}', 'cases', columns, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for column in _SET:
        op.drop_index(f'ix_cases_{column}', table_name='cases')
        op.create_index(f'ix_cases_{column}', 'cases', [column])
    op.create_index('ix_case_parties_case_id', 'case_parties', ['case_id'])
    op.create_index('ix_cases_status', 'cases', ['status'])
