"""The work-list page in a real browser: headless Chromium (Debian's), driven by Playwright. Before sign-in only the
sign-in form shows; a nurse's day (mine, open, read the documents, request the document the rule wants, escalate
with a note); a medical director's (reads the note first, denies with a reason picked from the plan's list, books a
peer-to-peer slot, sees the notices); an admission's stay. Each step saves a screenshot under the test's directory
and asserts on visible text; axe-core finds no serious or critical accessibility problem on the pages."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app served by uvicorn on a port of its own, in a thread; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
        yield base
    finally:
        running.should_exit = True
        thread.join(10)


@pytest.fixture
def server(migrated: str, database: Any) -> Iterator[tuple[str, Any]]:
    app = create_app(Settings(database_url=migrated, dispatcher=False))
    with serve(app) as base:
        yield base, app


def provider_token(app: Any) -> str:
    provider = Identity("ehr", "provider", "1234567893", None)
    now = dt.datetime.now(dt.UTC)
    return tokens.issue(
        provider, tokens.grant(provider, None), key=app.state.token_key, now=now, lifetime=dt.timedelta(minutes=5)
    )


def post_fhir(base: str, app: Any, path: str, document: Any) -> Any:
    headers = {"Authorization": f"Bearer {provider_token(app)}", "Content-Type": "application/fhir+json"}
    response = httpx.post(f"{base}{path}", content=orjson.dumps(document), headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def staff(app: Any, *client_ids: str) -> None:
    now = dt.datetime.now(dt.UTC)
    roles = {"md": "medical_director", "portal": "portal"}
    with app.state.database.transaction() as session:
        for client_id in client_ids:
            role = roles.get(client_id.split("-")[0], "nurse")
            clients.register(session, client_id=client_id, role=role, secret=SECRET, now=now)


def sign_in(page: Any, base: str, client_id: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base}/ui")
    page.fill("#client-id", client_id)
    page.fill("#client-secret", SECRET)
    page.click("#sign-in")
    expect(page.locator("#who")).to_contain_text(client_id)


def accessible(page: Any) -> None:
    """axe-core (through axe-playwright-python) finds no serious or critical problem on the page as it is."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], v["help"], len(v["nodes"])) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []


def browse(tmp_path: Path) -> Any:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(tmp_path / f"{next(step):02d}-{name}.png"), full_page=True)

    def close() -> None:
        browser.close()
        playwright.stop()

    return page, shot, close


