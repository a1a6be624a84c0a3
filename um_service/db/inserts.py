"""INSERT statements: the tables of mapped classes, and inserts that settle a conflict in the database (both backends
speak ON CONFLICT)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, typed as one (`Model.__table__` is typed as a FromClause)."""
    table: Table = model.__table__
    return table


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's INSERT for `table` (it has on_conflict_do_nothing / on_conflict_do_update)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def insert_if_new(session: Session, table: Table, row: dict[str, Any]) -> bool:
    """Insert `row` unless its key is taken; whether it was inserted (one statement, no savepoint)."""
    # RETURNING, not rowcount: psycopg reports -1 for a statement run through the ORM session.
    key = next(iter(table.primary_key.columns))
    statement = insert_for(session, table).values(**row).on_conflict_do_nothing().returning(key)
    return session.execute(statement).first() is not None
