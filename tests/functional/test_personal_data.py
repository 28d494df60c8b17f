"""The audit of a user's data, against storage: every table of serverless.yml and every object.

A user goes through the whole journey with a marker in every field they (or a reviewer about them)
can fill: consent from a marked user agent, answers, an upload left unsubmitted, a rejected then an
approved submission with marked notes, a comment with an Idempotency-Key, a chosen author display;
the users table's stream is delivered as Lambda would (the console's funnel). Then:
- the export is complete: every table holding an item about the user is one `TABLES` names, every
  other one is declared to hold nothing about a user (the template's table list is walked, so a new
  table cannot be forgotten), and every value such an item holds is in the export, every object of
  theirs too, as a link;
- after deletion no item or object holds a marker or an identifier of the person, but for what is
  kept by design (`KEPT`): pseudonyms, sealed fields, the comment's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import boto3
import pytest

from functions.funnel import count
from infra.fake_wechat import dev_openid
from infra.routes import load_serverless
from infra.streams import StreamPump
from shared import config, wiring
from shared.domain.consent import AGREEMENT, INFORMED
from shared.domain.idempotency import owner_digest
from shared.domain.rates import rate_key
from shared.domain.users import deletion_digest, openid_key
from shared.services.account import HOLDS_NO_USER_DATA, TABLES
from tests.functional.conftest import APPID, Api
from tests.functional.consent_helpers import decide, publish_seed

LOGIN = "audit-pd-login-7c1f"
MARKERS = {
    "user_agent": "WeChat PD-AGENT-2e7a",
    "answer": "建议 PD-ANSWER-9b31",
    "real_name": "隐私PD-NAME-4c0d",
    "hospital": "PD-HOSPITAL-61f2医院",
    "department": "PD-DEPT-0a9e科",
    "title": "PD-TITLE-d5b7医师",
    "license_number": "PDLICENCE7731",
    "note": "请补充 PD-NOTE-18ce",
    "internal_note": "内部 PD-INTERNAL-b40a",
    "comment": "很有帮助 PD-COMMENT-77d3",
    "report": "疑似广告 PD-REPORT-51e9",
}
# The markers kept by design after deletion, and where: the comment's text, from 已注销用户.
# A report's words stay on the reported comment (another's), for its moderator, tied to no one.
KEPT_MARKERS = {"comment": "comments", "report": "comments"}
# What each table keeps about a deleted user, and why (README "What deletion leaves").
KEPT = {
    "consents": "a pseudonym and a sealed field: the proof of consent, its key deleted",
    "review_audit": "a pseudonym: the decisions on a submission id that no longer exists",
    "comment_guards": "a pseudonym: rate windows under a digest of the id, expiring within a day",
    "deletions": "a pseudonym: the digest the deletion log re-applies after a restore",
    "comments": "text kept by design: the comment stays, from a deleted user",
}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def template_tables() -> dict[str, str]:
    """Every DynamoDB table of serverless.yml, by its name after the stage prefix."""
    found = {}
    for logical, resource in load_serverless()["resources"]["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = str(resource["Properties"]["TableName"])
            found[name.removeprefix("${self:custom.prefix}")] = logical
    return found


def test_every_table_of_the_template_is_exported_or_said_to_hold_nothing_about_a_user() -> None:
    tables = set(template_tables())
    assert not set(TABLES) & set(HOLDS_NO_USER_DATA)
    assert tables == set(TABLES) | set(HOLDS_NO_USER_DATA), "a table is missing from account.TABLES"
    assert set(KEPT) <= tables


def strings(item: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """Every string an item holds (DynamoDB's typed JSON), with its path; binaries left out (the
    sealed fields, the sealing key), JSON strings opened."""
    for name, typed in item.items():
        yield from _typed(typed, f"{path}.{name}" if path else name)


def _typed(typed: dict[str, Any], path: str) -> Iterator[tuple[str, str]]:
    kind, inner = next(iter(typed.items()))
    if kind == "S":
        try:
            opened = json.loads(inner)
        except ValueError:
            opened = None
        yield from _plain(opened, path) if isinstance(opened, (dict, list)) else [(path, str(inner))]
    elif kind == "M":
        for key, value in inner.items():
            if "M" in value:  # a map of maps is keyed by ids (sessions): the keys are data
                yield f"{path}.{key}", key
            yield from _typed(value, f"{path}.{key}")
    elif kind == "L":
        for i, value in enumerate(inner):
            yield from _typed(value, f"{path}[{i}]")
    elif kind == "SS":
        yield from ((path, str(value)) for value in inner)


def _plain(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _plain(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _plain(item, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value


def scan(cfg: config.Config) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table of the stage, by table name after the prefix."""
    dynamodb = boto3.client("dynamodb", region_name=cfg.region)
    found: dict[str, list[dict[str, Any]]] = {}
    for name in dynamodb.list_tables()["TableNames"]:
        if name.startswith(cfg.table_prefix):
            items = [
                i for page in dynamodb.get_paginator("scan").paginate(TableName=name) for i in page["Items"]
            ]
            found[name.removeprefix(cfg.table_prefix)] = items
    return found


