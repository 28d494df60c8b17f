"""Your data: export returns everything stored; deletion leaves nothing that names the user."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from infra.fake_wechat import dev_openid
from shared.domain.consent import AGREEMENT, INFORMED
from shared.domain.users import openid_key
from shared.store.users import UserItem
from tests.functional.conftest import APPID, Api
from tests.functional.consent_helpers import agree_all, approve, decide, publish_seed

ANSWERS = [
    {"question_id": "years_in_practice", "value": "3-10年"},
    {"question_id": "institution_level", "value": "三级医院"},
    {"question_id": "specialty_areas", "value": ["心血管", "内分泌与代谢"]},
    {"question_id": "suggestions", "value": "希望多一些病例讨论"},
]


@pytest.fixture
def alice(api: Api) -> dict[str, Any]:
    publish_seed()
    body = api.login("alice")
    agree_all(api)
    approve(body["user"]["id"])
    assert api.post("/v1/answers", {"answers": ANSWERS}).status == 200
    return body


def everything_stored(cfg: Any) -> str:
    """Every item of every table and every object key and body of the bucket, as text."""
    dynamodb = boto3.client("dynamodb", region_name=cfg.region)
    dump: list[str] = []
    for name in dynamodb.list_tables()["TableNames"]:
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            dump.extend(repr(item) for item in page["Items"])
    s3 = boto3.client("s3", region_name=cfg.region)
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                dump.append(obj["Key"])
                dump.append(repr(s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])["Body"].read()))
    return "\n".join(dump)


def test_export_returns_everything_stored_about_the_caller(api: Api, alice: dict[str, Any]) -> None:
    reply = api.get("/v1/me/export")
    assert reply.status == 200
    data = reply.body
    account = data["account"]
    assert account["user_id"] == alice["user"]["id"]
    assert account["openid"] == dev_openid("alice")  # the user's own data, to the user only
    assert account["agreement_decision"] == "agree" and account["verification_status"] == "approved"
    assert [s["id"] for s in account["sessions"]] == [api.token.split(".")[1]]  # type: ignore[union-attr]
    assert "consent_key" not in account
    assert api.token.split(".")[2] not in reply.text  # type: ignore[union-attr]
    for session in UserItem.get(alice["user"]["id"]).sessions.as_dict().values():
        assert session["h"] not in reply.text  # no session secret hash either
    assert [(c["document"], c["decision"]) for c in data["consents"]] == [
        (AGREEMENT, "agree"),
        (INFORMED, "agree"),
    ]
    assert data["consents"][0]["source_ip"] == "127.0.0.1"
    assert data["answers"]["answers"][2] == {
        "question_id": "specialty_areas",
        "value": ["心血管", "内分泌与代谢"],
    }
    # Everything the tables hold about the user shows up in the export.
    for name in ("agreement_version", "informed_decision", "created_at", "wrote_at"):
        assert name in account, name
    from shared.store.consent import ConsentKeyItem

    assert data["consent_key"] == {"subject": ConsentKeyItem.get(alice["user"]["id"]).subject}
    assert "key" not in data["consent_key"]  # the sealing key is the system's, not the user's data


def test_export_is_only_the_callers(api: Api, alice: dict[str, Any]) -> None:
    api.login("bob")
    data = api.get("/v1/me/export").body
    assert data["account"]["openid"] == dev_openid("bob")
    assert data["consents"] == [] and data["answers"] is None
    assert dev_openid("alice") not in repr(data) and alice["user"]["id"] not in repr(data)


def test_delete_kills_the_token_and_leaves_nothing_that_names_the_user(
    api: Api, alice: dict[str, Any], aws: Any
) -> None:
    user_id = alice["user"]["id"]
    other = api.login("alice")["token"]  # a second session of the same user
    api.token = alice["token"]
    names = (user_id, dev_openid("alice"), openid_key(APPID, dev_openid("alice")))
    assert all(n in everything_stored(aws) for n in names)
    reply = api.delete("/v1/me")
    assert reply.status == 200
    assert reply.body["deleted"] is True
    assert reply.body["erased"][-1] == "account"
    for token in (alice["token"], other):
        assert api.get("/v1/me", token=token).status == 401
    stored = everything_stored(aws)
    for name in names:
        assert name not in stored
    # Proof of consent stays, naming no one: the decisions on the versions, sealed fields unreadable.
    assert stored.count("'decision'") == 2
    assert "127.0.0.1" not in stored and "pytest" not in stored


def test_a_retried_deletion_finishes_the_job(api: Api, alice: dict[str, Any], aws: Any) -> None:
    """DynamoDB throttles the identity's deletion, after the other stores are erased (a real
    botocore error from the client's own event hook): 503, the account stays, the same token
    retries and finishes."""
    from botocore.exceptions import ClientError

    from shared.store.users import IdentityItem

    client = IdentityItem._get_connection().connection.client
    throttled = {"n": 0}

    def throttle(model: Any, params: dict[str, Any], **_: Any) -> None:
        if throttled["n"] == 0 and b"identities" in (params.get("body") or b""):
            throttled["n"] += 1
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "DeleteItem")  # type: ignore[arg-type]

    client.meta.events.register_first("before-call.dynamodb.DeleteItem", throttle, unique_id="throttle")
    try:
        first = api.delete("/v1/me")
    finally:
        client.meta.events.unregister("before-call.dynamodb.DeleteItem", unique_id="throttle")
    assert throttled["n"] == 1  # the fault did strike
    assert first.status == 503 and first.body["error"]["code"] == "upstream_unavailable"
    assert "Retry-After" in first.headers
    assert api.get("/v1/me").status == 200  # the account is erased last, so the same token retries
    assert api.get("/v1/me/export").body["answers"] is None  # the stores erased before are gone
    assert api.delete("/v1/me").status == 200
    assert api.get("/v1/me").status == 401
    assert alice["user"]["id"] not in everything_stored(aws)


def test_a_deleted_user_logging_in_again_is_a_new_user(api: Api, alice: dict[str, Any]) -> None:
    api.delete("/v1/me")
    again = api.login("alice")
    assert again["user"]["id"] != alice["user"]["id"]
    assert again["user"]["next_step"] == "identity_agreement"
    assert api.get("/v1/consents").body["items"] == []


def test_export_and_delete_need_a_token(api: Api, alice: dict[str, Any]) -> None:
    assert api.get("/v1/me/export", token="").status == 401
    assert api.delete("/v1/me", token="").status == 401
    assert api.get("/v1/me").status == 200


def test_delete_works_for_a_user_who_never_decided(api: Api, aws: Any) -> None:
    body = api.login("carol")
    assert api.delete("/v1/me").status == 200
    assert body["user"]["id"] not in everything_stored(aws)


def test_withdrawal_of_the_informed_consent_deletes_the_answers(api: Api, alice: dict[str, Any]) -> None:
    reply = api.post(f"/v1/consents/{INFORMED}/withdraw")
    assert reply.status == 201
    assert reply.body["next_step"] == "done"
    assert api.get("/v1/me/export").body["answers"] is None
    assert UserItem.get(alice["user"]["id"]).questions_answered is None
    assert decide(api, INFORMED, "agree").body["next_step"] == "questions"


def test_deleting_a_verified_commenter_leaves_nothing_that_names_them(
    api: Api, env: dict[str, str], aws: Any
) -> None:
    """The whole journey's traces: uploads, credential images, submissions, fingerprints, review
    notifications, rate windows, a comment (kept, from a deleted user), consent proof."""
    from tests.functional.article_helpers import ARTICLE, seed_articles
    from tests.functional.verification_helpers import (
        FIELDS,
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
    user_id = str(api.login("carol")["user"]["id"])
    agree_all(api)
    fields = {
        **FIELDS,
        "real_name": "欧阳标记",
        "hospital": "标记医院",
        "license_number": "110101199001011234",
    }
    leftover = upload(api, image_bytes(color=(1, 2, 3)))  # uploaded, never submitted
    reply = submit(api, [upload(api)], **fields)
    assert reply.status == 201, reply.body
    link = reviewer_links(env["OUTBOX_PATH"], reply.body["submission_id"])[0]
    assert post_decision(api, link, "approve").status == 200
    posted = api.post(
        f"/v1/articles/{ARTICLE}/comments", {"text": "标记评论内容"}, headers={"Idempotency-Key": "k1"}
    )
    assert posted.status == 201, posted.body
    names = (user_id, dev_openid("carol"), openid_key(APPID, dev_openid("carol")), "欧阳标记", "标记医院")
    before = everything_stored(aws)
    assert all(n in before for n in names) and leftover in before

    display = "欧阳医生"  # on the comment, the user item, and the key's replayable first response
    assert before.count(display) >= 3
    assert api.delete("/v1/me").status == 200
    after = everything_stored(aws)
    for name in (*names, display, "110101199001011234", f"uploads/{user_id}", f"credentials/{user_id}"):
        assert name not in after, name
    # the comment stays, from a deleted user
    reader = str(api.login("dave")["user"]["id"])
    agree_all(api)
    approve(reader)
    items = api.get(f"/v1/articles/{ARTICLE}/comments").body["items"]
    assert [c["text"] for c in items] == ["标记评论内容"]
    assert "欧阳" not in repr(items[0]["author"])
