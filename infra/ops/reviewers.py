"""`python -m infra.ops reviewers add --name N [--email E] [--webhook URL] [--webhook-secret-param P]`,
`python -m infra.ops reviewers list`, `python -m infra.ops reviewers deactivate ID`.

A reviewer with an e-mail is subscribed to the stage's reviewer topic with a filter policy on
their own id, so each receives only their personal links (SNS asks them to confirm first).
A webhook is a WeCom/DingTalk-style robot URL; its signing secret, if any, is the name of an
SSM SecureString parameter under `/hcp/<stage>/reviewer-webhook/`, never the secret itself.
Deactivating ends the reviewer's links at once and removes their e-mail subscription.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from shared import wiring
from shared.domain.ids import new_id
from shared.domain.outcomes import Refused
from shared.domain.verification import Reviewer

MAX_NAME_CHARS = 40
DEMO_REVIEWER_ID = "demo-reviewer"  # the local seed's reviewer
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")


class ReviewerError(Exception):
    """The reviewer cannot be added or changed as asked (the message says why)."""


@dataclass(frozen=True)
class Added:
    reviewer_id: str
    subscription: str | None


def _check(name: str, email: str | None, webhook: str | None) -> None:
    if not 0 < len(name.strip()) <= MAX_NAME_CHARS:
        raise ReviewerError(f"--name must be 1 to {MAX_NAME_CHARS} characters")
    if email is not None and not _EMAIL.match(email):
        raise ReviewerError("--email is not an e-mail address")
    if webhook is not None:
        parts = urlsplit(webhook)
        local = wiring.services().cfg.is_local
        if parts.scheme != "https" and not (local and parts.scheme == "http"):
            raise ReviewerError("--webhook must be an https:// URL")
        if not parts.netloc:
            raise ReviewerError("--webhook has no host")
    if email is None and webhook is None and not wiring.services().cfg.is_local:
        raise ReviewerError("a reviewer needs --email or --webhook to be reachable")


def add(
    name: str,
    email: str | None = None,
    webhook: str | None = None,
    webhook_secret_param: str | None = None,
    reviewer_id: str | None = None,
) -> Added:
    """Add an active reviewer (idempotent when `reviewer_id` is given and already exists)."""
    _check(name, email, webhook)
    app = wiring.services()
    repo = app.reviewers
    if reviewer_id is not None and repo.get(reviewer_id) is not None:
        return Added(reviewer_id, None)
    rid = reviewer_id or new_id()
    subscription = None
    if email and app.cfg.topic_arn:
        subscription = app.sns.subscribe_email(rid, email)
    reviewer = Reviewer(
        reviewer_id=rid,
        name=name.strip(),
        created_at=datetime.now(UTC),
        email=email,
        webhook=webhook,
        webhook_secret_param=webhook_secret_param,
        subscription_arn=subscription,
    )
    if isinstance(repo.add(reviewer), Refused):
        raise ReviewerError(f"a reviewer {rid} exists already")
    return Added(rid, subscription)


def listing() -> list[Reviewer]:
    return wiring.services().reviewers.all()


def deactivate(reviewer_id: str) -> bool:
    app = wiring.services()
    reviewer = app.reviewers.get(reviewer_id)
    if reviewer is None:
        return False
    if reviewer.subscription_arn and app.cfg.topic_arn and reviewer.subscription_arn.startswith("arn:"):
        app.sns.unsubscribe(reviewer.subscription_arn)
    app.reviewers.deactivate(reviewer_id)
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops reviewers")
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="add an active reviewer")
    adding.add_argument("--name", required=True)
    adding.add_argument("--email")
    adding.add_argument("--webhook")
    adding.add_argument("--webhook-secret-param")
    commands.add_parser("list", help="list reviewers")
    off = commands.add_parser("deactivate", help="deactivate a reviewer: their links stop working")
    off.add_argument("reviewer_id")
    args = parser.parse_args(argv)
    try:
        if args.command == "add":
            added = add(args.name, args.email, args.webhook, args.webhook_secret_param)
            note = " (e-mail subscription pending confirmation)" if added.subscription else ""
            print(f"added {added.reviewer_id}{note}")
        elif args.command == "list":
            for r in listing():
                channels = (
                    ",".join(c for c, v in (("email", r.email), ("webhook", r.webhook)) if v) or "outbox"
                )
                print(f"{r.reviewer_id}  {'active' if r.active else 'inactive':8}  {channels:14}  {r.name}")
        elif not deactivate(args.reviewer_id):
            print(f"no reviewer {args.reviewer_id}", file=sys.stderr)
            return 1
        else:
            print(f"deactivated {args.reviewer_id}")
    except ReviewerError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0
