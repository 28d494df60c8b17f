"""Who may call what: every route of serverless.yml against every caller state, as one table.

Each test builds one caller state once (through the real endpoints and the reviewer links
where it matters), then calls every route in a fixed order and compares each answer with its
cell of `MATRIX`: the status and, for JSON errors, the error code of ../shared/docs/api.md.
Writes that change the caller's state run late (consent withdrawal, logout of a second session,
and account deletion last), so every cell sees the state its column names. The `another` column
also checks that nothing of the other users changed, and that no answer showed their data.

Cells: `200`/`201` success; `303` the console's redirect to its sign-in page; `401` unauthorized;
`403C` consent_required; `403V` verification_required; `403F` forbidden; `403H` the HTML pages'
403 (review links, the console); `404` not_found; `409` conflict.

The staff console ignores a mini-program token: to the console a user is a visitor who has not
signed in, so a console page sends them to the sign-in page (303) and a console post is a 403.
The second table, `CONSOLE_MATRIX`, holds the console routes against the states of a staff
member (signed out, deactivated, expired, each role).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

from infra.fake_wechat import dev_openid
from infra.routes import routes
from shared import config, wiring
from shared.domain.consent import AGREEMENT, INFORMED
from shared.services.questions import questions_view
from shared.store.verification import SubmissionItem
from tests.functional.article_helpers import ARTICLE, seed_articles, with_submission
from tests.functional.conftest import Api, Reply
from tests.functional.consent_helpers import agree_all, approve, decide, publish_seed
from tests.functional.verification_helpers import (
    FIELDS,
    add_reviewer,
    form_fields,
    image_bytes,
    link_path,
    post_decision,
    reviewer_links,
    s3,
    submit,
    upload,
)
from tests.language import CHINESE

STATES = (
    "none",  # no Authorization header
    "bad",  # a malformed token
    "expired",  # an approved user's token past its session's expiry (clock moved on)
    "out",  # an approved user's token after logout
    "refused",  # the identity agreement refused
    "withdrawn",  # the identity agreement agreed, then withdrawn
    "unverified",  # both documents agreed, no verification submitted
    "pending",  # a submission waits for review
    "rejected",  # the submission was rejected through a reviewer link
    "approved",  # approved through a reviewer link
    "another",  # an HCP aiming at another user's comment, upload key, consent record, submission
)
COLUMNS = ("none", "bad", "exp", "out", "ref", "wdrn", "unv", "pend", "rej", "appr", "othr")  # of STATES

# A 401 in the `expired` column of logout would be as defensible as this 200: logging out removes
# the session when the caller proves they hold its secret, and a dead session removed is cleanup.
_TABLE = """
method path                                           none bad  exp  out  ref  wdrn unv  pend rej  appr othr
POST /v1/auth/login                                   200  200  200  200  200  200  200  200  200  200  200
GET /v1/consents/documents                            200  200  200  200  200  200  200  200  200  200  200
GET /v1/consents/receipt-key                          200  200  200  200  200  200  200  200  200  200  200
GET /v1/config                                        200  200  200  200  200  200  200  200  200  200  200
GET /v1/me                                            401  401  401  401  200  200  200  200  200  200  200
GET /console/login                                    200  200  200  200  200  200  200  200  200  200  200
POST /console/login                                   403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/auth                                     200  200  200  200  200  200  200  200  200  200  200
POST /console/auth                                    403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console                                          303  303  303  303  303  303  303  303  303  303  303
GET /console/staff                                    303  303  303  303  303  303  303  303  303  303  303
POST /console/logout                                  403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/verifications                            303  303  303  303  303  303  303  303  303  303  303
GET /console/verifications/{submission_id}            303  303  303  303  303  303  303  303  303  303  303
POST /console/verifications/{submission_id}/decision  403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/verifications/{submission_id}/claim     403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/users/{user_id}                          303  303  303  303  303  303  303  303  303  303  303
GET /console/search                                   303  303  303  303  303  303  303  303  303  303  303
POST /console/users/{user_id}/revoke                  403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/audit                                    303  303  303  303  303  303  303  303  303  303  303
POST /console/users/{user_id}/mute                    403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/users/{user_id}/unmute                  403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/comments                                 303  303  303  303  303  303  303  303  303  303  303
POST /console/comments/{comment_id}/restore           403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/comments/{comment_id}/hide              403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/comments/{comment_id}/delete            403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/articles                                 303  303  303  303  303  303  303  303  303  303  303
GET /console/articles/{id}/preview                    303  303  303  303  303  303  303  303  303  303  303
POST /console/articles/import                         403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/articles/{id}/unpublish                 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /console/articles/{id}/publish                   403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
GET /console/answers                                  303  303  303  303  303  303  303  303  303  303  303
GET /review/{submission_id}                           403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /review/{submission_id}/decision                 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H 403H
POST /v1/verification/uploads                         401  401  401  401  403C 403C 200  409  200  200  200
GET /v1/verification                                  401  401  401  401  403C 403C 200  200  200  200  200
POST /v1/verification                                 401  401  401  401  403C 403C 201  409  201  201  403F
POST /v1/verification/withdraw                        401  401  401  401  403C 403C 200  200  200  200  409
GET /v1/consents                                      401  401  401  401  200  200  200  200  200  200  200
GET /v1/consents/{record_id}/receipt                  401  401  401  401  200  200  200  200  200  200  404
GET /v1/articles                                      401  401  401  401  403C 403C 200  200  200  200  200
GET /v1/articles/{id}                                 401  401  401  401  403C 403C 403V 403V 403V 200  200
GET /v1/articles/{id}/comments                        401  401  401  401  403C 403C 403V 403V 403V 200  200
POST /v1/articles/{id}/comments                       401  401  401  401  403C 403C 403V 403V 403V 201  201
POST /v1/comments/{id}/reports                        401  401  401  401  403C 403C 403V 403V 403V 403F 201
DELETE /v1/comments/{id}                              401  401  401  401  403C 403C 403V 403V 403V 200  403F
PUT /v1/me/author                                     401  401  401  401  403C 403C 403V 403V 403V 200  200
GET /v1/questions                                     401  401  401  401  403C 403C 403V 403V 403V 200  200
POST /v1/answers                                      401  401  401  401  403C 403C 403V 403V 403V 200  200
GET /v1/me/export                                     401  401  401  401  200  200  200  200  200  200  200
POST /v1/consents                                     401  401  401  401  403C 403C 201  201  201  201  201
POST /v1/consents/{document}/withdraw                 401  401  401  401  409  201  201  201  201  201  201
POST /v1/auth/logout                                  401  401  200  401  200  200  200  200  200  200  200
DELETE /v1/me                                         401  401  401  401  200  200  200  200  200  200  200
"""

CODES = {
    "401": "unauthorized",
    "403C": "consent_required",
    "403V": "verification_required",
    "403F": "forbidden",
    "404": "not_found",
    "409": "conflict",
}


def _parse(table: str) -> dict[str, dict[str, str]]:
    lines = [line for line in table.strip().splitlines() if line.strip()]
    assert tuple(lines[0].split()[2:]) == COLUMNS, lines[0]
    matrix: dict[str, dict[str, str]] = {}
    for line in lines[1:]:
        method, path, *cells = line.split()
        route = f"{method} {path}"
        assert route not in matrix, f"{route} twice in the table"
        assert len(cells) == len(STATES), route
        matrix[route] = dict(zip(STATES, cells, strict=True))
    return matrix


MATRIX = _parse(_TABLE)
# The routes are called in the table's order: the state-changing ones come last.
ORDER = tuple(MATRIX)
# Between these two groups the `another` caller goes from rejected (so that a foreign upload key
# meets the ownership check, and a withdrawal finds nothing pending) to approved. The approved
# caller's submission is an update of their details, withdrawn again: they are served throughout.
VERIFICATION_PHASE_ENDS = "POST /v1/verification/withdraw"


UNKNOWN_SUBMISSION = "01JBBBBBBBBBBBBBBBBBBBBBBB"
UNKNOWN_RECORD = "01JCCCCCCCCCCCCCCCCCCCCCCC"
UNKNOWN_COMMENT = f"01JDDDDDDDDDDDDDDDDDDDDDDD.{ARTICLE}"


@dataclass
class Caller:
    """The caller of one column and the objects its requests name."""

    token: str  # "" sends no Authorization header
    login_name: str  # whom the login cell logs in as
    user_id: str = "01JEEEEEEEEEEEEEEEEEEEEEEE"
    relogin: bool = False  # the login cell is the caller's second session (the one logout ends)
    review_sid: str = UNKNOWN_SUBMISSION
    review_t: str = ""
    review_csrf: str = "not-a-csrf"
    record_id: str = UNKNOWN_RECORD
    foreign_key: str | None = None  # another user's upload key, submitted as one's own
    foreign_comment: str | None = None  # another user's comment, deleted as one's own
    reply_to: str | None = None
    promote: Callable[[], None] | None = None  # run once the verification routes are done
    # filled in by the cells
    second_token: str | None = None
    upload_key: str | None = None
    own_comment: str | None = None
    replies: list[tuple[str, Reply]] = field(default_factory=list)


def _image(seed: int) -> bytes:
    return image_bytes(color=(40 + seed * 37 % 200, 200 - seed * 23 % 150, 60 + seed * 11 % 180))


def _answers() -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for q in questions_view():
        if q["required"]:
            value = q["options"][0] if q["kind"] == "single" else q["options"][:1]
            answers.append({"question_id": q["id"], "value": value})
    return answers


# ---- the requests: one per route, naming the caller's objects ----
def _login(api: Api, c: Caller) -> Reply:
    reply = api.post("/v1/auth/login", {"code": f"dev:{c.login_name}"}, token="")
    if c.relogin and reply.status == 200:
        c.second_token = reply.body["token"]
    return reply


def _review_page(api: Api, c: Caller) -> Reply:
    return api.get(f"/review/{c.review_sid}?t={quote(c.review_t)}", token="")


def _review_decision(api: Api, c: Caller) -> Reply:
    form = urlencode({"t": c.review_t, "csrf": c.review_csrf, "decision": "reject", "reason": "other"})
    return api.call(
        "POST",
        f"/review/{c.review_sid}/decision",
        raw=form,
        token=c.token,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )


def _uploads(api: Api, c: Caller) -> Reply:
    data = _image(len(c.login_name))
    reply = api.post(
        "/v1/verification/uploads",
        {"kind": "practice_license", "content_type": "image/jpeg", "size": len(data)},
        token=c.token,
    )
    if reply.status == 200:
        c.upload_key = reply.body["key"]
        s3().put_object(Bucket=config.current().bucket, Key=c.upload_key, Body=data, ContentType="image/jpeg")
    return reply


def _submit(api: Api, c: Caller) -> Reply:
    key = c.foreign_key or c.upload_key or f"uploads/{c.user_id}/practice_license/{UNKNOWN_RECORD}.jpg"
    return api.post("/v1/verification", {**FIELDS, "documents": [key]}, token=c.token)


def _receipt(api: Api, c: Caller) -> Reply:
    return api.get(f"/v1/consents/{c.record_id}/receipt", token=c.token)


def _post_comment(api: Api, c: Caller) -> Reply:
    body: dict[str, Any] = {"text": "同意文中的观点。"}
    if c.reply_to:
        body["reply_to"] = c.reply_to
    reply = api.post(f"/v1/articles/{ARTICLE}/comments", body, token=c.token)
    if reply.status == 201:
        c.own_comment = reply.body["id"]
    return reply


def _report_comment(api: Api, c: Caller) -> Reply:
    target = c.foreign_comment or c.own_comment or UNKNOWN_COMMENT
    return api.post(f"/v1/comments/{target}/reports", {"reason": "spam"}, token=c.token)


def _delete_comment(api: Api, c: Caller) -> Reply:
    target = c.foreign_comment or c.own_comment or UNKNOWN_COMMENT
    return api.delete(f"/v1/comments/{target}", token=c.token)


def _logout(api: Api, c: Caller) -> Reply:
    return api.post("/v1/auth/logout", token=c.second_token or c.token)


def _current(api: Api, key: str) -> str:
    docs = api.get("/v1/consents/documents", token="").body["items"]
    return str(next(d["version"] for d in docs if d["key"] == key))


UNKNOWN_LINK = "A" * 43  # shaped like a sign-in link's token, naming no link


def _console_form(api: Api, c: Caller, path: str, form: dict[str, str]) -> Reply:
    """A console form post from a mini-program caller: their token, no console cookie."""
    return api.call(
        "POST",
        path,
        raw=urlencode(form),
        token=c.token,
        headers={"content-type": "application/x-www-form-urlencoded", "origin": "http://127.0.0.1:9"},
    )


Request = Callable[[Api, Caller], Reply]
REQUESTS: dict[str, Request] = {
    "POST /v1/auth/login": _login,
    "GET /v1/consents/documents": lambda api, c: api.get("/v1/consents/documents", token=c.token),
    "GET /v1/consents/receipt-key": lambda api, c: api.get("/v1/consents/receipt-key", token=c.token),
    "GET /v1/config": lambda api, c: api.get("/v1/config", token=c.token),
    "GET /v1/me": lambda api, c: api.get("/v1/me", token=c.token),
    "GET /console/login": lambda api, c: api.get("/console/login", token=c.token),
    "POST /console/login": lambda api, c: _console_form(api, c, "/console/login", {"who": "demo-admin"}),
    "GET /console/auth": lambda api, c: api.get(f"/console/auth?t={UNKNOWN_LINK}", token=c.token),
    "POST /console/auth": lambda api, c: _console_form(api, c, "/console/auth", {"t": UNKNOWN_LINK}),
    "GET /console": lambda api, c: api.get("/console", token=c.token),
    "GET /console/staff": lambda api, c: api.get("/console/staff", token=c.token),
    "POST /console/logout": lambda api, c: _console_form(api, c, "/console/logout", {"csrf": "x"}),
    "GET /console/verifications": lambda api, c: api.get("/console/verifications", token=c.token),
    "GET /console/verifications/{submission_id}": lambda api, c: api.get(
        f"/console/verifications/{c.review_sid}", token=c.token
    ),
    "POST /console/verifications/{submission_id}/decision": lambda api, c: _console_form(
        api, c, f"/console/verifications/{c.review_sid}/decision", {"csrf": "x", "decision": "approve"}
    ),
    "POST /console/verifications/{submission_id}/claim": lambda api, c: _console_form(
        api, c, f"/console/verifications/{c.review_sid}/claim", {"csrf": "x"}
    ),
    "GET /console/users/{user_id}": lambda api, c: api.get(f"/console/users/{c.user_id}", token=c.token),
    "GET /console/search": lambda api, c: api.get(f"/console/search?q={c.user_id}", token=c.token),
    "POST /console/users/{user_id}/revoke": lambda api, c: _console_form(
        api, c, f"/console/users/{c.user_id}/revoke", {"csrf": "x", "reason": "other"}
    ),
    "GET /console/audit": lambda api, c: api.get("/console/audit", token=c.token),
    "POST /console/users/{user_id}/mute": lambda api, c: _console_form(
        api, c, f"/console/users/{c.user_id}/mute", {"csrf": "x", "days": "1"}
    ),
    "POST /console/users/{user_id}/unmute": lambda api, c: _console_form(
        api, c, f"/console/users/{c.user_id}/unmute", {"csrf": "x"}
    ),
    "GET /console/comments": lambda api, c: api.get("/console/comments", token=c.token),
    "POST /console/comments/{comment_id}/restore": lambda api, c: _console_form(
        api, c, f"/console/comments/{UNKNOWN_COMMENT}/restore", {"csrf": "x"}
    ),
    "POST /console/comments/{comment_id}/hide": lambda api, c: _console_form(
        api, c, f"/console/comments/{UNKNOWN_COMMENT}/hide", {"csrf": "x", "reason": "spam"}
    ),
    "POST /console/comments/{comment_id}/delete": lambda api, c: _console_form(
        api, c, f"/console/comments/{UNKNOWN_COMMENT}/delete", {"csrf": "x"}
    ),
    "GET /console/articles": lambda api, c: api.get("/console/articles", token=c.token),
    "GET /console/articles/{id}/preview": lambda api, c: api.get(
        f"/console/articles/{ARTICLE}/preview", token=c.token
    ),
    "POST /console/articles/import": lambda api, c: _console_form(
        api, c, "/console/articles/import", {"csrf": "x", "file": "---"}
    ),
    "POST /console/articles/{id}/unpublish": lambda api, c: _console_form(
        api, c, f"/console/articles/{ARTICLE}/unpublish", {"csrf": "x"}
    ),
    "POST /console/articles/{id}/publish": lambda api, c: _console_form(
        api, c, f"/console/articles/{ARTICLE}/publish", {"csrf": "x"}
    ),
    "GET /console/answers": lambda api, c: api.get("/console/answers", token=c.token),
    "GET /review/{submission_id}": _review_page,
    "POST /review/{submission_id}/decision": _review_decision,
    "POST /v1/verification/uploads": _uploads,
    "GET /v1/verification": lambda api, c: api.get("/v1/verification", token=c.token),
    "POST /v1/verification": _submit,
    "POST /v1/verification/withdraw": lambda api, c: api.post("/v1/verification/withdraw", token=c.token),
    "GET /v1/consents": lambda api, c: api.get("/v1/consents", token=c.token),
    "GET /v1/consents/{record_id}/receipt": _receipt,
    "GET /v1/articles": lambda api, c: api.get("/v1/articles", token=c.token),
    "GET /v1/articles/{id}": lambda api, c: api.get(f"/v1/articles/{ARTICLE}", token=c.token),
    "GET /v1/articles/{id}/comments": lambda api, c: api.get(
        f"/v1/articles/{ARTICLE}/comments", token=c.token
    ),
    "POST /v1/articles/{id}/comments": _post_comment,
    "POST /v1/comments/{id}/reports": _report_comment,
    "DELETE /v1/comments/{id}": _delete_comment,
    "PUT /v1/me/author": lambda api, c: api.call(
        "PUT", "/v1/me/author", {"style": "title", "show_department": False}, token=c.token
    ),
    "GET /v1/questions": lambda api, c: api.get("/v1/questions", token=c.token),
    "POST /v1/answers": lambda api, c: api.post("/v1/answers", {"answers": _answers()}, token=c.token),
    "GET /v1/me/export": lambda api, c: api.get("/v1/me/export", token=c.token),
    "POST /v1/consents": lambda api, c: api.post(
        "/v1/consents",
        {"document": INFORMED, "version": _current(api, INFORMED), "decision": "agree"},
        token=c.token,
    ),
    "POST /v1/consents/{document}/withdraw": lambda api, c: api.post(
        f"/v1/consents/{INFORMED}/withdraw", token=c.token
    ),
    "POST /v1/auth/logout": _logout,
    "DELETE /v1/me": lambda api, c: api.delete("/v1/me", token=c.token),
}


# ---- the caller states, built through the endpoints ----
def _user(api: Api, name: str) -> tuple[str, str]:
    """Log `name` in (the token stays on `api` for the helpers): (token, user id)."""
    body = api.login(name)
    return str(body["token"]), str(body["user"]["id"])


def _submitted(api: Api, name: str, seed: int, **fields: Any) -> str:
    """The logged-in user's new pending submission of one image."""
    reply = submit(api, [upload(api, _image(seed))], **fields)
    assert reply.status == 201, reply.body
    return str(reply.body["submission_id"])


