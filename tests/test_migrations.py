"""The schema comes only from the migrations, and the migrations match the models."""

from __future__ import annotations

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
