"""The dashboard page in a real browser (headless Chromium, driven by Playwright): over the week of requests
test_dashboard builds, a nurse signs in on the work list, opens the dashboard in the same tab, and sees the cards,
the server-drawn charts and the tables of their numbers; the period selector reloads them from the keyboard."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_browser import CHROMIUM, SECRET, accessible, serve
from test_browser import pytestmark as browser_marks
from test_dashboard import build_week

from um_service.app import create_app
from um_service.auth import clients
from um_service.settings import Settings

from conftest import AuthClient, Clock

# Chromium, the commits mark and the staff secret are the work-list page's (test_browser).
pytestmark = browser_marks


@pytest.fixture
def server(migrated: str, database: Any) -> Iterator[tuple[str, Any, Clock]]:
    """The app served by uvicorn on its own port, on a clock the test sets."""
    clock = Clock()
    app = create_app(Settings(database_url=migrated, dispatcher=False), clock=clock)
    with serve(app) as base:
        yield base, app, clock


def test_a_nurse_opens_the_dashboard_and_reads_its_cards_charts_and_tables(
    server: tuple[str, Any, Clock], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app, clock = server
    build_week(AuthClient(app, clock), clock)  # through the same app, in process; the clock ends at 2026-11-23 09:00
    with app.state.database.transaction() as session:
        clients.register(session, client_id="nurse-carmen", role="nurse", secret=SECRET, now=clock.now)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/ui/dashboard")
        expect(page.locator("#signed-out")).to_contain_text("Sign in on the work list")

        page.goto(f"{base}/ui")
        page.fill("#client-id", "nurse-carmen")
        page.fill("#client-secret", SECRET)
        page.click("#sign-in")
        expect(page.locator("#who")).to_contain_text("nurse-carmen")
        page.goto(f"{base}/ui/dashboard")

        expect(page.locator("#period")).to_contain_text("2026-10-25 to 2026-11-23 (30 days, UTC)")
        expect(page.locator("#card-open")).to_have_text("2")
        expect(page.locator("#card-overdue")).to_have_text("1")
        expect(page.locator("#card-near")).to_have_text("1")
        expect(page.locator("#card-automation")).to_contain_text("57.1%")
        expect(page.locator("#card-automation")).to_contain_text("4 of 7 items decided")
        for title in (
            "Requests received per day",
            "Items decided by automation, share per day",
            "Decisions per reviewer",
        ):
            expect(page.get_by_role("heading", name=title)).to_be_visible()
        expect(page.get_by_role("img", name="Requests received, by queue")).to_be_visible()
        queues = page.locator("#chart-received-by-queue tbody")
        expect(queues.locator("th")).to_have_text(["no review", "general-um", "medical-director-review"])
        expect(queues.locator("td")).to_have_text(["5", "3", "1"])
        reviewers = page.locator("#chart-reviewers tbody tr")
        expect(reviewers.first.locator("th")).to_have_text("nurse-carmen")
        expect(reviewers.first.locator("td").last).to_have_text("2")
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        accessible(page)

        page.focus("#days")
        page.keyboard.press("ArrowUp")  # from 30 days to 7, with the keyboard alone
        expect(page.locator("#period")).to_contain_text("2026-11-17 to 2026-11-23 (7 days, UTC)")
        assert page.url.endswith("/ui/dashboard?days=7")
        expect(page.locator("#chart-received-by-day tbody tr")).to_have_count(7)
        expect(page.locator("#card-automation")).to_contain_text("50%")
        page.screenshot(path=str(tmp_path / "dashboard-7-days.png"), full_page=True)
        browser.close()
