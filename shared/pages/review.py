"""The reviewer's pages: one submission with its decision form, and the decision that stands."""

from __future__ import annotations

from typing import Any

from shared.domain.verification import KIND_LABELS, MAX_NOTE_CHARS, PROFESSION_LABELS, REASONS
from shared.edge import Response
from shared.pages import render
from shared.services.review import ReviewView, Standing

STATUS_LABELS = {
    "pending": "待审核",
    "approved": "已通过",
    "rejected": "未通过",
    "withdrawn": "申请人已撤回",
    "revoked": "认证已撤销",
}
REUSED_LABELS = {
    "sha256": "相同的证件图片文件",
    "dhash": "高度相似的证件图片",
    "license": "相同的执业证书编号",
}
LABELS: dict[str, Any] = {
    "reused": REUSED_LABELS,
    "status": STATUS_LABELS,
    "reasons": REASONS,
    "kinds": KIND_LABELS,
    "professions": PROFESSION_LABELS,
}


def review_page(view: ReviewView, token: str, csrf: str, image_origin: str) -> Response:
    return render(
        "review.html",
        image_origin=image_origin,
        view=view,
        token=token,
        csrf=csrf,
        action=f"/review/{view.submission.submission_id}/decision",
        labels=LABELS,
        max_note=MAX_NOTE_CHARS,
    )


def standing_page(standing: Standing) -> Response:
    return render(
        "decided.html",
        status=409 if standing.conflict else 200,
        submission=standing.submission,
        conflict=standing.conflict,
        labels=LABELS,
    )
