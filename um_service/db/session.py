"""Engines and units of work: one transaction per request, committed before the answer leaves.

SQLite serves one process: every transaction begins IMMEDIATE, so writers queue for the lock instead of failing
half-way with "database is locked". PostgreSQL serves many workers with ordinary READ COMMITTED transactions;
races are settled by unique constraints and row locks in the domain code.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """An engine for `url` with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _serialize_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _serialize_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE and SAVEPOINTs behave.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    # Threads of this process queue on a lock for the write transaction: SQLite's own busy handler makes a waiter
    # sleep in growing steps (up to 100 ms at a time), which at 8 concurrent requests cost seconds at p99. Other
    # processes (the CLI beside a running server) still queue on SQLite's lock and its busy timeout.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Past the timeout, fall through to SQLite's own waiting (what happened before this lock).
        connection.info["writer"] = writer.acquire(timeout=30)
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Any) -> None:
        if connection.info.pop("writer", False):
            writer.release()


# The advisory lock key of `Database.one_at_a_time` (any number the deployment's processes agree on).
_ONE_AT_A_TIME = 0x756D5F7374617274  # "um_start"


class Database:
    """The engine and session factory of one application instance."""

    def __init__(self, url: str, *, connection: Connection | None = None):
        self.url = url
        self._owned = connection is None
        if connection is None:
            self.engine = make_engine(url)
            self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        else:
            # Every session joins the caller's open transaction through a savepoint: a test rolls it all back.
            self.engine = connection.engine
            self._sessions = sessionmaker(
                bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
            )

    def session(self) -> Session:
        """A new session; its transaction begins with its first statement (the request's unit of work)."""
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits when the block ends, or rolls back if it raises. Like the request's unit of
        work, the block may roll back and start again itself (intake does, after losing a race)."""
        with self._sessions() as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise
            session.commit()

    @contextmanager
    def one_at_a_time(self) -> Iterator[Session]:
        """A transaction that runs alone among those that ask for it (start-ups of several workers or replicas
        seeding one database): on PostgreSQL a lock held until it ends; SQLite's writers already queue."""
        with self.transaction() as session:
            if self.engine.dialect.name == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ONE_AT_A_TIME})
            yield session

    def ping(self) -> None:
        """Ask the database for one row (raises SQLAlchemyError when it does not answer)."""
        with self._sessions() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection (a database bound to the caller's connection leaves it to the caller)."""
        if self._owned:
            self.engine.dispose()
