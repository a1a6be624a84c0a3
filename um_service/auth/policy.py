"""The access policy: for every route, which roles may call it and the scope their token must carry.

This table is the one place access is decided; a route missing from it is refused to everyone (a test walks every
route of the app against it). Resource-level rules live with the data: a provider reads only its own requests
(another's answer 404, not 403, so nothing leaks). The review state machine checks roles again per action.
"""

from __future__ import annotations

from dataclasses import dataclass

STAFF = frozenset({"nurse", "medical_director", "admin"})
REVIEWERS = frozenset({"nurse", "medical_director"})
ADMIN = frozenset({"admin"})
PROVIDER = frozenset({"provider"})
READERS = frozenset({"provider", "portal"})


@dataclass(frozen=True)
class Rule:
    """Who may call a route."""

    roles: frozenset[str]
    scope: str


PUBLIC = frozenset(
    {
        "metadata",
        # CRD: discovery is public; hook calls are trusted by the EHR's CDS Hooks JWT (api/crd.py), not our tokens.
        "cds_services",
        "cds_hook",
        "pa_services",
        "ui_page",
        "ui_script",
        "dashboard_page",
        "dashboard_script",
        "live",
        "ready",
        "token",
        "smart_configuration",
        "openapi",
        "swagger_ui_html",
        "swagger_ui_redirect",
        "redoc_html",
    }
)

POLICY: dict[str, Rule] = {
    # FHIR face
    "submit": Rule(PROVIDER, "system/Claim.c"),
    "inquire": Rule(READERS, "system/Claim.r"),
    "read_claim_response": Rule(READERS, "system/ClaimResponse.rs"),
    "search_claim_responses": Rule(READERS, "system/ClaimResponse.rs"),
    "create_subscription": Rule(PROVIDER, "system/Subscription.crd"),
    "read_subscription": Rule(PROVIDER, "system/Subscription.crd"),
    "delete_subscription": Rule(PROVIDER, "system/Subscription.crd"),
    # DTR face
    "questionnaire_package": Rule(PROVIDER, "system/Questionnaire.rs"),
    "questionnaire_package_at_base": Rule(PROVIDER, "system/Questionnaire.rs"),
    "next_question": Rule(PROVIDER, "system/Questionnaire.rs"),
    # CDex
    "submit_attachment": Rule(PROVIDER, "system/DocumentReference.c"),
    "list_attachments": Rule(STAFF, "um/review"),
    "download_attachment": Rule(STAFF, "um/review"),
    "list_notices": Rule(STAFF, "um/review"),
    "download_notice": Rule(STAFF, "um/review"),
    "list_referrals": Rule(STAFF, "um/review"),
    # Staff face: reading and working cases
    "get_case": Rule(STAFF, "um/review"),
    "replay_case": Rule(STAFF, "um/review"),
    "history": Rule(STAFF, "um/review"),
    "case_request": Rule(STAFF, "um/review"),
    "work_list": Rule(STAFF, "um/review"),
    "case_actions": Rule(REVIEWERS, "um/review"),
    "denial_reasons": Rule(STAFF, "um/review"),
    "current_rules": Rule(STAFF, "um/review"),
    "list_reviewers": Rule(STAFF, "um/review"),
    "list_queues": Rule(STAFF, "um/review"),
    "next_case": Rule(REVIEWERS, "um/review"),
    "take": Rule(REVIEWERS, "um/review"),
    "approve": Rule(REVIEWERS, "um/review"),
    "request_info": Rule(REVIEWERS, "um/review"),
    "escalate": Rule(REVIEWERS, "um/review"),
    "deny": Rule(frozenset({"medical_director"}), "um/review"),  # only a medical director denies
    "schedule_p2p": Rule(REVIEWERS, "um/review"),
    "reschedule_p2p": Rule(REVIEWERS, "um/review"),
    "cancel_p2p": Rule(REVIEWERS, "um/review"),
    "record_p2p": Rule(REVIEWERS, "um/review"),
    # Peer-to-peer availability: a medical director publishes and withdraws their own; reviewers read and book it.
    "publish_availability": Rule(frozenset({"medical_director"}), "um/review"),
    "withdraw_slot": Rule(frozenset({"medical_director"}), "um/review"),
    "list_availability": Rule(REVIEWERS, "um/review"),
    "p2p_day": Rule(REVIEWERS, "um/review"),
    "extend": Rule(REVIEWERS, "um/review"),
    "cms_0057": Rule(STAFF, "um/review"),
    "operations_figures": Rule(STAFF, "um/review"),
    "dashboard_figures": Rule(STAFF, "um/review"),
    "dashboard_charts": Rule(STAFF, "um/review"),
    "metrics": Rule(ADMIN, "um/admin"),
    "file_appeal": Rule(REVIEWERS, "um/review"),
    "decide_appeal": Rule(frozenset({"medical_director"}), "um/review"),
    # Administration
    "reload_rules": Rule(ADMIN, "um/admin"),
    "save_reviewer": Rule(ADMIN, "um/admin"),
    "update_reviewer": Rule(ADMIN, "um/admin"),
    "save_queue": Rule(ADMIN, "um/admin"),
    "sweep_clocks": Rule(ADMIN, "um/admin"),
    "outbox": Rule(ADMIN, "um/admin"),
    "list_clients": Rule(ADMIN, "um/admin"),
    "save_client": Rule(ADMIN, "um/admin"),
    "update_client": Rule(ADMIN, "um/admin"),
    "import_members": Rule(ADMIN, "um/admin"),
    "get_member": Rule(STAFF, "um/review"),
}


def decide(route: str, role: str, scopes: frozenset[str]) -> str | None:
    """None when allowed, else why not."""
    rule = POLICY.get(route)
    if rule is None:
        return f"route {route} has no access rule"
    if role not in rule.roles:
        return f"role {role} may not call {route}"
    if rule.scope not in scopes:
        return f"the token lacks scope {rule.scope}"
    return None