def _decided(api: Api, outbox: str, sid: str, decision: str) -> tuple[str, dict[str, str]]:
    """Decide `sid` through its reviewer link, as a reviewer would: (the link, its form's fields)."""
    link = reviewer_links(outbox, sid)[0]
    fields = form_fields(api.get(link_path(link), token="").text, decision)
    reason = "image_unreadable" if decision == "reject" else None
    assert post_decision(api, link, decision, reason=reason, fields=fields).status == 200
    return link, fields


def _first_record(api: Api, token: str) -> str:
    return str(api.get("/v1/consents", token=token).body["items"][0]["id"])


def _signed_in(api: Api, name: str, token: str, user_id: str, **kw: Any) -> Caller:
    return Caller(
        token=token,
        login_name=name,
        user_id=user_id,
        relogin=True,
        review_t=token,  # a user's token is no review link
        record_id=_first_record(api, token),
        **kw,
    )


def _dead_token(api: Api, name: str) -> tuple[str, str]:
    """An approved user's token, about to be made useless."""
    token, user_id = _user(api, name)
    agree_all(api)
    approve(user_id)
    return token, user_id


def build(state: str, api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Caller:
    outbox = env["OUTBOX_PATH"]
    if state == "none":
        return Caller(token="", login_name="newcomer")
    if state == "bad":
        return Caller(token="not-a-token", login_name="newcomer", review_t="not-a-token")
    if state == "expired":
        token, user_id = _dead_token(api, "eve")
        later = datetime.now(UTC) + timedelta(days=config.current().session_days, minutes=1)
        monkeypatch.setattr(wiring, "utcnow", lambda: later)
        wiring.reset()
        return Caller(token=token, login_name="newcomer", user_id=user_id, review_t=token)
    if state == "out":
        token, user_id = _dead_token(api, "otto")
        assert api.post("/v1/auth/logout", token=token).status == 200
        return Caller(token=token, login_name="newcomer", user_id=user_id, review_t=token)
    if state == "refused":
        token, user_id = _user(api, "rita")
        assert decide(api, AGREEMENT, "refuse").status == 201
        return _signed_in(api, "rita", token, user_id)
    if state == "withdrawn":
        token, user_id = _user(api, "walt")
        agree_all(api)
        assert api.post(f"/v1/consents/{AGREEMENT}/withdraw").status == 201
        return _signed_in(api, "walt", token, user_id)
    if state == "unverified":
        token, user_id = _user(api, "uma")
        agree_all(api)
        return _signed_in(api, "uma", token, user_id)
    if state in ("pending", "rejected", "approved"):
        name = {"pending": "paul", "rejected": "rose", "approved": "alma"}[state]
        token, user_id = _user(api, name)
        agree_all(api)
        sid = _submitted(api, name, seed=len(name))
        if state != "pending":
            _decided(api, outbox, sid, "reject" if state == "rejected" else "approve")
        return _signed_in(api, name, token, user_id, review_sid=sid)
    assert state == "another"
    return _another(api, outbox)


VICTOR = {"real_name": "受害人甲乙", "hospital": "维克多标记医院", "license_number": "LIC-VICTOR-0001"}
CAROL = {"real_name": "卡萝尔标记", "hospital": "卡萝尔标记医院", "license_number": "LIC-CAROL-0002"}


def _another(api: Api, outbox: str) -> Caller:
    """Mallory, rejected (then approved), aiming at Victor's objects and Carol's pending submission."""
    _user(api, "victor")
    agree_all(api)
    spare_key = upload(api, _image(1))  # uploaded, never submitted: Mallory will name it
    _decided(api, outbox, _submitted(api, "victor", seed=2, **VICTOR), "approve")
    victor_comment = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "维克多的评论"})
    assert victor_comment.status == 201, victor_comment.body
    victor_record = _first_record(api, str(api.token))

    _user(api, "carol")
    agree_all(api)
    carol_sid = _submitted(api, "carol", seed=3, **CAROL)

    token, mallory_id = _user(api, "mallory")
    agree_all(api)
    # A reviewer's genuine link (and form) for Mallory's submission, presented for Carol's.
    _, fields = _decided(api, outbox, _submitted(api, "mallory", seed=4), "reject")

    def promote() -> None:
        with_submission(mallory_id, "马洛丽", "doctor", "心内科")
        approve(mallory_id)

    mallory = _signed_in(api, "mallory", token, mallory_id, review_sid=carol_sid, promote=promote)
    mallory.review_t, mallory.review_csrf = fields["t"], fields["csrf"]
    mallory.record_id = victor_record
    mallory.foreign_key = spare_key
    mallory.foreign_comment = mallory.reply_to = victor_comment.body["id"]
    return mallory


