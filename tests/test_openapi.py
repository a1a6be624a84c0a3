"""The committed OpenAPI document is the one the app generates (regenerate with `um-service openapi`)."""

from __future__ import annotations

from um_service.cli import openapi_document
from um_service.settings import REPO_ROOT


def test_the_committed_openapi_document_is_current() -> None:
    committed = (REPO_ROOT / "openapi" / "openapi.json").read_text()

    assert committed == openapi_document(), "openapi/openapi.json is stale: run `um-service openapi`"
