"""The journeys, run as the deployed functions would run them, recording what IAM each call needs.

Every request goes to its function as in a deployed stage:
- in its own container: a cold start (the built services and the secrets cache are dropped),
  so what a function reads once per container (the consent catalog, secrets, the WeChat token)
  is read, and attributed, by every function that needs it;
- with its own environment, taken from its `AWS::Lambda::Function` in the packaged template
  (table prefix, bucket, topic, SSM parameter names), mapped to the test stage's names: a
  function is given only what its deployed twin is given;
- reading its secrets from SSM parameters (put in moto), never from plain values.
Calls made between requests (publishing documents, adding reviewers, uploading the bytes where a
presigned POST points) are the operator's or the client's, attributed to no function.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from infra import package
from infra.bench.journey import Client, Journey
from infra.fake_robot import FakeRobot
from infra.iam_check import StageNames, logical_function_id, resolve
from infra.metering import CallRecorder
from infra.routes import match
from shared import config, wiring
from shared.adapters import secrets

STAGE = "test"
APPID = "wx-iam-app"
WECHAT_SECRET = "iam-wechat-secret"
PARAMETERS = f"/hcp/{STAGE}"
RESULT_TEMPLATE = "tmpl-verification-result"
# Variables a function's template environment gives it that name AWS resources or parameters:
# taken from the template (mapped to the test stage) and unset where the template has none.
FROM_TEMPLATE = (
    config.ENV_TABLE_PREFIX,
    config.ENV_BUCKET,
    config.ENV_TOPIC_ARN,
    config.ENV_WECHAT_SECRET_PARAM,
    config.ENV_REVIEW_LINK_KEY_PARAM,
    config.ENV_CONSOLE_KEY_PARAM,
    config.ENV_CURSOR_KEY_PARAM,
    config.ENV_RECEIPT_KEY_PARAM,
    config.ENV_RESULT_TEMPLATE_ID,
    config.ENV_REVIEWER_BATCH_SECONDS,  # reviewer messages batched as deployed
    config.ENV_CONTENT_CHECK_QUEUE_URL,
    config.ENV_TMS_CREDENTIALS_PARAM,
)
TMS_SECRET_ID, TMS_SECRET_KEY = "AKIDiam", "iam-tms-secret-key"
# The ci stage configures no result template, so its decision sends no WeChat message; a stage
# that configures one does, and the role must allow it: the journeys run as such a stage.
OVERRIDES = {config.ENV_RESULT_TEMPLATE_ID: RESULT_TEMPLATE}


def stage_names(template_stage: str, region: str, account: str) -> StageNames:
    return StageNames(
        region,
        account,
        ((f"hcp-{template_stage}-", f"hcp-{STAGE}-"), (f"/hcp/{template_stage}/", f"{PARAMETERS}/")),
    )


class Containers:
    """One Lambda container per request: the function's own environment, from a cold start."""

    def __init__(
        self, template: dict[str, Any], functions: list[str], names: StageNames, recorder: CallRecorder
    ) -> None:
        self.template = template
        self.all_functions = functions
        self.names = names
        self.recorder = recorder
        self.functions: list[str] = []  # every function that served a request, in order

    def environment(self, function: str) -> dict[str, str]:
        spec = self.template["Resources"][logical_function_id(function)]["Properties"]
        variables = (spec.get("Environment") or {}).get("Variables") or {}
        return {
            key: OVERRIDES.get(key, resolve(variables[key], self.template, self.names))
            for key in FROM_TEMPLATE
            if key in variables
        }

    def operator_environment(self) -> dict[str, str]:
        """What the ops commands run with: the stage's settings, every function's together."""
        merged: dict[str, str] = {}
        for function in self.all_functions:
            merged.update(self.environment(function))
        return merged

    def bundle(self, function: str) -> str:
        """The bundle whose zip the function runs (its code's S3 key)."""
        key = self.template["Resources"][logical_function_id(function)]["Properties"]["Code"]["S3Key"]
        return str(key).rpartition("/")[2].removesuffix(".zip")

    @contextmanager
    def serving(self, function: str) -> Iterator[None]:
        with only_in_zip(self.bundle(function)), self._serving(function):
            yield

    @contextmanager
    def _serving(self, function: str) -> Iterator[None]:
        own = self.environment(function)
        saved = {key: os.environ.get(key) for key in FROM_TEMPLATE}
        for key in FROM_TEMPLATE:
            os.environ.pop(key, None)
        os.environ.update(own)
        cold_start()
        self.functions.append(function)
        try:
            with self.recorder.acting_as(function):
                yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            cold_start()


