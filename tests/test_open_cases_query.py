"""Open cases are selected with the open states written into the SQL, so that a prepared statement's generic plan
can still use the open-cases partial index (db/models.py `is_open`).

With the states as bound parameters, psycopg's automatic prepare (after five runs) let PostgreSQL switch the work
list's search to a generic plan that scanned every case: bench/scale.py showed 12 ms, then 58-83 ms at 100 k cases.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql

from um_service.db.models import Case, is_open
from um_service.review import routing


def test_the_open_states_are_written_into_the_statement_not_bound() -> None:
    compiled = select(Case.id).where(is_open()).compile(dialect=postgresql.dialect())

    assert "cases.status IN ('escalated', 'in_md_review', 'in_review', 'info_requested', 'p2p_scheduled', " in str(
        compiled
    )
    assert "'pended', 'received')" in str(compiled)
    assert compiled.params == {}


def test_a_generic_plan_of_the_work_lists_open_cases_uses_the_open_cases_index(database: Any) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL plans prepared statements generically; SQLite has no plan cache")
    statement = select(Case.id).where(is_open()).order_by(Case.due_at, Case.id).limit(50)
    # Compiled as the driver sends it: what is bound becomes $n, as in the statement psycopg prepares.
    compiled = statement.compile(
        dialect=postgresql.dialect(paramstyle="numeric_dollar"), compile_kwargs={"render_postcompile": True}
    )
    values = [compiled.params[name] for name in compiled.positiontup or []]
    arguments = ", ".join(str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'" for v in values)
    with database.transaction() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))  # an empty test table would be scanned anyway
        session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        connection = session.connection()
        connection.exec_driver_sql(f"PREPARE open_cases AS {compiled}")
        rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE open_cases({arguments})").all()
        connection.exec_driver_sql("DEALLOCATE open_cases")
    plan = "\n".join(row[0] for row in rows)

    assert "ix_cases_open_due_at" in plan


def _plan_of_open_count(database: Any, reviewer_id: str) -> str:
    """The plan the database makes for the statement routing.open_count sends (captured as sent)."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    with database.transaction() as session:
        event.listen(database.engine, "before_cursor_execute", capture)
        try:
            assert routing.open_count(session, reviewer_id) == 0
        finally:
            event.remove(database.engine, "before_cursor_execute", capture)
        (statement, parameters), *_ = [s for s in sent if "count(" in s[0]]
        connection = session.connection()
        if database.engine.dialect.name == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))  # an empty test table would be scanned anyway
            session.execute(text("SET LOCAL enable_bitmapscan = off"))
            rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            return "\n".join(row[0] for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
        return "\n".join(str(row[-1]) for row in rows)


def test_a_reviewers_held_cases_are_counted_among_her_open_ones_not_all_she_ever_held(database: Any) -> None:
    # `next case` counts what the reviewer holds against her capacity. By `assignee` alone that read every case she
    # ever held (decided ones keep their reviewer): at 100 k cases, 24,750 of them for one nurse, 2.3 ms; the
    # reviewer's index carries the status, so only her open cases are read (0.04 ms; migration 0017).
    plan = _plan_of_open_count(database, "nurse-ada")

    assert "ix_cases_assignee" in plan
    if database.engine.dialect.name == "postgresql":
        # The status is read from the index (an empty table's plan filters there; at 100 k it is an index condition).
        assert "Index Only Scan using ix_cases_assignee" in plan
    else:
        assert "(assignee=? AND status=?)" in plan
