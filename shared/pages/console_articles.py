"""The editors' console pages: every article with its state and forms, an article's preview, the
import's faults, and the answer statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.domain.article_files import MAX_ARTICLE_BYTES
from shared.domain.articles import STATE_LABELS
from shared.edge import Response
from shared.pages import render
from shared.pages.console import _me

if TYPE_CHECKING:
    from shared.services.answer_stats import QuestionCounts
    from shared.services.console import StaffCaller
    from shared.services.publishing import DeskRow


def desk_page(
    caller: StaffCaller,
    rows: list[DeskRow],
    csrf: str,
    *,
    notice: str = "",
    faults: list[str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        "console_articles.html",
        status=status,
        me=_me(caller),
        csrf=csrf,
        rows=[{"head": r.head, "state": r.state, "label": STATE_LABELS[r.state]} for r in rows],
        notice=notice,
        faults=faults or [],
        max_kb=MAX_ARTICLE_BYTES // 1000,
    )


def preview_page(caller: StaffCaller, article: dict[str, Any], state: str, csrf: str) -> Response:
    return render(
        "console_preview.html",
        me=_me(caller),
        csrf=csrf,
        article=article,
        state=state,
        label=STATE_LABELS[state],
    )


def answers_page(
    caller: StaffCaller, questions: list[QuestionCounts], users: str, csrf: str, floor: int
) -> Response:
    return render(
        "console_answers.html", me=_me(caller), csrf=csrf, questions=questions, users=users, floor=floor
    )