class _NotInZip(importlib.abc.MetaPathFinder):
    def __init__(self, bundle: str, absent: set[str]) -> None:
        self.bundle = bundle
        self.absent = absent

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in self.absent:
            raise ModuleNotFoundError(f"{fullname} is not in the {self.bundle} zip", name=fullname)


@contextmanager
def only_in_zip(bundle: str) -> Iterator[None]:
    """The libraries of the other bundles cannot be imported, as in the function's own zip: a
    function that needs Pillow or cryptography and does not run their bundle fails its journey."""
    absent = {m for other, modules in package.EXTRA_MODULES.items() if other != bundle for m in modules}
    loaded = {name: module for name, module in sys.modules.items() if name.partition(".")[0] in absent}
    for name in loaded:
        del sys.modules[name]
    finder = _NotInZip(bundle, absent)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        sys.modules.update(loaded)


def cold_start() -> None:
    """Forget what a container keeps between requests: the built services and cached secrets."""
    wiring.reset()
    secrets._cache.clear()


class ContainerClient(Client):
    """The bench's client, each request served by its function's own container."""

    def __init__(self, containers: Containers) -> None:
        super().__init__()
        self.containers = containers

    def call(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        route, _ = match(self.routes, method, path)
        with self.containers.serving(route.function):
            return super().call(method, path, *args, **kwargs)


class ContainerJourney(Journey):
    """The bench's journey (every endpoint's happy path), each request in its own container."""

    def __init__(self, containers: Containers) -> None:
        super().__init__(ContainerClient(containers))
        self.containers = containers

    def measure_scheduled(self, label: str, function: str, handler: Any) -> Any:
        with self.containers.serving(function):
            return super().measure_scheduled(label, function, handler)

    def scheduled(self, function: str, handler: Any) -> Any:
        with self.containers.serving(function):
            return handler({}, None)


@contextmanager
def later(seconds: int) -> Iterator[None]:
    """The services' clock moved forward (past a backoff), as a later scheduled run sees it."""
    real = wiring.utcnow
    wiring.utcnow = lambda: real() + timedelta(seconds=seconds)  # type: ignore[assignment]
    try:
        yield
    finally:
        wiring.utcnow = real  # type: ignore[assignment]


# ---- paths the bench's happy path does not take ----


def consented_user(journey: Journey, name: str) -> None:
    """Log `name` in (the token stays on the journey's client) and agree to every document."""
    client = journey.client
    client.token = journey.call("POST", "/v1/auth/login", {"code": f"dev:{name}"}).body["token"]
    for doc in journey.call("GET", "/v1/consents/documents").body["items"]:
        journey.call("POST", "/v1/consents", {**_agree(doc)}, expect=201)


def _agree(doc: dict[str, Any]) -> dict[str, str]:
    return {"document": str(doc["key"]), "version": str(doc["version"]), "decision": "agree"}


def uploaded(
    journey: Journey, color: tuple[int, int, int], kind: str = "practice_license", data: bytes | None = None
) -> str:
    """Ask for a presigned POST and put the bytes where it points (as the mini-program would)."""
    from infra.bench.journey import image_bytes

    data = image_bytes(color) if data is None else data
    body = {"kind": kind, "content_type": "image/jpeg", "size": len(data)}
    key = str(journey.call("POST", "/v1/verification/uploads", body).body["key"])
    app = wiring.services()
    app.storage.client.put_object(Bucket=app.cfg.bucket, Key=key, Body=data, ContentType="image/jpeg")
    return key


def owed_notification(journey: ContainerJourney, robot: FakeRobot) -> None:
    """Verification off the happy path, and the scheduled retry delivering what was owed:
    a submission whose second image is not one (the first one's sanitized copy is discarded);
    then one sent with an Idempotency-Key while SNS is down and the robot of a reviewer who signs
    their webhooks answers 500, and sent again (a replay: it reads the submission it made); the
    retry delivers both channels once the backoff has passed and SNS is back."""
    from functions.notifier import retry
    from infra.bench.journey import APPLICANT
    from infra.ops import staff as staff_ops

    secret = f"{PARAMETERS}/reviewer-webhook/duty"
    resource_client("ssm").put_parameter(Name=secret, Value="SECiam", Type="SecureString")
    staff_ops.add("值班群", "reviewer", webhook=robot.url, webhook_secret_param=secret)
    consented_user(journey, "owed-notification")
    good = uploaded(journey, (20, 160, 60))
    bad = uploaded(journey, (0, 0, 0), kind="qualification", data=b"\xff\xd8 not really a JPEG")
    journey.call("POST", "/v1/verification", {**APPLICANT, "documents": [good, bad]}, expect=400)

    topic = config.current().topic_arn
    resource_client("sns").delete_topic(TopicArn=topic)
    robot.statuses = [500]
    submission = {**APPLICANT, "documents": [good]}
    key = {"idempotency-key": "iam-submit-1"}
    journey.call("POST", "/v1/verification", submission, headers=key, expect=201)
    journey.call("POST", "/v1/verification", submission, headers=key, expect=201)
    resource_client("sns").create_topic(Name=topic.rsplit(":", 1)[1])
    with later(600):
        delivered = journey.scheduled("notifierRetry", retry)
    # the e-mail and the robot were owed (and, when a reviewer's batch window was taken at the
    # submit, that reviewer's outbox line too)
    if delivered.get("delivered") != 1 or delivered.get("sent") not in (2, 3):
        raise AssertionError(f"the retry did not deliver the owed notification: {delivered}")


def batched_then_reminded(journey: ContainerJourney) -> None:
    """Submissions within the reviewers' batch window: the first goes at once, the second waits;
    the third, a window later, carries the second's link too (the submit reads what waits). Two
    days later the SLA reminders run: the reviewers (a robot among them, its secret read) and, past
    twice the SLA, the admins."""
    from functions.notifier import remind
    from infra.bench.journey import APPLICANT

    def submitted(name: str, shade: int) -> None:
        consented_user(journey, name)
        key = uploaded(journey, (shade, 120, 200 - shade))
        journey.call("POST", "/v1/verification", {**APPLICANT, "documents": [key]}, expect=201)

    start = 700  # past the windows the owed notification's retry took (ten minutes on)
    with later(start):
        submitted("batched-first", 40)
        submitted("batched-waiting", 80)
    with later(start + 61):
        submitted("batched-a-window-later", 120)
    with later(49 * 3600):
        summary = journey.scheduled("reviewReminders", remind)
    if not summary.get("reminded") or summary.get("unreached"):
        raise AssertionError(f"the reminders reached no one: {summary}")


def left_after_uploading(journey: Journey) -> None:
    """A user who uploaded an image, never submitted it, exported their data (the upload as a
    short-lived link) and deleted their account."""
    consented_user(journey, "upload-and-leave")
    uploaded(journey, (90, 90, 200))
    if not journey.call("GET", "/v1/me/export").body["uploads"]:
        raise AssertionError("the export left out the upload")
    journey.call("DELETE", "/v1/me")


def comments_off_the_happy_path(journey: Journey, wechat: Any) -> None:
    """The first comment after WeChat revoked the access token (refreshed through the shared
    token item); a reply sent twice with one Idempotency-Key (the replay reads its guard); a
    comment msgSecCheck holds for review (not counted: the article is checked instead); a comment
    deleted twice (the second finds it gone); the article list paged with a cursor."""
    from infra.bench.journey import ARTICLE, approved_hcp

    approved_hcp(journey.client, "comment-paths")
    comments = f"/v1/articles/{ARTICLE}/comments"
    wechat.state.invalidate_token()
    first = journey.call("POST", comments, {"text": "换了令牌之后的评论"}, expect=201).body["id"]
    reply = {"text": "同意楼上", "reply_to": first}
    key = {"idempotency-key": "iam-reply-1"}
    journey.call("POST", comments, reply, headers=key, expect=201)
    journey.call("POST", comments, reply, headers=key, expect=201)
    held = journey.call("POST", comments, {"text": "这条需要待审"}, expect=201).body
    if held.get("state") != "held":
        raise AssertionError(f"msgSecCheck did not hold the comment: {held}")
    journey.call("DELETE", f"/v1/comments/{first}")
    journey.call("DELETE", f"/v1/comments/{first}", expect=404)
    cursor = journey.call("GET", "/v1/articles?limit=1").body["next_cursor"]
    journey.call("GET", f"/v1/articles?limit=1&cursor={cursor}")


def comments_paced(journey: ContainerJourney, wechat: Any, tms: Any) -> None:
    """Comments past the app's inline share of the check's quota: held and queued by commentPost,
    checked by contentCheckWorker from the queue as Lambda's SQS event source mapping delivers
    them (a busy check delivered again after its backoff, with a revoked token); then the same with
    TMS as the stage's check, inline and queued."""
    from functions.content_check import check
    from infra.bench.journey import ARTICLE, approved_hcp
    from infra.queues import QueuePump
    from shared.domain.content_check import INLINE_SHARE
    from tests.functional.test_content_queue import release, spend

    approved_hcp(journey.client, "paced-comments")
    comments = f"/v1/articles/{ARTICLE}/comments"

    def deliver() -> None:
        with journey.containers.serving("contentCheckWorker"):
            cfg = config.current()
            # a message is sent delayed a moment (its comment's transaction lands meanwhile)
            if not QueuePump(cfg, cfg.check_queue_name, check, url=cfg.check_queue_url).drain(wait_seconds=5):
                raise AssertionError("the paced check's queue held no message")

    def waiting_again() -> None:
        from tests.functional.test_content_queue import _all_visible_now

        _all_visible_now(None)  # the backoff over
        wechat.state.invalidate_token()  # and the shared token revoked meanwhile: the worker refreshes it

    with journey.containers.recorder.paused():
        burst = spend(INLINE_SHARE)
    try:
        held = journey.call("POST", comments, {"text": "高峰时排队检查的评论"}, expect=201).body
        if held.get("state") != "held":
            raise AssertionError(f"past the inline share the comment was not held: {held}")
        wechat.state.fail_next("/wxa/msg_sec_check", -1, times=2)
        deliver()  # busy: the message comes back after its backoff
        waiting_again()
        deliver()
        with journey.containers.recorder.paused():
            release(burst)
        burst = []
        os.environ[config.ENV_CONTENT_CHECK] = "tms"
        os.environ[config.ENV_TMS_BASE_URL] = tms.base_url
        journey.call("POST", comments, {"text": "交给 TMS 的评论"}, expect=201)  # inline again
        with journey.containers.recorder.paused():
            burst += spend(INLINE_SHARE)
        journey.call("POST", comments, {"text": "高峰时交给 TMS 的评论"}, expect=201)
        deliver()
    finally:
        wechat.state.failures.clear()
        os.environ.pop(config.ENV_CONTENT_CHECK, None)
        os.environ.pop(config.ENV_TMS_BASE_URL, None)
        with journey.containers.recorder.paused():
            release(burst)  # the burst over: the journeys after this one post inline


def keyed_answers_then_gone(journey: Journey) -> None:
    """Answers sent with an Idempotency-Key, then other answers with the same key (refused: the
    replay reads the guard), then the account deleted with its used keys."""
    from infra.bench.journey import approved_hcp

    approved_hcp(journey.client, "keyed-answers")
    required = [q for q in journey.call("GET", "/v1/questions").body["items"] if q["required"]]

    def answers(pick: int) -> dict[str, Any]:
        return {
            "answers": [
                {
                    "question_id": q["id"],
                    "value": [q["options"][pick]] if q["kind"] == "multi" else q["options"][pick],
                }
                for q in required
            ]
        }

    key = {"idempotency-key": "iam-answers-1"}
    journey.call("POST", "/v1/answers", answers(0), headers=key, expect=200)
    journey.call("POST", "/v1/answers", answers(1), headers=key, expect=409)
    journey.call("DELETE", "/v1/me")


def withdrawn_after_a_new_version(journey: Journey, folder: Path) -> None:
    """Withdrawing a consent whose agreed version is no longer the current one: the agreed
    version's document is read by its key."""
    from infra.ops import consent as consent_ops
    from shared.domain.consent import INFORMED

    consented_user(journey, "withdraw-old-version")
    seed = next(p for p in consent_ops.seed_files() if p.parent.name == INFORMED)
    newer = folder / INFORMED / "2099-01-01.md"
    newer.parent.mkdir(parents=True, exist_ok=True)
    newer.write_text(seed.read_text(encoding="utf-8").rstrip("\n") + "\n\n（修订）\n", encoding="utf-8")
    if consent_ops.publish(newer) != "published":
        raise AssertionError("the new informed-consent version was not published")
    journey.call("POST", f"/v1/consents/{INFORMED}/withdraw", expect=201)


def funnel_counted(journey: ContainerJourney) -> None:
    """The users table's stream, read as Lambda's event source mapping reads it with funnelCount's
    role: every user who changed during the journeys recounted, then one more counted, deleted and
    no longer counted."""
    from functions.funnel import count
    from infra.streams import StreamPump

    pump = StreamPump(config.current(), config.current().table("users"), count)  # the operator's view

    def deliver() -> None:
        with journey.containers.serving("funnelCount"):
            if not pump.drain():
                raise AssertionError("the users table's stream held no new record")

    deliver()
    consented_user(journey, "counted-then-gone")
    deliver()
    journey.call("DELETE", "/v1/me")
    deliver()


def resource_client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=config.current().region)


