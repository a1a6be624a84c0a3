"""The schema comes only from the migrations, and the migrations match the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from um_service.db.models import Base
from um_service.db.session import make_engine


def test_the_migrated_schema_matches_the_models(migrated: str) -> None:
    engine = make_engine(migrated)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()

    assert differences == []


def test_db_upgrade_logs_the_migrations_and_not_alembics_plugins(tmp_path: Path) -> None:
    environment = {**os.environ, "UM_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "um_service", "db", "upgrade"], env=environment, capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    assert "Running upgrade  -> 0001, initial case store" in done.stderr
    assert "alembic.runtime.plugins" not in done.stderr
    assert "setup plugin" not in done.stderr


def test_the_open_cases_index_covers_exactly_the_open_states() -> None:
    # Autogenerate does not compare a partial index's predicate: the model and migration 0016 must say the same.
    import importlib.util

    from um_service.db.models import OPEN_CASES
    from um_service.settings import REPO_ROOT

    path = REPO_ROOT / "migrations" / "versions" / "2026_11_24_0016_scale_indexes.py"
    spec = importlib.util.spec_from_file_location("scale_indexes", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    written: str = migration.OPEN_CASES

    assert written == str(OPEN_CASES)