def objects(cfg: config.Config) -> dict[str, bytes]:
    s3 = boto3.client("s3", region_name=cfg.region)
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=cfg.bucket):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = s3.get_object(Bucket=cfg.bucket, Key=obj["Key"])["Body"].read()
    return found


@cache
def _pump(prefix: str) -> StreamPump:
    return StreamPump(config.current(), config.current().table("users"), count)


def deliver_stream() -> None:
    """The users table's stream, delivered to funnelCount as Lambda's event source mapping would."""
    cfg = config.current()
    _pump(f"{cfg.region}:{cfg.table_prefix}").drain()


def journey(api: Api, env: dict[str, str]) -> dict[str, Any]:
    """The whole life of a user with marked fields; what identifies them."""
    from tests.functional.article_helpers import ARTICLE, seed_articles
    from tests.functional.test_account import ANSWERS
    from tests.functional.verification_helpers import (
        add_reviewer,
        image_bytes,
        post_decision,
        reviewer_links,
        submit,
        upload,
    )

    seed_articles()
    publish_seed()
    add_reviewer()
    login = api.login(LOGIN)
    user_id = str(login["user"]["id"])
    agent = {"user-agent": MARKERS["user_agent"]}
    assert decide(api, AGREEMENT, "agree", headers=agent).status == 201
    assert decide(api, INFORMED, "agree", headers=agent).status == 201
    fields = {k: MARKERS[k] for k in ("real_name", "hospital", "department", "title", "license_number")}
    first = submit(api, [upload(api)], **fields)
    assert first.status == 201, first.body
    link = reviewer_links(env["OUTBOX_PATH"], first.body["submission_id"])[0]
    rejected = post_decision(
        api,
        link,
        "reject",
        reason="name_mismatch",
        note=MARKERS["note"],
        internal_note=MARKERS["internal_note"],
    )
    assert rejected.status == 200
    second = submit(api, [upload(api, image_bytes(color=(10, 120, 200)))], **fields)
    assert second.status == 201, second.body
    link = reviewer_links(env["OUTBOX_PATH"], second.body["submission_id"])[0]
    assert post_decision(api, link, "approve").status == 200
    answers = [a if a["question_id"] != "suggestions" else {**a, "value": MARKERS["answer"]} for a in ANSWERS]
    assert api.post("/v1/answers", {"answers": answers}, headers={"Idempotency-Key": "pd-a1"}).status == 200
    assert api.call("PUT", "/v1/me/author", {"style": "surname", "show_department": True}).status == 200
    posted = api.post(
        f"/v1/articles/{ARTICLE}/comments", {"text": MARKERS["comment"]}, headers={"Idempotency-Key": "pd-c1"}
    )
    assert posted.status == 201, posted.body
    # another reader's comment (written as the store would), which this user reports; a moderator
    # mutes them for a day, then not
    from infra.bench.journey import seed_comments

    (other,) = seed_comments(ARTICLE, 1, "另一位读者的评论")
    body = {"reason": "spam", "text": MARKERS["report"]}
    reported = api.post(f"/v1/comments/{other}.{ARTICLE}/reports", body)
    assert reported.status == 201, reported.body
    moderation = wiring.services().moderation
    moderation.mute("pd-moderator", user_id, 1)
    moderation.unmute("pd-moderator", user_id)
    upload(api, image_bytes(color=(1, 2, 3)))  # uploaded, never submitted
    deliver_stream()
    exported = api.get("/v1/me/export").body
    subject = json.dumps(exported["consent_key"])
    display = str(exported["account"]["author_name"])  # 隐医生: on the comment, the key's response
    return {
        "user_id": user_id,
        "openid": dev_openid(LOGIN),
        "openid_hash": openid_key(APPID, dev_openid(LOGIN)),
        "guard_owner": owner_digest(user_id),
        "session": str(api.token).split(".")[1],
        "consent_subject": json.loads(subject)["subject"],
        "rate_digest": rate_key(user_id, "m", 0).split("#")[1],
        "deletion_digest": deletion_digest(user_id),
        "display": display,
        "submissions": [first.body["submission_id"], second.body["submission_id"]],
    }


