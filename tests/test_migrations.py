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
