"""Workers (or replicas) starting at once against a new database: each start-up seeds the staff directory, the
token signing key and the active rule set; they take turns, so none fails on the others' rows."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from um_service.app import create_app
from um_service.db.models import ActiveRuleSet, Reviewer, ServiceKey, WorkQueue
from um_service.settings import Settings


@pytest.mark.commits
def test_workers_starting_together_on_an_empty_database_all_come_up(database: Any) -> None:
    starting = 4
    barrier = threading.Barrier(starting)

    def start() -> str:
        app = create_app(Settings(database_url=database.url, dispatcher=False))

        async def up_and_down() -> None:
            barrier.wait()
            async with app.router.lifespan_context(app):
                pass

        asyncio.run(up_and_down())
        key: str = app.state.token_key
        return key

    with ThreadPoolExecutor(starting) as pool:
        keys = list(pool.map(lambda _: start(), range(starting)))

    assert len(set(keys)) == 1  # every worker signs with the one stored key
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(ServiceKey)) == 1
        assert session.scalar(select(func.count()).select_from(ActiveRuleSet)) == 1
        assert session.scalar(select(func.count()).select_from(WorkQueue)) == 12  # rules/staff/staff.yaml
        assert session.scalar(select(func.count()).select_from(Reviewer)) == 4
