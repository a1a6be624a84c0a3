"""Open cases are selected with the open states written into the SQL, so that a prepared statement's generic plan
can still use the open-cases partial index (db/models.py `is_open`).

With the states as bound parameters, psycopg's automatic prepare (after five runs) let PostgreSQL switch the work
list's search to a generic plan that scanned every case: bench/scale.py showed 12 ms, then 58-83 ms at 100 k cases.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from um_service.db.models import Case, is_open


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
