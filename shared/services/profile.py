"""What a user sees of themselves: their account and where they stand."""

from __future__ import annotations

from typing import Any

from shared.domain import times
from shared.domain.gate import CurrentDocuments, next_step
from shared.domain.users import User


def user_view(user: User, docs: CurrentDocuments) -> dict[str, Any]:
    """The caller's own account as the front end needs it. Never includes the openid."""
    verification: dict[str, Any] = {"status": user.verification_status or "none"}
    if user.verification_status in ("rejected", "revoked"):
        verification["reason"] = user.verification_reason
    return {
        "id": user.user_id,
        "created_at": times.iso(user.created_at),
        "next_step": next_step(user.gate, docs).value,
        "verification": verification,
        "author": {  # how comments show the caller (PUT /v1/me/author changes it)
            "style": user.author_style or "surname",
            "show_department": not user.author_hide_department,
        },
        "consents": {
            "hcp-identity-agreement": {
                "version": user.agreement_version,
                "decision": user.agreement_decision,
                "current_version": docs.agreement_version,
            },
            "informed-consent": {
                "version": user.informed_version,
                "decision": user.informed_decision,
                "current_version": docs.informed_version,
            },
        },
    }


def app_config(result_template: str | None, result_page: str) -> dict[str, Any]:
    """What the app needs before login: the subscribe-message template it asks the user to allow
    (`wx.requestSubscribeMessage`) and the page that message opens; null when the stage sends none."""
    return {
        "subscribe_templates": {"review_result": result_template or None},
        "pages": {"review_result": result_page},
    }
