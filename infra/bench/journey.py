"""Every endpoint once on its happy path, in-process against moto, with its AWS calls and units.

One user goes the whole way (login, consents, verification with two images, the reviewer's
approval, an update of the approved details keeping both images and its withdrawal, questions,
articles and comments, export, withdrawal, logout, deletion), and each
request is metered: the calls through the botocore hook of `infra.metering.metered()` (the models'
clients plus the S3 and SNS clients), the DynamoDB units by `infra.bench.capacity`.

Measured as a warm container serves them: the consent catalog, the WeChat access token, the
active reviewers and the comment author's display are cached before the metered request, as they
are after a function's first request (their refresh costs a read per container every few minutes,
not per request).
The stage is the local one, plus the reviewer topic, so a reviewer with an e-mail address is
informed through SNS as in a deployed stage.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from infra.bench import launch
from infra.bench.capacity import capacity
from infra.metering import metered
from infra.routes import invoke, match, routes
from shared import config, wiring

ARTICLE = "hypertension-elderly"  # a demo article of infra/seed/articles
DEEP_ARTICLE = "antibiotic-stewardship"
SPREAD_ARTICLE = "perioperative-anticoagulation"  # the depth of an article spread like a hot one
BENCH_ARTICLE = (
    "---\nid: bench-draft\ntitle: 压测草稿\npublished_at: 2026-11-01T09:00:00+08:00\nauthor: 编辑\n"
    "original: true\nsummary: 摘要\n---\n导语。\n\n## 问：一\n答：二\n"
)
REVIEWER_EMAIL = "reviewer@example.invalid"
OTHER_AUTHOR = "01J0BENCH0000000000000000A"
APPLICANT = {
    "real_name": "张医生",
    "hospital": "北京协和医院",
    "department": "心内科",
    "title": "主治医师",
    "profession": "doctor",
}


class BenchError(RuntimeError):
    """A request of the happy path did not answer as it should: the bench cannot measure it."""


@dataclass
class Reply:
    status: int
    body: Any
    text: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Measured:
    label: str  # "GET /v1/me" or "GET /v1/me (a case)"
    function: str  # its function in serverless.yml
    calls: list[str]
    read_units: float
    write_units: float
    ms: float
    units_by_call: list[tuple[str, float, float]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.calls)


class Client:
    """Calls handlers as API Gateway would: the route of serverless.yml, a real v2 event."""

    def __init__(self) -> None:
        self.routes = routes()
        self.token: str | None = None

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: str | bytes | None = None,
    ) -> Reply:
        hdrs = {"content-type": "application/json", "user-agent": "bench", **(headers or {})}
        bearer = self.token if token is None else token
        if bearer:
            hdrs["authorization"] = f"Bearer {bearer}"
        payload = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False))
        status, answer_headers, text, parsed = invoke(self.routes, method, path, hdrs, payload)
        return Reply(status, parsed, text, answer_headers)


def image_bytes(color: tuple[int, int, int]) -> bytes:
    """A small JPEG with a pattern, so two colors make two different images."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (64, 64), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((16, 16, 32, 32), fill=(color[2], color[0], color[1]))
    draw.line((0, 63, 63, color[1] % 64), fill=(255, 255, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return out.getvalue()


def _aws_clients() -> list[Any]:
    """The non-DynamoDB clients a request may use (built now, so the hook sees them)."""
    app = wiring.services()
    clients = [app.storage.client]
    if app.cfg.topic_arn:
        clients.append(app.sns.client)
    return clients


class Journey:
    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()
        self.measured: list[Measured] = []
        self.footprint = launch.Footprint()

    # ---- one metered request ----
    def measure(
        self, label: str, method: str, path: str, body: Any = None, *, expect: int = 200, **kw: Any
    ) -> Reply:
        route, _ = match(self.client.routes, method, path)
        region = config.current().region
        with metered(*_aws_clients()) as meter, capacity(region) as units:
            started = time.perf_counter()
            reply = self.client.call(method, path, body, **kw)
            ms = (time.perf_counter() - started) * 1000
        if reply.status != expect:
            raise BenchError(f"{label}: {reply.status} {reply.text[:300]}")
        self.measured.append(
            Measured(
                label=label,
                function=route.function,
                calls=list(meter.calls),
                read_units=units.read,
                write_units=units.write,
                ms=round(ms, 1),
                units_by_call=list(units.by_call),
            )
        )
        return reply

    def measure_scheduled(self, label: str, function: str, handler: Any) -> Any:
        region = config.current().region
        with metered(*_aws_clients()) as meter, capacity(region) as units:
            started = time.perf_counter()
            result = handler({}, None)
            ms = (time.perf_counter() - started) * 1000
        self.measured.append(
            Measured(label, function, list(meter.calls), units.read, units.write, round(ms, 1), units.by_call)
        )
        return result

    def call(self, method: str, path: str, body: Any = None, *, expect: int = 200, **kw: Any) -> Reply:
        """An unmetered request (setting the scene)."""
        reply = self.client.call(method, path, body, **kw)
        if reply.status != expect:
            raise BenchError(f"{method} {path}: {reply.status} {reply.text[:300]}")
        return reply

    # ---- the journey ----
    def run(self) -> list[Measured]:
        """Every endpoint, in the order a user meets them; the account is deleted at the end."""
        from functions.notifier import remind, retry

        set_scene()
        with launch.footprint_of(skip=_scenery) as self.footprint:  # the user at their fullest
            self._login_and_consents()
            self._funnel_count()
            self._verification()
            self._questions()
            self._articles()
        self._account()
        self.measure_scheduled("schedule notifierRetry (nothing due)", "notifierRetry", retry)
        self.measure_scheduled("schedule reviewReminders (nothing overdue)", "reviewReminders", remind)
        self._console()
        return self.measured

    def _funnel_count(self) -> None:
        """The users table's stream delivers the consenting user's changes: they are counted."""
        from functions.funnel import count

        user_id = self.call("GET", "/v1/me").body["id"]
        change = {"Keys": {"user_id": {"S": user_id}}, "SequenceNumber": "1"}
        event = {"Records": [{"eventName": "MODIFY", "dynamodb": change}]}
        self.measure_scheduled(
            "stream funnelCount (one user moved)", "funnelCount", lambda e, c: count(event)
        )

    def _console(self) -> None:
        """A member signs in to the console by the link sent to their e-mail, sees the dashboard
        and the staff list, and signs out (the browser's cookies kept here)."""
        from infra.ops import staff as staff_ops

        admin = staff_ops.add("值班管理员", "admin", email="console-admin@example.invalid").staff_id
        origin = config.current().public_base_url
        cookies: dict[str, str] = {}

        def send(label: str, method: str, path: str, form: Any = None, expect: int = 200) -> Reply:
            headers = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
            raw = None
            if form is not None:
                headers |= {"content-type": "application/x-www-form-urlencoded", "origin": origin}
                raw = urlencode(form)
            reply = self.measure(label, method, path, raw=raw, headers=headers, token="", expect=expect)
            for line in reply.headers.get("Set-Cookie", "").splitlines():
                name, _, rest = line.partition("=")
                cookies[name] = rest.split(";", 1)[0]
            return reply

        csrf = hidden(send("GET /console/login", "GET", "/console/login").text, "csrf")
        send("POST /console/login", "POST", "/console/login", {"csrf": csrf, "who": admin})
        link = urlsplit(outbox_link("sign_in", admin))
        page = send("GET /console/auth", "GET", f"{link.path}?{link.query}").text
        form = {"t": hidden(page, "t"), "csrf": hidden(page, "csrf")}
        send("POST /console/auth", "POST", "/console/auth", form, expect=303)
        dashboard = send("GET /console", "GET", "/console").text
        send("GET /console/staff", "GET", "/console/staff")
        send("GET /console/comments", "GET", "/console/comments")
        send("GET /console/verifications", "GET", "/console/verifications")
        send("GET /console/audit", "GET", "/console/audit")
        self._editing(send, hidden(dashboard, "csrf"), cookies)
        self._support_and_moderation(send, hidden(dashboard, "csrf"))
        send(
            "POST /console/logout", "POST", "/console/logout", {"csrf": hidden(dashboard, "csrf")}, expect=303
        )

    def _support_and_moderation(self, send: Any, csrf: str) -> None:
        """The reviewers', support's and moderators' pages and actions (an admin may do them all):
        a pending submission's page, its claim and decision; a user's page, search, a revocation,
        a mute and its end; a comment hidden, restored and deleted."""
        app = wiring.services()
        applicant = approved_hcp(self.client, "bench-console-applicant")
        data = image_bytes((120, 60, 30))
        body = {"kind": "practice_license", "content_type": "image/jpeg", "size": len(data)}
        key = str(self.call("POST", "/v1/verification/uploads", body).body["key"])
        app.storage.client.put_object(Bucket=app.cfg.bucket, Key=key, Body=data, ContentType="image/jpeg")
        update = {**APPLICANT, "hospital": "北京大学人民医院", "documents": [key]}
        submission = self.call("POST", "/v1/verification", update, expect=201).body["submission_id"]
        comment = self.call(
            "POST", f"/v1/articles/{ARTICLE}/comments", {"text": "待管理的评论"}, expect=201
        ).body["id"]
        page = f"/console/verifications/{submission}"
        send("GET /console/verifications/{submission_id}", "GET", page)
        send(
            "POST /console/verifications/{submission_id}/claim", "POST", f"{page}/claim", {"csrf": csrf}, 303
        )
        decision = {"csrf": csrf, "decision": "approve"}
        send("POST /console/verifications/{submission_id}/decision", "POST", f"{page}/decision", decision)
        user = f"/console/users/{applicant}"
        send("GET /console/users/{user_id}", "GET", user)
        send("GET /console/search", "GET", f"/console/search?q={applicant}")
        send("POST /console/users/{user_id}/mute", "POST", f"{user}/mute", {"csrf": csrf, "days": "1"}, 303)
        send("POST /console/users/{user_id}/unmute", "POST", f"{user}/unmute", {"csrf": csrf}, 303)
        revoke = {"csrf": csrf, "reason": "other"}
        send("POST /console/users/{user_id}/revoke", "POST", f"{user}/revoke", revoke, 303)
        moderated = f"/console/comments/{comment}"
        hide = {"csrf": csrf, "reason": "off_topic"}
        send("POST /console/comments/{comment_id}/hide", "POST", f"{moderated}/hide", hide, 303)
        send(
            "POST /console/comments/{comment_id}/restore", "POST", f"{moderated}/restore", {"csrf": csrf}, 303
        )
        send("POST /console/comments/{comment_id}/delete", "POST", f"{moderated}/delete", {"csrf": csrf}, 303)

    def _editing(self, send: Any, csrf: str, cookies: dict[str, str]) -> None:
        """The editors' pages (an admin may open them): the articles, an import, a schedule, an
        unpublication and its undoing, a preview, the answer statistics."""
        from shared.domain import times

        send("GET /console/articles", "GET", "/console/articles")
        send("GET /console/articles/{id}/preview", "GET", f"/console/articles/{ARTICLE}/preview")
        boundary = "bench-boundary"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.md"\r\n\r\n'
            f"{BENCH_ARTICLE}\r\n--{boundary}--\r\n"
        ).encode()
        headers = {
            "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "content-type": f"multipart/form-data; boundary={boundary}",
            "origin": config.current().public_base_url,
        }
        self.measure(
            "POST /console/articles/import",
            "POST",
            "/console/articles/import",
            raw=body,
            headers=headers,
            token="",
            expect=303,
        )
        at = times.local(wiring.utcnow() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
        form = {"csrf": csrf, "publish_at": at}
        send(
            "POST /console/articles/{id}/publish", "POST", "/console/articles/bench-draft/publish", form, 303
        )
        unpublish = f"/console/articles/{ARTICLE}/unpublish"
        send("POST /console/articles/{id}/unpublish", "POST", unpublish, {"csrf": csrf}, expect=303)
        self.call(
            "POST",
            f"/console/articles/{ARTICLE}/publish",
            raw=urlencode({"csrf": csrf, "publish_at": ""}),
            headers={
                "cookie": headers["cookie"],
                "content-type": "application/x-www-form-urlencoded",
                "origin": headers["origin"],
            },
            token="",
            expect=303,
        )
        send("GET /console/answers", "GET", "/console/answers")

    def _login_and_consents(self) -> None:
        from shared.domain.consent import AGREEMENT, INFORMED

        self.measure("GET /v1/config", "GET", "/v1/config")
        self.call("GET", "/v1/consents/documents")  # a warm container: the catalog is cached
        self.measure("GET /v1/consents/documents", "GET", "/v1/consents/documents")
        code = {"code": "dev:bench"}
        self.measure("POST /v1/auth/login (new user)", "POST", "/v1/auth/login", code)
        self.client.token = self.measure(
            "POST /v1/auth/login (returning user)", "POST", "/v1/auth/login", code
        ).body["token"]
        items = self.call("GET", "/v1/consents/documents").body["items"]
        versions = {d["key"]: d["version"] for d in items}
        agreement = {"document": AGREEMENT, "version": versions[AGREEMENT], "decision": "agree"}
        agreed = self.measure("POST /v1/consents", "POST", "/v1/consents", agreement, expect=201)
        informed = {"document": INFORMED, "version": versions[INFORMED], "decision": "agree"}
        self.call("POST", "/v1/consents", informed, expect=201)
        self.measure("GET /v1/consents", "GET", "/v1/consents")
        receipt = f"/v1/consents/{agreed.body['id']}/receipt"
        self.measure("GET /v1/consents/{record_id}/receipt", "GET", receipt)
        self.measure("GET /v1/consents/receipt-key", "GET", "/v1/consents/receipt-key")
        self.measure("GET /v1/me", "GET", "/v1/me")

    def _verification(self) -> None:
        """Two images uploaded where the presigned POSTs point, submitted, approved by the reviewer."""
        app = wiring.services()
        keys: list[str] = []
        for kind, color in (("practice_license", (200, 30, 30)), ("qualification", (0, 90, 200))):
            data = image_bytes(color)
            body = {"kind": kind, "content_type": "image/jpeg", "size": len(data)}
            path = "/v1/verification/uploads"
            reply = (
                self.call("POST", path, body) if keys else self.measure(f"POST {path}", "POST", path, body)
            )
            keys.append(str(reply.body["key"]))
            app.storage.client.put_object(
                Bucket=app.cfg.bucket, Key=keys[-1], Body=data, ContentType="image/jpeg"
            )
        applicant = {**APPLICANT, "documents": keys}
        app.reviewers.active()  # warm, as any earlier submission in this container leaves it
        submitted = self.measure(
            "POST /v1/verification (two images)", "POST", "/v1/verification", applicant, expect=201
        )
        self.measure("GET /v1/verification", "GET", "/v1/verification")
        link = reviewer_link(str(submitted.body["submission_id"]))
        page = self.measure("GET /review/{submission_id}", "GET", link_path(link), token="")
        hidden = form_fields(page.text, "approve")
        form = urlencode([("t", hidden["t"]), ("csrf", hidden["csrf"]), ("decision", "approve")])
        self.measure(
            "POST /review/{submission_id}/decision",
            "POST",
            f"{urlsplit(link).path}/decision",
            raw=form,
            token="",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        self._update()

    def _update(self) -> None:
        """The approved user updates their details keeping both images (copied, not uploaded
        again), looks at it, and takes it back: the approval stands throughout."""
        update = {
            **APPLICANT,
            "hospital": "北京大学第一医院",
            "documents": [],
            "keep": ["practice_license", "qualification"],
        }
        label = "POST /v1/verification (an update keeping two images)"
        self.measure(label, "POST", "/v1/verification", update, expect=201)
        self.measure("GET /v1/verification (an update pending)", "GET", "/v1/verification")
        self.measure("POST /v1/verification/withdraw", "POST", "/v1/verification/withdraw")

    def _questions(self) -> None:
        questions = self.measure("GET /v1/questions", "GET", "/v1/questions").body["items"]
        answers = [
            {"question_id": q["id"], "value": q["options"][0] if q["kind"] == "single" else [q["options"][0]]}
            for q in questions
            if q["required"]
        ]
        self.measure("POST /v1/answers", "POST", "/v1/answers", {"answers": answers})

    def _articles(self) -> None:
        others = seed_comments(ARTICLE, 30)  # a full page of comments by others
        self.measure("GET /v1/articles", "GET", "/v1/articles")
        self.measure("GET /v1/articles/{id}", "GET", f"/v1/articles/{ARTICLE}")
        comments = f"/v1/articles/{ARTICLE}/comments"
        self.call("POST", comments, {"text": "第一条评论"}, expect=201)  # caches the author display
        text = {"text": "请问老年患者的目标血压？"}
        posted = self.measure("POST /v1/articles/{id}/comments", "POST", comments, text, expect=201)
        self.measure("GET /v1/articles/{id}/comments", "GET", comments)
        self.measure("DELETE /v1/comments/{id}", "DELETE", f"/v1/comments/{posted.body['id']}")
        reported = f"/v1/comments/{others[-1]}.{ARTICLE}/reports"
        self.measure("POST /v1/comments/{id}/reports", "POST", reported, {"reason": "spam"}, expect=201)
        style = {"style": "title", "show_department": False}
        self.measure("PUT /v1/me/author", "PUT", "/v1/me/author", style)

    def _account(self) -> None:
        from shared.domain.consent import INFORMED

        self.measure("GET /v1/me/export", "GET", "/v1/me/export")
        withdraw = f"/v1/consents/{INFORMED}/withdraw"
        self.measure("POST /v1/consents/{document}/withdraw", "POST", withdraw, expect=201)
        other_session = self.call("POST", "/v1/auth/login", {"code": "dev:bench"}).body["token"]
        self.measure("POST /v1/auth/logout", "POST", "/v1/auth/logout", token=other_session)
        self.measure("DELETE /v1/me", "DELETE", "/v1/me")


def _scenery(item: dict[str, Any]) -> bool:
    """The bench's own comments by another author, not the user's."""
    return item.get("author_id") == {"S": OTHER_AUTHOR}


def set_scene() -> None:
    """The consent documents, the demo articles and one reviewer with an e-mail address."""
    from infra.ops import articles as article_ops
    from infra.ops import consent as consent_ops
    from infra.ops import staff as staff_ops

    consent_ops.publish_seed()
    article_ops.import_seed()
    staff_ops.add("审核员", "reviewer", email=REVIEWER_EMAIL)


def reviewer_link(submission_id: str) -> str:
    """The reviewer's link for the submission, from the local outbox."""
    path = config.current().outbox_path
    if not path:
        raise BenchError("the outbox path is not set: no reviewer link to follow")
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry.get("channel") == "reviewer" and entry.get("submission_id") == submission_id:
            return str(entry["link"])
    raise BenchError("no reviewer was informed of the submission")


def outbox_link(kind: str, staff_id: str) -> str:
    """The newest link of `kind` sent to a staff member, from the local outbox."""
    path = config.current().outbox_path
    lines = Path(path).read_text(encoding="utf-8").splitlines() if path else []
    for line in reversed(lines):
        entry = json.loads(line)
        if entry.get("kind") == kind and entry.get("staff_id") == staff_id:
            return str(entry["link"])
    raise BenchError(f"no {kind} link reached the outbox")


def hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', html)
    if found is None:
        raise BenchError(f"the page has no {name} field")
    return found.group(1)


def link_path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def form_fields(html: str, decision: str) -> dict[str, str]:
    forms = re.findall(r"<form .*?</form>", html, flags=re.S)
    form = next(f for f in forms if f'name="decision" value="{decision}"' in f)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def seed_comments(
    article_id: str, count: int, text: str = "病例讨论：这一方案值得参考。", partitions: int = 1
) -> list[str]:
    """`count` visible comments by another author, oldest first, written in batches (not metered),
    dealt in turn over the article's first `partitions` comment partitions.

    The article's count moves by as many, as the posts would have moved it.
    """
    from ulid import ULID

    from shared.store.articles import ArticleItem
    from shared.store.comments import CommentItem, partition

    start = datetime.now(UTC) - timedelta(days=30)
    ids = []
    with CommentItem.batch_write() as batch:
        for n in range(count):
            created = start + timedelta(seconds=n)
            comment_id = str(ULID.from_datetime(created))
            ids.append(comment_id)
            batch.save(
                CommentItem(
                    partition(article_id, n % partitions),
                    comment_id,
                    author_id=OTHER_AUTHOR,
                    author_name="李医生",
                    author_department="心内科",
                    text=f"{text} #{n}",
                    created_at=created,
                )
            )
    ArticleItem(article_id).update(actions=[ArticleItem.comment_count.add(count)])
    return ids


@contextmanager
def bench_stack(var: Path) -> Iterator[config.Config]:
    """moto in-process, the fake WeChat on loopback, the stage's resources and the reviewer topic.

    For `python -m infra.bench` only: it sets this process's environment, as a Lambda's would be.
    """
    import contextlib
    import logging

    from moto import mock_aws

    from infra import resources
    from infra.fake_wechat import FakeWeChatServer
    from shared.log import logger

    logger.setLevel(logging.WARNING)  # the access log of every request would bury the table
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            config.ENV_REGION: "us-east-1",
        }
    )
    for name in (config.ENV_ENDPOINT, "AWS_PROFILE"):
        os.environ.pop(name, None)
    var.mkdir(parents=True, exist_ok=True)
    outbox = var / "bench-outbox.jsonl"
    outbox.unlink(missing_ok=True)
    wechat = FakeWeChatServer("wx-bench-app", "bench-wechat-secret").start()
    os.environ.update(
        {
            config.ENV_STAGE: "test",
            config.ENV_WECHAT_APPID: "wx-bench-app",
            config.ENV_WECHAT_SECRET: "bench-wechat-secret",
            config.ENV_WECHAT_BASE_URL: wechat.base_url,
            config.ENV_REVIEW_LINK_KEY: "bench-review-link-key-0123456789abcdef",
            config.ENV_CONSOLE_KEY: "bench-console-key-0123456789abcdef",
            config.ENV_CURSOR_KEY: "bench-cursor-key-0123456789abcdef",
            config.ENV_RECEIPT_KEY: "bench-receipt-seed-0123456789abcdef",
            config.ENV_PUBLIC_BASE_URL: "http://127.0.0.1:9",
            config.ENV_OUTBOX_PATH: str(outbox),
            config.ENV_CONSENT_CACHE_SECONDS: "300",
            # reviewer messages batched as in a deployed stage (the local stage sends each at once)
            config.ENV_REVIEWER_BATCH_SECONDS: str(config.DEFAULT_REVIEWER_BATCH_SECONDS),
        }
    )
    os.environ.pop(config.ENV_TOPIC_ARN, None)
    mock = mock_aws()
    mock.start()
    try:
        wiring.reset()
        created = resources.ensure(config.current())
        os.environ[config.ENV_TOPIC_ARN] = created.topic_arn
        wiring.reset()
        # the local outbox echoes each message on stderr
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield config.current()
    finally:
        mock.stop()
        wechat.stop()
        wiring.reset()


def approved_hcp(client: Client, name: str) -> str:
    """Log `name` in under the current documents, approved as an HCP (as a reviewer's decision
    leaves the user item); the token stays on `client`. Returns the user id."""
    from shared.domain.consent import AGREEMENT, INFORMED
    from shared.store.users import UserItem

    login = client.call("POST", "/v1/auth/login", {"code": f"dev:{name}"})
    client.token = login.body["token"]
    for doc in client.call("GET", "/v1/consents/documents").body["items"]:
        if doc["key"] in (AGREEMENT, INFORMED):
            decision = {"document": doc["key"], "version": doc["version"], "decision": "agree"}
            if client.call("POST", "/v1/consents", decision).status != 201:
                raise BenchError(f"{name} could not agree to {doc['key']}")
    user_id = str(login.body["user"]["id"])
    UserItem(user_id).update(actions=[UserItem.verification_status.set("approved")])
    return user_id