def test_only_the_sign_in_form_shows_before_sign_in_and_a_portal_client_is_told_why_not(
    server: tuple[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, app = server
    staff(app, "portal-acme")
    page, shot, close = browse(tmp_path)
    try:
        page.goto(f"{base}/ui")
        expect(page.locator("#login")).to_be_visible()
        for hidden in ("#worklist-panel", "#case", "#nav", "#sign-out"):
            expect(page.locator(hidden)).to_be_hidden()
        expect(page.locator("body")).not_to_contain_text("Work list", use_inner_text=True)
        accessible(page)
        shot("sign-in")
        page.fill("#client-id", "portal-acme")
        page.fill("#client-secret", SECRET)
        page.click("#sign-in")
        expect(page.locator("#login-error")).to_have_text(
            "This page is for UM staff. Provider and portal clients use the FHIR API, not the work list."
        )
        expect(page.locator("#worklist-panel")).to_be_hidden()
        shot("portal-refused")
    finally:
        close()


def test_a_nurses_day_and_a_medical_directors_day(server: tuple[str, Any], tmp_path: Path) -> None:
    import base64

    from playwright.sync_api import expect
    from test_attachments import parameters
    from test_dtr_adaptive import lumbar_mri_with

    from um_service.decision.testcases import questionnaire_response

    base, app = server
    staff(app, "nurse-ada", "md-diaz")
    form = questionnaire_response({"conservative-therapy-weeks": 3, "red-flag": "none"}, "Patient/x")
    form["item"][0]["text"] = "Weeks of conservative therapy completed"
    form["item"][1]["text"] = "Spinal red flag"
    answer = post_fhir(base, app, "/fhir/Claim/$submit", lumbar_mri_with(form))
    preauth_ref = answer["entry"][0]["resource"]["preAuthRef"]
    from fpdf import FPDF

    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=14)
    document.cell(text="MRI lumbar spine, 2026-09-14: L4-L5 disc protrusion without nerve root compression.")
    pdf = bytes(document.output())
    report = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode()}}],
    }
    # An earlier imaging report, not the progress notes the item waits for: the case stays with the nurse.
    body = parameters(preauth_ref, report, member="MBR-TEST-1", final=False)
    body["parameter"][4]["part"][1]["valueCodeableConcept"]["coding"][0]["code"] = "18748-4"
    post_fhir(base, app, "/fhir/$submit-attachment", body)
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)

    page, shot, close = browse(tmp_path)
    try:
        # The nurse: her cases, the request, the documents, the document the rule asks for, then the escalation.
        sign_in(page, base, "nurse-ada")
        page.check("#mine")
        row = page.locator("#worklist tr", has_text=preauth_ref)
        expect(row).to_contain_text("Jane Doe")
        expect(row).to_contain_text("72148")
        expect(row).to_contain_text("offered to nurse-ada")
        accessible(page)
        shot("nurse-worklist")
        row.get_by_role("button", name=preauth_ref).click()
        expect(page.locator("#case-status")).to_have_text("waiting for a nurse")
        expect(page.locator("#case-summary")).to_contain_text("Jane Doe")
        expect(page.locator("#case-documents")).to_contain_text("Weeks of conservative therapy completed")
        expect(page.locator("#case-documents")).to_contain_text("LOINC 18748-4 for item(s) 1, application/pdf")
        expect(page.locator("#actions")).not_to_contain_text("Escalate")  # not hers to escalate before she takes it
        page.click("[data-act=take]")
        expect(page.locator("#message")).to_have_text("You took the case.")
        page.get_by_role("button", name="View").first.click()
        expect(page.locator("#viewer iframe")).to_have_attribute("title", "LOINC 18748-4")
        shot("nurse-document")
        page.click("#close-viewer")
        accessible(page)
        expect(page.locator("#doc-loinc")).to_have_value("11506-3")  # what the rule asked for
        shot("nurse-case")
        page.click("[data-act=request_info]")
        expect(page.locator("#message")).to_have_text("Document requested from the provider.")
        expect(page.locator("#case-status")).to_have_text("waiting for documents")
        page.fill("#escalate-note", "Three weeks of therapy only; red flags denied. Please review.")
        page.click("[data-act=escalate]")
        expect(page.locator("#case-status")).to_have_text("waiting for a medical director")
        expect(page.locator("#actions")).not_to_contain_text("Escalate")
        expect(page.locator("#actions")).not_to_contain_text("Take this case")
        accessible(page)
        shot("nurse-escalated")
        page.click("#sign-out")

        # The medical director: the nurse's note first, a denial with a listed reason, a peer-to-peer slot.
        slot = {
            "start": soon.isoformat(),
            "end": (soon + dt.timedelta(minutes=30)).isoformat(),
            "time_zone": "America/Chicago",
        }
        sign_in(page, base, "md-diaz")
        published = page.evaluate(
            """async (slot) => (await fetch('/um/availability', {method: 'POST', headers: {Authorization:
            `Bearer ${sessionStorage.getItem('um-token')}`, 'Content-Type': 'application/json'},
            body: JSON.stringify({slots: [slot]})})).status""",
            slot,
        )
        assert published == 201
        page.locator("#worklist tr", has_text=preauth_ref).get_by_role("button", name=preauth_ref).click()
        expect(page.locator("#case-notes .note").first).to_contain_text(
            "Note for the medical director: Three weeks of therapy only; red flags denied. Please review."
        )
        page.click("[data-act=take]")
        expect(page.locator("#case-status")).to_have_text("in medical director review")
        page.click("[data-act=deny]")  # no reason picked: refused, in words
        expect(page.locator("#message")).to_have_text("A denial reason is needed. The specific reason is needed.")
        page.select_option("#deny-code", "0U")
        page.fill(
            "#deny-text", "Six weeks of conservative therapy are needed before a lumbar MRI; three are documented."
        )
        page.click("[data-act=deny]")
        expect(page.locator("#case-status")).to_have_text("decided")
        expect(page.locator("#case-items")).to_contain_text("Denied (clinical)")
        expect(page.locator("#case-items")).to_contain_text("by md-diaz")
        expect(page.locator("#case-notices")).to_contain_text("denial notice to the provider")
        expect(page.locator("#case-notices")).to_contain_text("denial notice to the member")
        page.locator("#case-notices").get_by_role("button", name="View").first.click()
        expect(page.locator("#viewer iframe")).to_be_visible()
        notice = page.frame_locator("#viewer iframe").locator("body")
        expect(notice).to_contain_text("Six weeks of conservative therapy are needed")  # the reason, in words
        shot("md-denied")
        page.click("#close-viewer")
        page.select_option("#p2p-slot", index=0)
        page.fill("#p2p-contact", "Dr. Patel, 555-0100")
        page.fill("#p2p-join", "Bridge 555-0199, code 4411")
        page.click("[data-act=schedule_p2p]")
        expect(page.locator("#case-status")).to_have_text("peer-to-peer booked")
        expect(page.locator("#case-notes")).to_contain_text("Peer-to-peer")
        expect(page.locator("#actions")).to_contain_text("Decision upheld")
        accessible(page)
        shot("md-p2p-booked")
    finally:
        close()


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
        page.locator("#worklist tr", has_text=preauth_ref).get_by_role("button", name=preauth_ref).click()
        expect(page.locator(".stay")).to_contain_text(f"admitted {start.isoformat()}")
        expect(page.locator(".stay")).to_contain_text("Days requested 4, authorized -, used -.")
        page.click("[data-act=take]")
        page.click("[data-act=approve]")
        expect(page.locator("#case-status")).to_have_text("decided")
        expect(page.locator(".stay")).to_contain_text("Days requested 4, authorized 4, used -.")
        expect(page.locator(".stay")).to_contain_text(f"Next review {end.isoformat()}")
        page.screenshot(path=str(tmp_path / "case-stay.png"), full_page=True)
        browser.close()
