"""Written notices through HTTP: a medical director's denial and an administrative denial each produce a notice for
the provider and one for the member, kept as issued and downloadable as PDF and HTML; the PDF is rendered to PNG and
its text read back with Debian's poppler-utils (skipped, with a message, where they are missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_members import bundle, coverage, patient, post_feed
from test_review_flow import MD, NURSE, oncology_request

from conftest import AuthClient, review_codes, submit

REASON = "The requested dose exceeds the compendia-supported dose for this indication."


def denied_case(client: AuthClient) -> str:
    case_id: str = submit(client, oncology_request()).json()["entry"][0]["resource"]["id"]
    client.post(f"/um/cases/{case_id}/take", headers=NURSE)
    client.post(f"/um/cases/{case_id}/escalate", headers=NURSE, json={"note": "Dose above compendia."})
    client.post(f"/um/cases/{case_id}/take", headers=MD)
    denied = client.post(
        f"/um/cases/{case_id}/deny", headers=MD, json={"items": [1], "reason_code": "0U", "reason_text": REASON}
    )
    assert denied.status_code == 200, denied.text
    return case_id


def test_a_denial_issues_a_notice_for_the_provider_and_one_for_the_member(client: AuthClient) -> None:
    case_id = denied_case(client)

    listed = client.get(f"/um/cases/{case_id}/notices").json()
    page = client.get(listed[0]["html"])
    document = client.get(listed[0]["pdf"])

    assert [(n["audience"], n["kind"], n["items"]) for n in listed] == [
        ("provider", "denial", [1]),
        ("member", "denial", [1]),
    ]
    assert listed[0]["appeal_by"] == "2027-01-22"  # 60 days after the notice of 2026-11-23
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    for words in (
        REASON,
        "Reason code (X12): 0U",
        "Send your appeal by 2027-01-22",
        "Peer-to-peer discussion",
        "1-800-555-0100",
    ):
        assert words in page.text
    assert (document.status_code, document.headers["content-type"]) == (200, "application/pdf")
    assert document.content.startswith(b"%PDF-")
    history = client.get(f"/um/cases/{case_id}/history").json()
    assert "notices" in history[-1]["detail"]


def test_an_administrative_denial_issues_notices_too_and_names_the_plan_terms(client: AuthClient) -> None:
    silver = coverage("MBR-1001", "p-1")
    silver["class"][1]["value"] = "HMO-SILVER"
    assert post_feed(client, bundle(patient("p-1"), silver)).status_code == 200
    request = oncology_request()
    request["entry"][0]["resource"]["item"][0]["productOrService"]["coding"][0] |= {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "81162",
    }

    answer = submit(client, request).json()
    case_id = answer["entry"][0]["resource"]["id"]
    listed = client.get(f"/um/cases/{case_id}/notices").json()
    page = client.get(listed[1]["html"]).text

    assert review_codes(answer) == {1: "A3"}
    assert [n["audience"] for n in listed] == ["provider", "member"]
    assert "Not a covered benefit of plan Silver HMO (HMO-SILVER)" in page
    assert "The terms of the member&#x27;s plan" in page


@pytest.mark.skipif(
    not shutil.which("pdftotext"), reason="Debian's poppler-utils (pdftotext, pdftoppm) are not installed"
)
def test_the_pdf_notice_reads_back_with_the_reason_and_the_deadline(client: AuthClient, tmp_path: Path) -> None:
    case_id = denied_case(client)
    [provider, _] = client.get(f"/um/cases/{case_id}/notices").json()
    pdf = tmp_path / "notice.pdf"
    pdf.write_bytes(client.get(provider["pdf"]).content)

    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(tmp_path / "notice")], check=True)

    flat = " ".join(text.split())
    assert "Notice of denial of prior authorization request PA-" in flat
    assert REASON in flat
    assert "Send your appeal by 2027-01-22" in flat
    assert (tmp_path / "notice-1.png").stat().st_size > 10_000
