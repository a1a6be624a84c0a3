"""The work-list page in a real browser: headless Chromium (Debian's), driven by Playwright. A nurse signs in, takes
a pended case, requests documents and escalates; a medical director signs in and denies with a reason; the page
shows the new state."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from test_review_flow import oncology_request

from um_service.app import create_app
from um_service.auth import clients, tokens
from um_service.auth.clients import Identity
from um_service.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium on this machine: install Debian's 'chromium' package to run the browser test",
    ),
    # The page is served by uvicorn in another thread with its own connections: it needs committed data.
    pytest.mark.commits,
]
SECRET = "a-long-staff-secret-for-tests"


@pytest.fixture
def server(migrated: str, database: Any) -> Iterator[tuple[str, Any]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(database_url=migrated, dispatcher=False))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/live").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield base, app
    finally:
        running.should_exit = True
        thread.join(10)


def test_a_nurse_and_a_medical_director_work_a_case_in_the_browser(server: tuple[str, Any], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, app = server
    now = dt.datetime.now(dt.UTC)
    with app.state.database.transaction() as session:
        clients.register(session, client_id="nurse-carmen", role="nurse", secret=SECRET, now=now)
        clients.register(session, client_id="md-diaz", role="medical_director", secret=SECRET, now=now)
    provider = Identity("ehr", "provider", "1234567893", None)
    token = tokens.issue(
        provider, tokens.grant(provider, None), key=app.state.token_key, now=now, lifetime=dt.timedelta(minutes=5)
    )
    answer = httpx.post(
        f"{base}/fhir/Claim/$submit",
        content=orjson.dumps(oncology_request()),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    ).json()
    preauth_ref = answer["entry"][0]["resource"]["preAuthRef"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()

        def sign_in(client_id: str) -> None:
            page.goto(f"{base}/ui")
            page.fill("#client-id", client_id)
            page.fill("#client-secret", SECRET)
            page.click("#sign-in")
            expect(page.locator("#who")).to_contain_text(client_id)

        sign_in("nurse-carmen")
        page.click(f"tr.case:has-text('{preauth_ref}')")
        expect(page.locator("#case-status")).to_have_text("pended")
        expect(page.locator("#case-request")).to_contain_text("Jane Doe")
        expect(page.locator("#deny-box")).to_be_hidden()
        page.click("#take")
        expect(page.locator("#case-status")).to_have_text("in_review")
        page.fill("#doc-loinc", "11488-4")
        page.fill("#doc-description", "Oncology consult note with the regimen")
        page.click("#request-info")
        expect(page.locator("#case-status")).to_have_text("info_requested")
        page.fill("#escalate-note", "Dose above compendia; please review.")
        page.click("#escalate")
        expect(page.locator("#case-status")).to_have_text("escalated")
        page.click("#sign-out")

        sign_in("md-diaz")
        page.click(f"tr.case:has-text('{preauth_ref}')")
        expect(page.locator("#case-status")).to_have_text("escalated")
        page.click("#take")
        expect(page.locator("#case-status")).to_have_text("in_md_review")
        page.click("#deny")  # without a reason: refused, and the page says why
        expect(page.locator("#action-error")).not_to_be_empty()
        page.fill("#deny-code", "0U")
        page.fill("#deny-text", "The requested dose exceeds the compendia-supported dose.")
        page.click("#deny")
        expect(page.locator("#case-status")).to_have_text("decided")
        expect(page.locator("#case-items .review-action")).to_contain_text("A3")
        expect(page.locator("#case-items .review-action")).to_contain_text("clinical")
        expect(page.locator("#case-history")).to_contain_text("denied")
        page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
        browser.close()
