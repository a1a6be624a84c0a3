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
        expect(page.locator(".notices")).to_contain_text("notice to the provider")
        expect(page.locator(".notices")).to_contain_text("notice to the member")
        page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
        browser.close()


def test_a_nurse_sees_the_form_answers_and_opens_the_documents_sent_for_a_case(
    server: tuple[str, Any], tmp_path: Path
) -> None:
    import base64

    from playwright.sync_api import expect, sync_playwright
    from test_attachments import parameters
    from test_dtr_adaptive import lumbar_mri_with

    from um_service.decision.testcases import questionnaire_response

    base, app = server
    now = dt.datetime.now(dt.UTC)
    with app.state.database.transaction() as session:
        clients.register(session, client_id="nurse-ada", role="nurse", secret=SECRET, now=now)
    provider = Identity("ehr", "provider", "1234567893", None)
    token = tokens.issue(
        provider, tokens.grant(provider, None), key=app.state.token_key, now=now, lifetime=dt.timedelta(minutes=5)
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    form = questionnaire_response({"conservative-therapy-weeks": 3, "red-flag": "none"}, "Patient/x")
    form["item"][0]["text"] = "Weeks of conservative therapy completed"
    form["item"][1]["text"] = "Spinal red flag"
    request = lumbar_mri_with(form)
    answer = httpx.post(f"{base}/fhir/Claim/$submit", content=orjson.dumps(request), headers=headers).json()
    preauth_ref = answer["entry"][0]["resource"]["preAuthRef"]
    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF"
    notes = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode()}}],
    }
    # An earlier imaging report, not the progress notes the item waits for: the case stays with the nurse.
    body = parameters(preauth_ref, notes, member="MBR-TEST-1", final=False)
    body["parameter"][4]["part"][1]["valueCodeableConcept"]["coding"][0]["code"] = "18748-4"
    sent = httpx.post(f"{base}/fhir/$submit-attachment", content=orjson.dumps(body), headers=headers)
    assert sent.status_code == 200, sent.text

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/ui")
        page.fill("#client-id", "nurse-ada")
        page.fill("#client-secret", SECRET)
        page.click("#sign-in")
        page.click(f"tr.case:has-text('{preauth_ref}')")
        expect(page.locator("#case-request .answers")).to_contain_text("Weeks of conservative therapy completed")
        expect(page.locator("#case-request .answers dd").first).to_have_text("3")
        expect(page.locator("#case-request .answers dd").nth(1)).to_have_text("none")
        expect(page.locator("#case-request .documents")).to_contain_text("LOINC 18748-4 for item(s) 1, application/pdf")
        with page.expect_popup() as opened:
            page.click(".open-document")
        assert opened.value.url.startswith("blob:")
        page.screenshot(path=str(tmp_path / "case-documents.png"), full_page=True)
        browser.close()


def test_a_nurse_authorizes_an_admission_and_sees_its_days_and_next_review(
    server: tuple[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright
    from test_concurrent_review import admission

    base, app = server
    now = dt.datetime.now(dt.UTC)
    with app.state.database.transaction() as session:
        clients.register(session, client_id="nurse-carmen", role="nurse", secret=SECRET, now=now)
    provider = Identity("ehr", "provider", "1234567893", None)
    token = tokens.issue(
        provider, tokens.grant(provider, None), key=app.state.token_key, now=now, lifetime=dt.timedelta(minutes=5)
    )
    start = now.date() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=4)
    answer = httpx.post(
        f"{base}/fhir/Claim/$submit",
        content=orjson.dumps(admission(start.isoformat(), end.isoformat(), diagnosis="J18.9")),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
    ).json()
    preauth_ref = answer["entry"][0]["resource"]["preAuthRef"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(f"{base}/ui")
        page.fill("#client-id", "nurse-carmen")
        page.fill("#client-secret", SECRET)
        page.click("#sign-in")
        page.click(f"tr.case:has-text('{preauth_ref}')")
        expect(page.locator(".stay")).to_contain_text(f"admitted {start.isoformat()}")
        expect(page.locator(".stay")).to_contain_text("Days requested 4, authorized -, used -.")
        page.click("#take")
        page.click("#approve")
        expect(page.locator("#case-status")).to_have_text("decided")
        expect(page.locator(".stay")).to_contain_text("Days requested 4, authorized 4, used -.")
        expect(page.locator(".stay")).to_contain_text(f"Next review {end.isoformat()}")
        page.screenshot(path=str(tmp_path / "case-stay.png"), full_page=True)
        browser.close()