def about(item: dict[str, Any], needles: list[str]) -> bool:
    text = repr(item)
    return any(n in text for n in needles)


@pytest.fixture
def lived(api: Api, env: dict[str, str]) -> dict[str, Any]:
    return journey(api, env)


def test_the_export_holds_every_item_and_object_stored_about_the_user(
    api: Api, aws: config.Config, lived: dict[str, Any]
) -> None:
    reply = api.get("/v1/me/export")
    assert reply.status == 200
    exported = reply.body
    text = json.dumps(exported, ensure_ascii=False)
    identifiers = [
        lived["user_id"],
        lived["openid_hash"],
        lived["guard_owner"],
        lived["consent_subject"],
        lived["rate_digest"],
        *lived["submissions"],
    ]
    stored = scan(aws)
    assert set(stored) == set(template_tables())  # moto holds exactly the template's tables
    for table, items in stored.items():
        mine = [i for i in items if about(i, identifiers)]
        if table in HOLDS_NO_USER_DATA:
            assert not mine, f"{table} holds an item about the user: {mine[0]}"
            continue
        assert mine, f"the journey left nothing in {table}: the check there proves nothing"
        for item in mine:
            for path, value in strings(item):
                if path.endswith(".h") or _DATETIME.match(value):
                    continue  # a session secret's hash (never exported); a stored time (converted)
                parts = [p for p in value.split("#") if not _DATETIME.match(p)] if "#" in value else [value]
                missing = [p for p in parts if p not in text]
                assert not missing, f"{table} {path} = {value!r} is not in the export"
    for marker in MARKERS.values():
        assert marker in text, marker
    assert exported["account"]["wrote_at"] is not None  # the last comment write, a cache hint
    assert exported["account"]["identity"] == {"openid_hash": lived["openid_hash"]}
    # every object of theirs, as a short-lived link (the review page's lifetime)
    theirs = [k for k in objects(aws) if f"/{lived['user_id']}/" in k]
    assert len(theirs) == 3  # two credential images, one upload left unsubmitted
    links = [d for s in exported["verification"] for d in s["documents"]] + exported["uploads"]
    assert sorted(d["key"] for d in links) == sorted(theirs)
    for d in links:
        assert d["link"].startswith("http") and "X-Amz-Expires=300" in d["link"], d["link"]
    # the staff's notes and the decisions about their submissions
    rejected = next(s for s in exported["verification"] if s["status"] == "rejected")
    assert rejected["internal_note"] == MARKERS["internal_note"] and rejected["note"] == MARKERS["note"]
    decisions = [a for a in rejected["audit"] if a["action"] == "decision"]
    assert [a["outcome"] for a in decisions] == ["reject"]
    assert {a["action"] for a in rejected["audit"]} <= {"credentials_open", "decision"}
    assert rejected["notification"]["outcome"] == "delivered"
    assert {u["submission_id"] for u in exported["duplicate_index"]} == set(lived["submissions"])
    assert exported["funnel"] is not None and exported["rate_windows"]


def test_after_deletion_no_item_or_object_holds_a_marker_or_names_the_user(
    api: Api, aws: config.Config, lived: dict[str, Any]
) -> None:
    # the author display (surname + profession) is on the user item, the comment and the comment's
    # replayable first response
    assert repr(scan(aws)).count(lived["display"]) >= 3
    assert api.delete("/v1/me").status == 200
    deliver_stream()  # the deletion reaches the funnel as Lambda would deliver it
    assert_deleted(aws, lived)


def assert_deleted(aws: config.Config, lived: dict[str, Any]) -> None:
    """No item or object holds a marker or names the user, but for what `KEPT` says."""
    stored = scan(aws)
    assert set(stored) == set(template_tables())
    gone = [
        lived["user_id"],
        lived["openid"],
        lived["openid_hash"],
        lived["guard_owner"],
        lived["session"],
        lived["display"],
    ]
    pseudonyms = {
        "consents": [lived["consent_subject"]],
        "review_audit": lived["submissions"],
        "comment_guards": [lived["rate_digest"]],
        "deletions": [lived["deletion_digest"]],
    }
    every_pseudonym = [p for ps in pseudonyms.values() for p in ps]
    for table, items in stored.items():
        for item in items:
            text = repr(item)
            for name in gone:
                assert name not in text, f"{table} still names the user ({name}): {text[:300]}"
            for name, marker in MARKERS.items():
                if KEPT_MARKERS.get(name) == table:
                    continue
                assert marker not in text, f"{table} still holds the {name}: {text[:300]}"
            held = [p for p in every_pseudonym if p in text]
            allowed = pseudonyms.get(table, [])
            assert set(held) <= set(allowed), f"{table} holds another table's pseudonym: {text[:300]}"
    # each pseudonym table keeps only its own pseudonym; the comment keeps only its text
    assert any(about(i, pseudonyms["consents"]) for i in stored["consents"])
    assert any(about(i, pseudonyms["deletions"]) for i in stored["deletions"])
    assert not stored["consent_keys"]
    assert all(i["group"]["S"] == "count" for i in stored["user_funnel"])  # the counters alone
    [comment] = [i for i in stored["comments"] if MARKERS["comment"] in repr(i)]
    assert comment["text"]["S"] == MARKERS["comment"]
    for name, marker in MARKERS.items():
        if name not in KEPT_MARKERS:
            assert not any(marker.encode() in body or marker in key for key, body in objects(aws).items())
    assert not [k for k in objects(aws) if lived["user_id"] in k]