# ---- the tests ----
def test_the_table_covers_every_route_of_serverless_yml() -> None:
    deployed = {r.route_key for r in routes()}
    assert set(MATRIX) == deployed, {
        "missing from the table": sorted(deployed - set(MATRIX)),
        "not a route": sorted(set(MATRIX) - deployed),
    }
    assert set(REQUESTS) == deployed
    assert VERIFICATION_PHASE_ENDS in ORDER


# Where a console post that did its work sends the browser (a pattern of the Location).
AFTER_POST = {
    "POST /console/auth": "/console",
    "POST /console/verifications/{submission_id}/claim": "/console/verifications/[0-9A-Z]{26}",
    "POST /console/users/{user_id}/revoke": "/console/users/[0-9A-Z]{26}",
    "POST /console/users/{user_id}/mute": "/console/users/[0-9A-Z]{26}",
    "POST /console/users/{user_id}/unmute": "/console/users/[0-9A-Z]{26}",
    "POST /console/comments/{comment_id}/restore": "/console/comments",
    "POST /console/comments/{comment_id}/hide": "/console/comments",
    "POST /console/comments/{comment_id}/delete": "/console/comments",
    "POST /console/articles/import": r"/console/articles\?imported=matrix-article&saved=\w+",
    "POST /console/articles/{id}/unpublish": "/console/articles",
    "POST /console/articles/{id}/publish": "/console/articles",
}


