"""INSERT statements: the tables of mapped classes, and inserts that settle a conflict in the database (both backends
speak ON CONFLICT)."""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

from sqlalchemy import Column, Insert, MetaData, Table, insert, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached


def table_of(model: type[Any]) -> Table:
    """A mapped class's table, typed as one (`Model.__table__` is typed as a FromClause)."""
    table: Table = model.__table__
    return table


def insert_for(session: Session, table: Table) -> Any:
    """The dialect's INSERT for `table` (it has on_conflict_do_nothing / on_conflict_do_update)."""
    return _dialect_insert(session.get_bind().dialect.name, table)


def _dialect_insert(dialect: str, table: Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def insert_if_new(session: Session, table: Table, row: dict[str, Any]) -> bool:
    """Insert `row` unless its key is taken; whether it was inserted (one statement, no savepoint)."""
    statement = _insert_if_new(session.get_bind().dialect.name, table)
    return session.execute(statement, row).first() is not None


@functools.cache
def _insert_if_new(dialect: str, table: Table) -> Any:
    """The INSERT ... ON CONFLICT DO NOTHING of `table`, built once (every CDS Hooks call records its JWT's id)."""
    # RETURNING, not rowcount: psycopg reports -1 for a statement run through the ORM session.
    key = next(iter(table.primary_key.columns))
    return _dialect_insert(dialect, table).on_conflict_do_nothing().returning(key)


def insert_new(session: Session) -> None:
    """INSERT the objects added to the session since its last flush: one statement per table and set of columns,
    parent tables first, as the unit of work's flush would, without its per-object bookkeeping (about a tenth of a
    new request's $submit). The rows are then in the session as if just loaded; a row whose key the database assigns
    (an audit row) is written and let go, as nothing reads it back in the request that wrote it."""
    new = list(session.new)
    if not new:
        return
    by_table: dict[Table, list[Any]] = defaultdict(list)
    for obj in new:
        by_table[table_of(type(obj))].append(obj)
    connection = session.connection()
    for table in sorted(by_table, key=_parents_first(next(iter(by_table)).metadata).__getitem__):
        batches: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for obj in by_table[table]:
            row = _row_of(obj)
            batches[tuple(row)].append(row)
        for rows in batches.values():
            connection.execute(insert_into(table), rows)
    for obj in new:
        session.expunge(obj)
        if None not in inspect(obj).mapper.primary_key_from_instance(obj):
            make_transient_to_detached(obj)
            session.add(obj)


@functools.cache
def _parents_first(metadata: MetaData) -> dict[Table, int]:
    """Each table's place in an order where a table comes after those its foreign keys name."""
    return {table: place for place, table in enumerate(metadata.sorted_tables)}


@functools.cache
def insert_into(table: Table) -> Insert:
    """The plain INSERT of `table`, one object kept per table: a statement object remembers its cache key, which is
    computed anew for each new `insert(table)`."""
    return insert(table)


def _row_of(obj: Any) -> dict[str, Any]:
    """The column values of a new object, its columns' Python defaults filled in (on the object too); a key left to
    the database (autoincrement) is left out."""
    row: dict[str, Any] = {}
    for prop in inspect(obj).mapper.column_attrs:
        column: Column[Any] = prop.columns[0]
        value = obj.__dict__.get(prop.key)
        if value is None and column.default is not None:
            default: Any = column.default
            value = default.arg(None) if default.is_callable else default.arg
            setattr(obj, prop.key, value)
        if value is None and column.primary_key and column.autoincrement in (True, "auto"):
            continue
        row[column.key] = value
    return row
