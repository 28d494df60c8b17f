"""The editors' console: article states (draft, scheduled, published, unpublished) as readers get
them, publication, scheduling, unpublishing, import and preview; and the answer statistics, kept
exact by counters moved with the answers. Through the real handlers on moto."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any

import pytest

from infra.metering import metered
from shared import config, wiring
from shared.domain import times
from shared.domain.answer_stats import counters
from shared.domain.consent import INFORMED
from shared.store.answers import AnswersItem
from shared.store.articles import ArticleItem
from shared.store.audit import AuditItem
from tests.functional.article_helpers import ARTICLE, post, seed_articles, verified
from tests.functional.conftest import Api, Reply
from tests.functional.consent_helpers import agree_all, approve, publish_seed
from tests.functional.console_helpers import Browser, member, multipart_post

HOSTILE = '<script>alert("x")</script>'
DRAFT = """---
id: {id}
title: {title}
published_at: 2026-11-20T09:00:00+08:00
author: 编辑部
original: true
summary: 新文章的摘要。
{status}---
导语：本文先说明背景。

## 背景
一段正文。

## 问：这个问题怎么回答？
答：这样回答。
"""


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html.split("<body>", 1)[-1]))


def _editor(api: Api, env: dict[str, str], role: str = "editor") -> Browser:
    who = member(role, f"{role}-编辑")
    browser = Browser(api)
    assert browser.sign_in(who, env["OUTBOX_PATH"], who).status == 303
    return browser


def _upload(browser: Browser, data: bytes, *, csrf: str | None = None, name: str = "a.md") -> Reply:
    """The import form's multipart post, as a browser sends it."""
    fields = {"csrf": browser.csrf() if csrf is None else csrf}
    return multipart_post(browser, "/console/articles/import", fields, {"file": (name, data)})


def _draft(article_id: str, title: str = "新文章", status: str = "") -> bytes:
    return DRAFT.format(id=article_id, title=title, status=status).encode()


def _state(browser: Browser, article_id: str) -> str:
    page = browser.get("/console/articles")
    assert page.status == 200, page.text[:300]
    found = re.search(rf'data-article="{article_id}" data-state="(\w+)"', page.text)
    assert found, f"{article_id} is not listed"
    return found.group(1)


def _reader_sees(reader: Api, article_id: str) -> tuple[int, bool]:
    """(the detail's status, whether the feed lists it), as a reader gets them now."""
    wiring.services().articles.forget()  # another container: nothing cached
    listed = {a["id"] for a in reader.get("/v1/articles?limit=50").body["items"]}
    return reader.get(f"/v1/articles/{article_id}").status, article_id in listed


def _audit(article_id: str) -> list[tuple[str, str | None]]:
    lines = sorted(AuditItem.query(f"article#{article_id}"), key=lambda i: i.entry)
    return [(str(i.action), i.outcome) for i in lines]


def _later(monkeypatch: pytest.MonkeyPatch, **delta: float) -> None:
    real = wiring.utcnow
    monkeypatch.setattr(wiring, "utcnow", lambda: real() + timedelta(**delta))