def _check(route: str, expected: str, reply: Reply) -> str | None:
    """What is wrong with this cell's answer, or None."""
    status = int(expected[:3])
    if reply.status != status:
        return f"{route}: {reply.status} {reply.text[:160]!r}, expected {expected}"
    if expected == "303":  # an action done goes back to its page; anything else to the sign-in page
        location = reply.headers.get("Location") or ""
        wanted = AFTER_POST.get(route, "/console/login")
        return None if re.fullmatch(wanted, location) else f"{route}: a 303 to {location!r}"
    if expected == "403H":
        if not reply.headers.get("Content-Type", "").startswith("text/html"):
            return f"{route}: a {status} that is not the HTML error page"
        return None
    code = CODES.get(expected)
    if code is None:
        return None
    error = (reply.body or {}).get("error") if isinstance(reply.body, dict) else None
    if not isinstance(error, dict) or error.get("code") != code or not error.get("message"):
        return f"{route}: body {reply.text[:160]!r}, expected error code {code}"
    if not CHINESE.search(str(error["message"])):
        return f"{route}: the message {error['message']!r} is not written in Chinese"
    return None


@pytest.mark.parametrize("state", STATES)
def test_every_route_answers_each_caller_state_as_the_contract_says(
    state: str, api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_seed()
    seed_articles()
    add_reviewer()
    caller = build(state, api, env, monkeypatch)
    wrong: list[str] = []
    for route in ORDER:
        reply = REQUESTS[route](api, caller)
        caller.replies.append((route, reply))
        problem = _check(route, MATRIX[route][state], reply)
        if problem:
            wrong.append(problem)
        if route == VERIFICATION_PHASE_ENDS and caller.promote is not None:
            caller.promote()
    assert not wrong, f"{state}: {len(wrong)} cells differ\n" + "\n".join(wrong)
    if state == "another":
        _nothing_of_victor_reached_mallory(caller)


def _nothing_of_victor_reached_mallory(mallory: Caller) -> None:
    """Mallory's attempts changed nothing of Carol's or Victor's, and no answer told her about them."""
    carol = SubmissionItem.get(mallory.review_sid)
    assert carol.status == "pending" and carol.decided_by is None
    assert mallory.foreign_key is not None
    assert s3().head_object(Bucket=config.current().bucket, Key=mallory.foreign_key)
    comments = dict(mallory.replies)["GET /v1/articles/{id}/comments"].body["items"]
    victor = next(c for c in comments if c["id"] == mallory.foreign_comment)
    assert victor["text"] == "维克多的评论" and victor["mine"] is False
    secrets = [*VICTOR.values(), *CAROL.values(), dev_openid("victor"), dev_openid("carol")]
    for route, reply in mallory.replies:
        text = reply.text if reply.body is None else json.dumps(reply.body, ensure_ascii=False)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{route} showed Mallory {leaked}"


# ---- the console, against the states of a staff member ----
STAFF_STATES = (
    "none",  # a browser with no console cookie
    "user",  # an approved mini-program user's token, no console cookie
    "forged",  # a session cookie naming a real member with a made-up secret
    "out",  # a member's cookie after they signed out
    "expired",  # a member's cookie 12 hours after they signed in
    "inactive",  # a member's cookie after the member was deactivated
    "reviewer",
    "moderator",
    "editor",
    "admin",
)
STAFF_COLUMNS = ("none", "user", "forg", "out", "exp", "inac", "rev", "mod", "edit", "adm")
# The link each column confirms: none (no one's), one issued before the state was reached (out:
# signing out ends the session, not a link not yet used; expired: the link expired long before;
# inactive: the member is gone), or a fresh one (the roles).
# The verification cells run in order on one applicant's pending submission: the queue, the
# submission, a claim, the decision (approve), then the approved user's page, a search for them
# and the revocation of their approval.
_CONSOLE_TABLE = """
method path                                           none user forg out  exp  inac rev  mod  edit adm
GET /console/login                                    200  200  200  200  200  200  200  200  200  200
POST /console/login                                   200  200  200  200  200  200  200  200  200  200
GET /console/auth                                     200  200  200  200  200  200  200  200  200  200
POST /console/auth                                    403H 403H 403H 303  403H 403H 303  303  303  303
GET /console                                          303  303  303  303  303  303  200  200  200  200
GET /console/staff                                    303  303  303  303  303  303  403H 403H 403H 200
GET /console/audit                                    303  303  303  303  303  303  403H 403H 403H 200
GET /console/verifications                            303  303  303  303  303  303  200  403H 403H 200
GET /console/verifications/{submission_id}            303  303  303  303  303  303  200  403H 403H 200
POST /console/verifications/{submission_id}/claim     403H 403H 403H 403H 403H 403H 303  403H 403H 303
POST /console/verifications/{submission_id}/decision  403H 403H 403H 403H 403H 403H 200  403H 403H 200
GET /console/users/{user_id}                          303  303  303  303  303  303  200  200  403H 200
GET /console/search                                   303  303  303  303  303  303  200  200  403H 200
POST /console/users/{user_id}/revoke                  403H 403H 403H 403H 403H 403H 303  403H 403H 303
POST /console/users/{user_id}/mute                    403H 403H 403H 403H 403H 403H 403H 303  403H 303
POST /console/users/{user_id}/unmute                  403H 403H 403H 403H 403H 403H 403H 303  403H 303
GET /console/comments                                 303  303  303  303  303  303  403H 200  403H 200
POST /console/comments/{comment_id}/restore           403H 403H 403H 403H 403H 403H 403H 303  403H 303
POST /console/comments/{comment_id}/hide              403H 403H 403H 403H 403H 403H 403H 303  403H 303
POST /console/comments/{comment_id}/delete            403H 403H 403H 403H 403H 403H 403H 303  403H 303
GET /console/articles                                 303  303  303  303  303  303  403H 403H 200  200
GET /console/articles/{id}/preview                    303  303  303  303  303  303  403H 403H 200  200
POST /console/articles/import                         403H 403H 403H 403H 403H 403H 403H 403H 303  303
POST /console/articles/{id}/unpublish                 403H 403H 403H 403H 403H 403H 403H 403H 303  303
POST /console/articles/{id}/publish                   403H 403H 403H 403H 403H 403H 403H 403H 303  303
GET /console/answers                                  303  303  303  303  303  303  403H 403H 200  200
POST /console/logout                                  403H 403H 403H 403H 403H 403H 303  303  303  303
"""


def _parse_console(table: str) -> dict[str, dict[str, str]]:
    lines = [line for line in table.strip().splitlines() if line.strip()]
    assert tuple(lines[0].split()[2:]) == STAFF_COLUMNS, lines[0]
    return {
        f"{method} {path}": dict(zip(STAFF_STATES, cells, strict=True))
        for method, path, *cells in (line.split() for line in lines[1:])
    }


CONSOLE_MATRIX = _parse_console(_CONSOLE_TABLE)


@dataclass
class StaffCaller:
    browser: Any  # tests.functional.console_helpers.Browser
    token: str = ""  # a mini-program token sent along (the `user` column)
    link: str = f"/console/auth?t={UNKNOWN_LINK}"  # the link the auth cells confirm
    csrf: str = "not-a-csrf"  # the session's CSRF field, while it had one
    applicant: str = "01JEEEEEEEEEEEEEEEEEEEEEEE"  # a user with a pending submission
    submission: str = UNKNOWN_SUBMISSION  # their pending submission
    comment: str = UNKNOWN_COMMENT  # a comment a moderator hid: restored, hidden, deleted in turn


def _staff_caller(state: str, api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> StaffCaller:
    from infra.ops import staff as staff_ops
    from tests.functional.console_helpers import Browser, member, sign_in_links

    outbox_path = env["OUTBOX_PATH"]
    browser = Browser(api)
    seed_articles()
    _, writer = _user(api, "cora")
    agree_all(api)
    approve(writer)
    posted = api.post(f"/v1/articles/{ARTICLE}/comments", {"text": "待管理的评论"})
    assert posted.status == 201, posted.body
    wiring.services().moderation.hide("setup", posted.body["id"], "spam")
    _, applicant = _user(api, "pat")
    agree_all(api)
    pending = {
        "applicant": applicant,
        "submission": _submitted(api, "pat", seed=7),
        "comment": posted.body["id"],
    }
    if state == "none":
        return StaffCaller(browser, **pending)
    if state == "user":
        token, user_id = _user(api, "uma")
        agree_all(api)
        approve(user_id)
        return StaffCaller(browser, token=token, **pending)
    role = state if state in ("reviewer", "moderator", "editor", "admin") else "admin"
    who = member(role, f"{role}{state}")
    if state == "forged":
        browser.cookies["hcp_console"] = f"{who}.0123456789abcdef.{'x' * 43}"
        return StaffCaller(browser, **pending)
    assert browser.sign_in(who, outbox_path, who).status == 303
    caller = StaffCaller(browser, csrf=browser.csrf(), **pending)
    browser.request_link(who)  # an unused link, confirmed by the auth cell
    parts = urlsplit(sign_in_links(outbox_path, who)[-1])
    caller.link = f"{parts.path}?{parts.query}"
    if state == "out":
        held = browser.cookies["hcp_console"]
        assert browser.post("/console/logout", {"csrf": caller.csrf}).status == 303
        browser.cookies["hcp_console"] = held  # a browser that kept the cookie it was told to drop
    if state == "expired":
        later = datetime.now(UTC) + timedelta(hours=12, seconds=1)
        monkeypatch.setattr(wiring, "utcnow", lambda: later)
        wiring.reset()
    if state == "inactive":
        staff_ops.deactivate(who)
    return caller


IMPORTED = (
    "---\nid: matrix-article\ntitle: 矩阵\npublished_at: 2026-11-01T09:00:00+08:00\nauthor: 编辑\n"
    "original: true\nsummary: 摘要\n---\n## 问：一\n答：二\n"
).encode()


def _console_requests(c: StaffCaller) -> dict[str, Callable[[], Reply]]:
    from tests.functional.console_helpers import hidden, multipart_post

    b = c.browser

    def sign_in_post() -> Reply:
        page = b.call("GET", "/console/login")
        return b.post("/console/login", {"csrf": hidden(page.text), "who": "someone"})

    def confirm() -> Reply:
        page = b.get(c.link)
        return b.post("/console/auth", {"t": hidden(page.text, "t"), "csrf": hidden(page.text)})

    def with_token(path: str) -> Callable[[], Reply]:
        return lambda: b.api.call("GET", path, token=c.token, headers=_cookie_header(b))

    return {
        "GET /console/login": with_token("/console/login"),
        "POST /console/login": sign_in_post,
        "GET /console/auth": lambda: b.get(c.link),
        "POST /console/auth": confirm,
        "GET /console": with_token("/console"),
        "GET /console/staff": with_token("/console/staff"),
        "GET /console/audit": with_token("/console/audit"),
        "GET /console/verifications": with_token("/console/verifications"),
        "GET /console/verifications/{submission_id}": with_token(f"/console/verifications/{c.submission}"),
        "POST /console/verifications/{submission_id}/claim": lambda: b.post(
            f"/console/verifications/{c.submission}/claim", {"csrf": c.csrf}
        ),
        "POST /console/verifications/{submission_id}/decision": lambda: b.post(
            f"/console/verifications/{c.submission}/decision", {"csrf": c.csrf, "decision": "approve"}
        ),
        "GET /console/users/{user_id}": with_token(f"/console/users/{c.applicant}"),
        "GET /console/search": with_token(f"/console/search?q={c.applicant}"),
        "POST /console/users/{user_id}/revoke": lambda: b.post(
            f"/console/users/{c.applicant}/revoke", {"csrf": c.csrf, "reason": "other"}
        ),
        "POST /console/users/{user_id}/mute": lambda: b.post(
            f"/console/users/{c.applicant}/mute", {"csrf": c.csrf, "days": "7"}
        ),
        "POST /console/users/{user_id}/unmute": lambda: b.post(
            f"/console/users/{c.applicant}/unmute", {"csrf": c.csrf}
        ),
        "GET /console/comments": with_token("/console/comments"),
        "POST /console/comments/{comment_id}/restore": lambda: b.post(
            f"/console/comments/{c.comment}/restore", {"csrf": c.csrf}
        ),
        "POST /console/comments/{comment_id}/hide": lambda: b.post(
            f"/console/comments/{c.comment}/hide", {"csrf": c.csrf, "reason": "abuse"}
        ),
        "POST /console/comments/{comment_id}/delete": lambda: b.post(
            f"/console/comments/{c.comment}/delete", {"csrf": c.csrf}
        ),
        "GET /console/articles": with_token("/console/articles"),
        "GET /console/articles/{id}/preview": with_token(f"/console/articles/{ARTICLE}/preview"),
        "POST /console/articles/import": lambda: multipart_post(
            b, "/console/articles/import", {"csrf": c.csrf}, {"file": ("a.md", IMPORTED)}
        ),
        "POST /console/articles/{id}/unpublish": lambda: b.post(
            f"/console/articles/{ARTICLE}/unpublish", {"csrf": c.csrf}
        ),
        "POST /console/articles/{id}/publish": lambda: b.post(
            f"/console/articles/{ARTICLE}/publish", {"csrf": c.csrf}
        ),
        "GET /console/answers": with_token("/console/answers"),
        "POST /console/logout": lambda: b.post("/console/logout", {"csrf": c.csrf}),
    }


def _cookie_header(browser: Any) -> dict[str, str]:
    jar = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    return {"cookie": jar} if jar else {}


def test_the_console_table_covers_every_console_route() -> None:
    console = {r.route_key for r in routes() if not r.in_contract}
    assert set(CONSOLE_MATRIX) == console
    assert set(MATRIX) >= console  # and the users' table has a cell for each of them too


@pytest.mark.parametrize("state", STAFF_STATES)
def test_every_console_route_answers_each_staff_state(
    state: str, api: Api, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_seed()
    seed_articles()
    caller = _staff_caller(state, api, env, monkeypatch)
    held = dict(caller.browser.cookies)
    requests_ = _console_requests(caller)
    wrong = []
    for route, expected in CONSOLE_MATRIX.items():
        caller.browser.cookies = dict(held)  # each cell with the cookies of its state
        reply = requests_[route]()
        problem = _check(route, expected[state], reply)
        if problem:
            wrong.append(problem)
    assert not wrong, f"{state}: {len(wrong)} cells differ\n" + "\n".join(wrong)