class StaffBrowser:
    """A staff member's browser on the console: signs in by the outbox link, keeps the cookies,
    sends the console's own Origin and the session's CSRF field with each form."""

    def __init__(self, journey: Journey, role: str, name: str) -> None:
        from infra.ops import staff as staff_ops

        self.journey = journey
        self.cookies: dict[str, str] = {}
        email = f"{role}.{len(name)}.{abs(hash(name)) % 10_000}.iam@example.invalid"
        self.staff_id = staff_ops.add(name, role, email=email).staff_id
        self.csrf = ""

    def send(self, method: str, path: str, form: dict[str, str] | None = None, expect: int = 200) -> Any:
        from urllib.parse import urlencode

        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        raw = None
        if form is not None:
            headers |= {"content-type": "application/x-www-form-urlencoded", "origin": "http://127.0.0.1:9"}
            raw = urlencode({"csrf": self.csrf, **form})
        reply = self.journey.call(method, path, raw=raw, headers=headers, token="", expect=expect)
        for line in reply.headers.get("Set-Cookie", "").splitlines():
            name, _, rest = line.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return reply

    def sign_in(self) -> StaffBrowser:
        from urllib.parse import urlsplit

        from infra.bench.journey import hidden, outbox_link

        page = self.send("GET", "/console/login").text
        self.csrf = hidden(page, "csrf")
        self.send("POST", "/console/login", {"who": self.staff_id})
        link = urlsplit(outbox_link("sign_in", self.staff_id))
        confirm = self.send("GET", f"{link.path}?{link.query}").text
        self.csrf = hidden(confirm, "csrf")
        self.send("POST", "/console/auth", {"t": hidden(confirm, "t")}, expect=303)
        self.csrf = hidden(self.send("GET", "/console").text, "csrf")
        return self