def test_an_editor_imports_schedules_publishes_and_unpublishes_as_readers_see_it(
    api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_articles()
    reader = Api()
    verified(reader, "reader")
    editor = _editor(api, env)
    page = editor.get("/console/articles")
    assert page.status == 200 and page.text.count('data-state="published"') == 3

    imported = _upload(editor, _draft("new-article"))
    assert imported.status == 303, imported.text[:300]
    assert "new-article：已导入" in _text(editor.get(imported.headers["Location"]).text)
    assert _state(editor, "new-article") == "draft"
    assert _reader_sees(reader, "new-article") == (404, False)
    assert reader.get("/v1/articles/new-article/comments").status == 404

    at = times.local(wiring.utcnow() + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    form = {"csrf": editor.csrf(), "publish_at": at}
    scheduled = editor.post("/console/articles/new-article/publish", form)
    assert scheduled.status == 303 and scheduled.headers["Location"] == "/console/articles"
    assert _state(editor, "new-article") == "scheduled"
    assert _reader_sees(reader, "new-article") == (404, False)
    assert post(reader, "抢先评论", article="new-article").status == 404

    _later(monkeypatch, hours=2, minutes=1)  # its time has come; nothing ran meanwhile
    assert _state(editor, "new-article") == "published"
    assert _reader_sees(reader, "new-article") == (200, True)
    listed = reader.get("/v1/articles").body["items"]
    assert listed[0]["id"] == "new-article" and listed[0]["published_at"].startswith(at.replace(" ", "T"))
    article = reader.get("/v1/articles/new-article").body
    assert [s["kind"] for s in article["sections"]] == ["text", "text", "qa"]
    assert (
        article["sections"][0]["heading"] == "" and article["sections"][2]["heading"] == "这个问题怎么回答？"
    )
    assert post(reader, "发布后的评论", article="new-article").status == 201

    again = editor.post("/console/articles/new-article/publish", {"csrf": editor.csrf()})
    assert again.status == 409 and "已经发布" in _text(again.text)

    down = editor.post("/console/articles/new-article/unpublish", {"csrf": editor.csrf()})
    assert down.status == 303 and _state(editor, "new-article") == "unpublished"
    assert _reader_sees(reader, "new-article") == (404, False)
    assert reader.get("/v1/articles/new-article/comments").status == 404
    assert post(reader, "下线后的评论", article="new-article").status == 404

    back = editor.post("/console/articles/new-article/publish", {"csrf": editor.csrf()})
    assert back.status == 303 and _reader_sees(reader, "new-article") == (200, True)
    comments = reader.get("/v1/articles/new-article/comments").body["items"]
    assert [c["text"] for c in comments] == ["发布后的评论"]  # kept through the unpublication
    assert reader.get("/v1/articles/new-article").body["comment_count"] == 1
    assert _audit("new-article") == [
        ("article_import", None),
        ("article_publish", "scheduled"),
        ("article_unpublish", None),
        ("article_publish", "published"),
    ]
    audit = Browser(api)
    admin = member("admin", "管理员")
    assert audit.sign_in(admin, env["OUTBOX_PATH"], admin).status == 303
    # every line about the article, whatever month each fell in (the schedule moves the clock on,
    # and near a month's end in the stage's zone the lines straddle two months)
    trail = _text(audit.get("/console/audit?subject=article%23new-article").text)
    assert "导入文章" in trail and "定时发布" in trail and "下线文章" in trail


def test_a_cached_article_is_unpublished_for_readers_within_the_text_cache(
    api: Api, env: dict[str, str], aged: list[float]
) -> None:
    """Another function unpublishes: a reader's container serves its cached copy at most
    TEXT_SECONDS longer, never more."""
    from shared.services.articles import TEXT_SECONDS

    seed_articles()
    reader = Api()
    verified(reader, "reader")
    assert reader.get(f"/v1/articles/{ARTICLE}").status == 200  # cached in this container
    editor = _editor(api, env)
    assert editor.post(f"/console/articles/{ARTICLE}/unpublish", {"csrf": editor.csrf()}).status == 303
    aged[0] += TEXT_SECONDS + 0.1
    assert reader.get(f"/v1/articles/{ARTICLE}").status == 404
    assert reader.get(f"/v1/articles/{ARTICLE}/comments").status == 404
    assert ARTICLE not in {a["id"] for a in reader.get("/v1/articles").body["items"]}


@pytest.mark.parametrize(
    ("publish_at", "fragment"),
    [
        ("明天早上", "发布时间应写作"),
        ("2026-13-40 25:00", "发布时间应写作"),
        ("9" * 41, "发布时间应写作"),
        ("2099-01-01 09:00", "天之后"),
    ],
)
def test_a_publish_at_that_is_not_a_time_is_a_400_in_chinese_and_changes_nothing(
    api: Api, env: dict[str, str], publish_at: str, fragment: str
) -> None:
    editor = _editor(api, env)
    assert _upload(editor, _draft("still-draft")).status == 303
    reply = editor.post(
        "/console/articles/still-draft/publish", {"csrf": editor.csrf(), "publish_at": publish_at}
    )
    assert reply.status == 400 and fragment in _text(reply.text)
    assert _state(editor, "still-draft") == "draft"
    assert _audit("still-draft") == [("article_import", None)]


def test_import_faults_are_named_by_line_in_chinese_and_nothing_is_written(
    api: Api, env: dict[str, str]
) -> None:
    editor = _editor(api, env)
    before = ArticleItem.count()
    cases = {
        "第 3 行不是 UTF-8": b"---\nid: x\ntitle: \xb1\xea\xcc\xe2\n---\n",  # GBK
        "文件开头缺少 front matter": "## 问：没有 front matter\n答：是的。\n".encode(),
        "第 4 行：published_at": _draft("bad-time").replace(b"2026-11-20T09:00:00+08:00", b"2026-11-20"),
        "第 8 行：front matter 每行写一项": _draft("bad-key", status="colour: red\n"),
        "第 8 行：status 只能是": _draft("bad-status", status="status: live\n"),
        "第 11 行：这一节只有标题": _draft("empty-section").replace("一段正文。".encode(), b""),
    }
    for fragment, data in cases.items():
        reply = _upload(editor, data)
        assert reply.status == 400, fragment
        assert fragment in _text(reply.text), (fragment, _text(reply.text)[:400])
    hostile = _upload(editor, _draft(HOSTILE))
    assert (
        hostile.status == 400 and HOSTILE not in hostile.text and "&lt;script&gt;" not in _text(hostile.text)
    )
    assert _upload(editor, b"").status == 400
    assert ArticleItem.count() == before
    not_multipart = editor.post("/console/articles/import", {"csrf": editor.csrf(), "file": "x"})
    assert not_multipart.status == 415
    assert _upload(editor, _draft("too-big") + b"x" * 210_000).status == 413
    assert _upload(editor, _draft("forged"), csrf="forged").status == 403
    headers = {"content-type": "multipart/form-data; boundary=x", "origin": config.current().public_base_url}
    headers["cookie"] = "; ".join(f"{k}={v}" for k, v in editor.cookies.items())
    garbage = api.call("POST", "/console/articles/import", token="", headers=headers, raw=b"\x00garbage")
    assert garbage.status == 400 and "选择" in _text(garbage.text)
    assert ArticleItem.count() == before


def test_an_import_updates_in_place_and_says_so(api: Api, env: dict[str, str]) -> None:
    editor = _editor(api, env)

    def imported(data: bytes) -> str:
        reply = _upload(editor, data)
        assert reply.status == 303, reply.text[:300]
        return _text(editor.get(reply.headers["Location"]).text)

    assert "live：已导入" in imported(_draft("live", status="status: published\n"))
    assert _state(editor, "live") == "published"
    assert "live：内容未变" in imported(_draft("live", status="status: published\n"))
    assert "live：已更新" in imported(_draft("live", title="改过的标题"))  # no status: it keeps its own
    assert _state(editor, "live") == "published"
    assert [a for a, _ in _audit("live")] == ["article_import"] * 3
    assert editor.get("/console/articles?imported=<b>x</b>&saved=created").text.count("data-notice") == 0


def test_the_preview_renders_any_state_as_readers_get_it_escaped(api: Api, env: dict[str, str]) -> None:
    editor = _editor(api, env)
    assert _upload(editor, _draft("preview-me", title=HOSTILE)).status == 303
    page = editor.get("/console/articles/preview-me/preview")
    assert page.status == 200
    assert HOSTILE not in page.text and "&lt;script&gt;" in page.text
    text = _text(page.text)
    assert "草稿" in text and "导语：本文先说明背景。" in text and "问答 这个问题怎么回答？" in text
    assert page.text.index('data-kind="text"') < page.text.index('data-kind="qa"')
    assert editor.get("/console/articles/no-such/preview").status == 404
    assert editor.get("/console/articles/Bad_Id/preview").status == 404


def test_the_article_list_costs_one_query_per_state(api: Api, env: dict[str, str]) -> None:
    seed_articles()
    editor = _editor(api, env)
    editor.get("/console/articles")
    with metered() as meter:
        assert editor.get("/console/articles").status == 200
    assert meter.calls.count("Query") == 3 and "Scan" not in meter.calls


# ---- answer statistics ----

ANSWERS = [
    {"question_id": "years_in_practice", "value": "11-20年"},
    {"question_id": "institution_level", "value": "二级医院"},
    {"question_id": "specialty_areas", "value": ["肿瘤", "心血管"]},
]


def _answerer(name: str, answers: list[dict[str, Any]] | None = None) -> Api:
    client = Api()
    publish_seed()
    body = client.login(name)
    agree_all(client)
    approve(body["user"]["id"])
    reply = client.post("/v1/answers", {"answers": answers or ANSWERS})
    assert reply.status == 200, reply.body
    return client


def _counts(browser: Browser) -> tuple[str, dict[tuple[str, str], str]]:
    page = browser.get("/console/answers")
    assert page.status == 200, page.text[:300]
    users = re.search(r"data-users>([^<]*)<", page.text)
    assert users
    found: dict[tuple[str, str], str] = {}
    for question, block in re.findall(r'data-question="(\w+)">(.*?)</table>', page.text, re.S):
        for option, count in re.findall(r'data-option="([^"]*)"><td>[^<]*</td><td>([^<]*)</td>', block):
            found[(question, option)] = count
    return users.group(1).replace("&lt;", "<"), {k: v.replace("&lt;", "<") for k, v in found.items()}


def _stored_counts() -> dict[str, int]:
    """What the counters should say: recounted from every stored answer (a test may Scan)."""
    total: dict[str, int] = {}
    for item in AnswersItem.scan():
        for name, n in counters(dict(item.answers.as_dict())).items():
            total[name] = total.get(name, 0) + n
    return total


def test_the_statistics_count_options_and_users_and_hide_counts_under_five(
    api: Api, env: dict[str, str]
) -> None:
    clients = [_answerer(f"answerer{n}") for n in range(6)]
    _answerer("other", [*ANSWERS[:2], {"question_id": "specialty_areas", "value": ["药学"]}])
    editor = _editor(api, env)
    users, counts = _counts(editor)
    assert users == "7"
    assert counts[("years_in_practice", "11-20年")] == "7"
    assert counts[("specialty_areas", "肿瘤")] == "6" and counts[("specialty_areas", "药学")] == "<5"
    assert counts[("years_in_practice", "不满3年")] == "<5"
    assert "suggestions" not in str(counts)  # a text question has no counts

    changed = [ANSWERS[0], ANSWERS[1], {"question_id": "specialty_areas", "value": ["药学"]}]
    assert clients[0].post("/v1/answers", {"answers": changed}).status == 200
    assert clients[1].post(f"/v1/consents/{INFORMED}/withdraw").status in (200, 201)
    assert clients[2].delete("/v1/me").status == 200
    users, counts = _counts(editor)
    assert users == "5" and counts[("specialty_areas", "肿瘤")] == "<5"  # 6 - 1 moved - 1 - 1 = 3
    assert counts[("years_in_practice", "11-20年")] == "5"
    with metered() as meter:
        assert editor.get("/console/answers").status == 200
    assert "BatchGetItem" in meter.calls and "Query" not in meter.calls and "Scan" not in meter.calls
    assert len([c for c in meter.calls if c != "GetItem"]) == 1  # the counters; GetItem: the session


def test_counts_stay_exact_under_concurrent_answers_withdrawals_and_deletions(
    api: Api, atomic_moto: None
) -> None:
    from shared.store.answer_stats import AnswerStatsRepository

    clients = [_answerer(f"busy{n}") for n in range(6)]
    picks = [["肿瘤"], ["心血管", "呼吸"], ["药学"], ["护理", "肿瘤"]]
    results: list[int] = []
    lock = threading.Lock()

    def act(client: Api, n: int) -> None:
        if n % 5 == 3:
            reply = client.post(f"/v1/consents/{INFORMED}/withdraw")
        elif n % 7 == 6:
            reply = client.delete("/v1/me")
        else:
            value = [*ANSWERS[:2], {"question_id": "specialty_areas", "value": picks[n % 4]}]
            reply = client.post("/v1/answers", {"answers": value})
        with lock:
            results.append(reply.status)

    threads = [threading.Thread(target=act, args=(clients[n % 6], n)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 30 and all(s < 500 for s in results), results
    totals = {k: v for k, v in AnswerStatsRepository().totals().items() if v}
    assert totals == _stored_counts()