# ---- backups: a restore re-applies the deletions made since its point ----


def restore(aws: config.Config, snapshot: dict[str, list[dict[str, Any]]]) -> None:
    """What a point-in-time restore of every table but the deletion log does: the items as they
    stood at the snapshot (S3 has no versions here: deleted objects stay deleted)."""
    dynamodb = boto3.client("dynamodb", region_name=aws.region)
    for table, items in scan(aws).items():
        if table == "deletions":
            continue  # never restored: it is what the restore is checked against
        name = aws.table(table)
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
        for item in items:
            dynamodb.delete_item(TableName=name, Key={k: item[k] for k in keys})
        for item in snapshot[table]:
            dynamodb.put_item(TableName=name, Item=item)


def test_a_restore_from_before_a_deletion_is_followed_by_the_deletion_again(
    api: Api, aws: config.Config, lived: dict[str, Any]
) -> None:
    from infra.ops import account as account_ops

    snapshot = scan(aws)  # the restore point: the account as it stood
    token = api.token
    api.login("pd-after-the-point")  # an account made after the restore point, with a consent key
    assert decide(api, AGREEMENT, "agree").status == 201
    assert api.delete("/v1/me", token=token).status == 200
    live_keys = scan(aws)["consent_keys"]
    restore(aws, snapshot)
    # the consent keys' backups do not reach back as far: that table stays live
    boto3.client("dynamodb", region_name=aws.region).put_item(
        TableName=aws.table("consent_keys"), Item=live_keys[0]
    )
    assert any(lived["user_id"] in repr(i) for i in scan(aws)["users"])  # the restore brought it back
    done = account_ops.reapply()
    assert (done.logged, done.users, done.deleted, done.orphan_keys) == (1, 1, 1, 1)
    deliver_stream()
    assert_deleted(aws, lived)
    assert account_ops.reapply().deleted == 0  # idempotent
    assert account_ops.main(["reapply-deletions"]) == 0 and account_ops.main(["reapply"]) == 2


def test_consent_keys_kept_on_user_items_move_to_their_table(api: Api, aws: config.Config) -> None:
    """A user from before the consent keys' table: their key on the user item still serves, the
    migration moves it (once: a second run finds nothing), and it goes with the account."""
    from infra.ops import consent as consent_ops
    from shared.store.consent import ConsentKeyItem
    from shared.store.users import UserItem

    publish_seed()
    user_id = str(api.login("pd-legacy")["user"]["id"])
    assert decide(api, AGREEMENT, "agree", headers={"user-agent": MARKERS["user_agent"]}).status == 201
    moved = ConsentKeyItem.get(user_id)  # put it back where it lived before the table
    UserItem(user_id).update(
        actions=[UserItem.consent_subject.set(moved.subject), UserItem.consent_key.set(bytes(moved.key))]
    )
    moved.delete()
    assert api.get("/v1/consents").body["items"][0]["user_agent"] == MARKERS["user_agent"]  # the fallback
    assert decide(api, INFORMED, "agree").status == 201  # a legacy key is used, not replaced
    assert ConsentKeyItem.count() == 0
    done = consent_ops.migrate_keys()
    assert (done.moved, done.left) == (1, 0)
    user = UserItem.get(user_id)
    assert user.consent_subject is None and user.consent_key is None
    assert ConsentKeyItem.get(user_id).subject == moved.subject
    history = api.get("/v1/consents").body["items"]
    assert [h["user_agent"] for h in history] == [MARKERS["user_agent"], "pytest"]
    assert consent_ops.migrate_keys().moved == 0 and consent_ops.main(["migrate-keys"]) == 0
    assert api.delete("/v1/me").status == 200
    assert ConsentKeyItem.count() == 0 and user_id not in repr(scan(aws))
