"""Running the Alembic migrations programmatically (the CLI, tests and start-up all go through here)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_config(url: str, migrations_dir: Path) -> Config:
    """An Alembic config pointing at our migrations and this database."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, migrations_dir: Path, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(url, migrations_dir), revision)


def unready(url: str) -> str | None:
    """Why the database at `url` cannot be used yet (missing, or never migrated), or None; creates nothing."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).is_file():
        return f"no database at {parsed.database}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return "the database has no schema"
    finally:
        engine.dispose()
    return None
