"""Consent over the handlers: documents, decisions, the gate, withdrawal, history and receipts."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.metering import metered
from infra.ops import consent as consent_ops
from shared import config
from shared.domain.consent import AGREEMENT, INFORMED
from shared.store.consent import ConsentItem, ConsentKeyItem
from shared.store.users import UserItem
from tests.functional.conftest import Api
from tests.functional.consent_helpers import (
    agree_all,
    approve,
    current_version,
    decide,
    publish_seed,
    publish_version,
)

# The current versions of the seed: the agreement names the linked 《用户服务协议》 and 《隐私政策》.
AGREEMENT_VERSION = "2026-11-30.2"
INFORMED_VERSION = "2026-11-30"


@pytest.fixture
def published(aws: object) -> dict[str, str]:
    return publish_seed()


def step(api: Api, token: str | None = None) -> str:
    reply = api.get("/v1/me", token=token)
    assert reply.status == 200, reply.body
    return str(reply.body["next_step"])


def test_documents_are_the_seed_texts_with_their_sha256(api: Api, published: dict[str, str]) -> None:
    import hashlib

    items = api.get("/v1/consents/documents").body["items"]
    assert [d["key"] for d in items] == [AGREEMENT, INFORMED]
    assert [d["required"] for d in items] == [True, False]
    assert "身份认证" in items[0]["title"] and "知情同意" in items[1]["title"]
    assert [d["version"] for d in items] == [AGREEMENT_VERSION, INFORMED_VERSION]
    base = config.current().public_base_url
    assert items[0]["links"] == [
        {"title": "用户服务协议", "url": f"{base}/pages/terms"},
        {"title": "隐私政策", "url": f"{base}/pages/privacy"},
    ]
    assert items[1]["links"] == []
    for link in items[0]["links"]:
        assert f"《{link['title']}》" in items[0]["body"]
    for doc in items:
        assert doc["sha256"] == hashlib.sha256(doc["body"].encode()).hexdigest()
        assert "---" not in doc["body"].splitlines()[0]  # the front matter is not shown


def test_the_whole_journey_over_http(api: Api, published: dict[str, str]) -> None:
    api.login("alice")
    assert step(api) == "identity_agreement"
    refused = decide(api, AGREEMENT, "refuse")
    assert refused.status == 201
    assert refused.body["next_step"] == "refused"
    assert step(api) == "refused"
    agreed = decide(api, AGREEMENT, "agree")
    assert agreed.body["next_step"] == "informed_consent"
    assert step(api) == "informed_consent"
    skipped = decide(api, INFORMED, "skip")
    assert skipped.body["next_step"] == "verify"
    assert step(api) == "verify"


def test_a_new_agreement_version_asks_everyone_again(
    api: Api, published: dict[str, str], tmp_path: Path
) -> None:
    api.login("alice")
    agree_all(api, informed="skip")
    assert step(api) == "verify"
    publish_version(tmp_path, AGREEMENT, "2026-12-01")
    assert step(api) == "identity_agreement"
    stale = decide(api, AGREEMENT, "agree", version="2026-11-01")
    assert stale.status == 409
    assert stale.body["error"]["code"] == "conflict"
    assert "2026-12-01" in stale.body["error"]["message"]
    assert decide(api, AGREEMENT, "agree").body["next_step"] == "verify"


def test_a_refusal_of_an_old_version_does_not_block_the_new_one(
    api: Api, published: dict[str, str], tmp_path: Path
) -> None:
    api.login("alice")
    decide(api, AGREEMENT, "refuse")
    publish_version(tmp_path, AGREEMENT, "2026-12-01")
    assert step(api) == "identity_agreement"


def test_a_new_informed_consent_version_asks_again_after_the_agreement(
    api: Api, published: dict[str, str], tmp_path: Path
) -> None:
    api.login("alice")
    agree_all(api)
    publish_version(tmp_path, INFORMED, "2026-12-01")
    assert step(api) == "informed_consent"


@pytest.mark.parametrize(
    ("key", "decision"),
    [
        (AGREEMENT, "skip"),
        (AGREEMENT, "withdraw"),
        (INFORMED, "refuse"),
        (AGREEMENT, "AGREE"),
        (INFORMED, ""),
    ],
)
def test_a_decision_not_allowed_for_the_document_is_400(
    api: Api, published: dict[str, str], key: str, decision: str
) -> None:
    api.login("alice")
    if key == INFORMED:
        decide(api, AGREEMENT, "agree")
    reply = decide(api, key, decision)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "bad_request"


def test_an_unknown_or_unpublished_document_is_404(api: Api, aws: object) -> None:
    api.login("alice")
    unknown = decide(api, "privacy-policy", "agree", version="2026-11-01")
    assert unknown.status == 404
    unpublished = decide(api, AGREEMENT, "agree", version="2026-11-01")
    assert unpublished.status == 404
    assert api.post("/v1/consents/privacy-policy/withdraw").status == 404


def test_the_informed_consent_waits_for_the_agreement(api: Api, published: dict[str, str]) -> None:
    api.login("alice")
    reply = decide(api, INFORMED, "agree")
    assert reply.status == 403
    assert reply.body["error"]["code"] == "consent_required"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{",
        "[]",
        "{}",
        '{"document": "hcp-identity-agreement"}',
        '{"document": 1, "version": "x", "decision": "agree"}',
        '{"document": "hcp-identity-agreement", "version": "2026-11-01", "decision": "agree", "extra": 1}',
    ],
)
def test_malformed_decisions_are_400(api: Api, published: dict[str, str], raw: str) -> None:
    api.login("alice")
    reply = api.post("/v1/consents", raw=raw)
    assert reply.status == 400
    assert UserItem.get(api.token.split(".")[0]).agreement_decision is None  # type: ignore[union-attr]


def test_decisions_need_a_token(api: Api, published: dict[str, str]) -> None:
    reply = api.post("/v1/consents", {"document": AGREEMENT, "version": "2026-11-01", "decision": "agree"})
    assert reply.status == 401


def test_a_record_holds_what_the_law_asks_and_seals_what_names_the_person(
    api: Api, published: dict[str, str]
) -> None:
    body = api.login("alice")
    reply = decide(api, AGREEMENT, "agree", headers={"user-agent": "WeChat/8.0 MiniProgram"})
    records = list(ConsentItem.scan())
    assert len(records) == 1
    record = records[0]
    user = UserItem.get(body["user"]["id"])
    key = ConsentKeyItem.get(body["user"]["id"])  # the pseudonym and key live apart from the user item
    assert record.subject == key.subject != body["user"]["id"]
    assert user.consent_subject is None and user.consent_key is None
    assert (record.document, record.version, record.decision) == (AGREEMENT, AGREEMENT_VERSION, "agree")
    assert record.sha256 == api.get("/v1/consents/documents").body["items"][0]["sha256"]
    assert record.record_id == reply.body["id"]
    stored = repr(record.serialize())
    for plain in (body["user"]["id"], "127.0.0.1", "WeChat/8.0"):
        assert plain not in stored  # sealed
    history = api.get("/v1/consents").body["items"]
    assert history[0]["source_ip"] == "127.0.0.1"
    assert history[0]["user_agent"] == "WeChat/8.0 MiniProgram"


def test_history_is_the_users_own_oldest_first(api: Api, published: dict[str, str]) -> None:
    api.login("bob")
    decide(api, AGREEMENT, "agree")
    api.login("alice")
    for decision in ("refuse", "agree"):
        decide(api, AGREEMENT, decision)
    decide(api, INFORMED, "skip")
    items = api.get("/v1/consents").body["items"]
    assert [(i["document"], i["decision"]) for i in items] == [
        (AGREEMENT, "refuse"),
        (AGREEMENT, "agree"),
        (INFORMED, "skip"),
    ]
    assert [i["id"] for i in items] == sorted(i["id"] for i in items)


def test_records_are_append_only_no_code_path_updates_or_deletes(api: Api, published: dict[str, str]) -> None:
    api.login("alice")
    with metered() as meter:
        decide(api, AGREEMENT, "agree")
        api.post(f"/v1/consents/{AGREEMENT}/withdraw")
        api.delete("/v1/me")
    assert "UpdateItem" not in meter.calls and "BatchWriteItem" not in meter.calls
    assert ConsentItem.count() == 2  # both kept after the account went


def test_withdrawing_the_agreement_stops_service_at_the_next_request(
    api: Api, published: dict[str, str]
) -> None:
    body = api.login("alice")
    agree_all(api, informed="skip")
    approve(body["user"]["id"])
    assert step(api) == "done"
    reply = api.post(f"/v1/consents/{AGREEMENT}/withdraw")
    assert reply.status == 201
    assert reply.body["decision"] == "withdraw"
    assert reply.body["next_step"] == "identity_agreement"
    assert step(api) == "identity_agreement"
    from shared.wiring import services

    class Req:
        @staticmethod
        def bearer_token() -> str | None:
            return api.token

    from shared import errors

    with pytest.raises(errors.ConsentRequired):
        services().access.verified(Req())  # type: ignore[arg-type]
    with pytest.raises(errors.ConsentRequired):
        services().access.consented(Req())  # type: ignore[arg-type]
    gated = api.get("/v1/questions")
    assert gated.status == 403
    assert gated.body["error"]["code"] == "consent_required"
    again = api.post(f"/v1/consents/{AGREEMENT}/withdraw")
    assert again.status == 409  # nothing left to withdraw


def test_withdrawal_needs_an_agreement(api: Api, published: dict[str, str]) -> None:
    api.login("alice")
    decide(api, AGREEMENT, "agree")
    decide(api, INFORMED, "skip")
    reply = api.post(f"/v1/consents/{INFORMED}/withdraw")
    assert reply.status == 409
    assert reply.body["error"]["code"] == "conflict"


def test_a_racing_decision_on_stale_state_gets_409_and_leaves_no_record(
    api: Api, published: dict[str, str]
) -> None:
    from shared.wiring import services

    body = api.login("alice")
    seen = UserItem.get(body["user"]["id"])  # two requests read the same state...
    decide(api, AGREEMENT, "agree")  # ...one wins
    from shared import errors

    with pytest.raises(errors.Conflict):
        services().consent.decide(seen, AGREEMENT, AGREEMENT_VERSION, "refuse", "127.0.0.1", "ua")
    user = UserItem.get(body["user"]["id"])
    assert (user.agreement_decision, user.agreement_version) == ("agree", AGREEMENT_VERSION)
    assert [r.decision for r in ConsentItem.scan()] == ["agree"]


def test_a_decision_costs_two_reads_and_one_transaction(api: Api, published: dict[str, str]) -> None:
    api.login("alice")
    version = current_version(api, AGREEMENT)  # warms the catalog, as a live container would be
    with metered() as meter:
        decide(api, AGREEMENT, "agree", version=version)
    assert meter.calls == ["GetItem", "GetItem", "TransactWriteItems"]  # the user, their consent key
    with metered() as meter:
        assert step(api) == "informed_consent"
    assert meter.calls == ["GetItem"]  # the gate reads nothing more


def test_the_catalog_reads_documents_once_per_cache_window(
    api: Api, published: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import wiring

    monkeypatch.setenv("CONSENT_CACHE_SECONDS", "0")
    wiring.reset()
    api.login("alice")
    with metered() as meter:
        step(api)
    assert meter.calls == ["GetItem", "BatchGetItem"]


def test_publishing_is_idempotent_and_refuses_a_changed_text(
    api: Api, published: dict[str, str], tmp_path: Path
) -> None:
    assert set(publish_seed().values()) == {"unchanged", "superseded"}  # the first text, replaced
    seed = next(p for p in consent_ops.seed_files() if p.parent.name == AGREEMENT)
    changed = tmp_path / AGREEMENT / seed.name
    changed.parent.mkdir()
    changed.write_text(seed.read_text(encoding="utf-8") + "\n多一句。\n", encoding="utf-8")
    with pytest.raises(consent_ops.PublishError, match="another text"):
        consent_ops.publish(changed)
    older = tmp_path / AGREEMENT / "2026-10-01.md"
    older.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(consent_ops.PublishError, match="older"):
        consent_ops.publish(older)
    assert consent_ops.main(["publish", str(changed)]) == 1
    lines = consent_ops.list_documents()
    assert [line[0] for line in lines] == [" ", " ", "*", " ", "*"]


def test_the_ops_command_publishes_and_lists(aws: object, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(p) for p in consent_ops.seed_files()]
    assert consent_ops.main(["publish", *files]) == 0
    assert consent_ops.main(["publish", *files]) == 0
    out = capsys.readouterr().out
    assert out.count(": published") == 5 and out.count(": unchanged") == 5
    assert consent_ops.main(["list"]) == 0
    assert "2026-11-01" in capsys.readouterr().out
    assert consent_ops.main(["nope"]) == 2


@pytest.mark.parametrize(
    ("front", "error"),
    [
        ("title: t\nrequired: true\n", "summary"),
        ("title: t\nsummary: s\nrequired: false\n", "required: true"),
        ("summary: s\nrequired: true\n", "title"),
        ("title: t\nsummary: s\nrequired: true\nlinks: [{title: 隐私政策, path: /privacy}]\n", "never names"),
        ("title: t\nsummary: s\nrequired: true\nlinks: [{title: 正文, path: ../x}]\n", "plain path"),
        (
            "title: t\nsummary: s\nrequired: true\nlinks: [{title: 正文, path: 'https://x.cn'}]\n",
            "plain path",
        ),
        ("title: t\nsummary: s\nrequired: true\nlinks: {title: 正文}\n", "a list"),
    ],
)
def test_a_bad_document_file_is_refused(tmp_path: Path, front: str, error: str) -> None:
    path = tmp_path / AGREEMENT / "2026-11-02.md"
    path.parent.mkdir()
    path.write_text(f"---\n{front}---\n《正文》\n", encoding="utf-8")
    with pytest.raises(consent_ops.PublishError, match=error):
        consent_ops.read_document(path)


def test_a_bad_version_or_folder_is_refused(tmp_path: Path) -> None:
    for name in (f"{AGREEMENT}/v2.md", "privacy/2026-11-01.md", f"{AGREEMENT}/CURRENT.md"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("---\ntitle: t\nsummary: s\nrequired: true\n---\nx\n", encoding="utf-8")
        with pytest.raises(consent_ops.PublishError):
            consent_ops.read_document(path)


def test_no_function_may_update_or_delete_consent_records() -> None:
    from infra.routes import load_serverless

    allowed = {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query"}
    writers = set()
    for name, spec in load_serverless()["functions"].items():
        for statement in spec.get("iamRoleStatements") or []:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if any("ConsentsTable" in repr(r) for r in resources):
                assert set(statement["Action"]) <= allowed, (name, statement["Action"])
                if "dynamodb:PutItem" in statement["Action"]:
                    writers.add(name)
    assert writers == {"consentDecide", "consentWithdraw"}
    table = load_serverless()["resources"]["Resources"]["ConsentsTable"]
    assert table["DeletionPolicy"] == "Retain"