def console_work(journey: ContainerJourney) -> None:
    """The console's other pages and actions, each in its function's container: a reviewer works the
    queue (a submission's credentials, a claim, a decision); support finds users (by id, comment and
    name), reads a commenter's page and revokes an approval; three readers report a comment until it
    is hidden, and the comments page replies to one off its first page; a moderator hides, restores
    and deletes comments and mutes and unmutes their writer; an admin reads the audit trail."""
    from infra.bench.journey import APPLICANT, ARTICLE, approved_hcp

    consented_user(journey, "console-applicant")
    key = uploaded(journey, (90, 20, 160))
    body = {**APPLICANT, "real_name": "控制台申请人", "documents": [key]}
    submission = journey.call("POST", "/v1/verification", body, expect=201).body["submission_id"]
    applicant = str(journey.call("GET", "/v1/me").body["id"])

    writer = approved_hcp(journey.client, "console-writer")
    comments = f"/v1/articles/{ARTICLE}/comments"
    first = journey.call("POST", comments, {"text": "控制台要管理的评论"}, expect=201).body["id"]
    journey.call("POST", comments, {"text": "回复上一条", "reply_to": first}, expect=201)
    journey.call("GET", f"{comments}?limit=1")  # the reply alone: its parent is read in one batch
    reported = journey.call("POST", comments, {"text": "将被举报的评论"}, expect=201).body["id"]
    for n in range(3):  # the third report hides it
        approved_hcp(journey.client, f"console-reader-{n}")
        journey.call("POST", f"/v1/comments/{reported}/reports", {"reason": "spam"}, expect=201)

    reviewer = StaffBrowser(journey, "reviewer", "控制台审核员").sign_in()
    reviewer.send("GET", "/console/verifications")
    reviewer.send("GET", f"/console/verifications/{submission}")
    reviewer.send("POST", f"/console/verifications/{submission}/claim", {}, expect=303)
    reviewer.send("POST", f"/console/verifications/{submission}/decision", {"decision": "approve"})
    reviewer.send("GET", f"/console/users/{writer}")
    reviewer.send("GET", f"/console/search?q={applicant}")
    reviewer.send("GET", f"/console/search?q={submission}")
    reviewer.send("GET", f"/console/search?q={first}")
    reviewer.send("GET", "/console/search?q=控制台申请人")
    reviewer.send("POST", f"/console/users/{applicant}/revoke", {"reason": "other"}, expect=303)

    import functions.console as console_fn
    from shared.services import moderation as moderation_service

    moderator = StaffBrowser(journey, "moderator", "控制台评论管理员").sign_in()
    with pytest.MonkeyPatch.context() as small:  # pages of one: the next page's signed cursor
        small.setattr(moderation_service, "QUEUE_PAGE", 1)
        small.setattr(console_fn, "AUDIT_PAGE", 1)
        moderator.send("GET", "/console/comments")
        StaffBrowser(journey, "admin", "控制台管理员甲").sign_in().send("GET", "/console/audit")
    moderator.send("POST", f"/console/comments/{reported}/restore", {}, expect=303)
    moderator.send("POST", f"/console/comments/{reported}/hide", {"reason": "spam"}, expect=303)
    moderator.send("POST", f"/console/comments/{reported}/delete", {}, expect=303)
    moderator.send("POST", f"/console/users/{writer}/mute", {"days": "1"}, expect=303)
    moderator.send("POST", f"/console/users/{writer}/unmute", {}, expect=303)

    admin = StaffBrowser(journey, "admin", "控制台管理员").sign_in()
    admin.send("GET", "/console/audit")
    admin.send("GET", f"/console/audit?subject={submission}")
