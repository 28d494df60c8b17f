"""`make load`: a bounded load run on the local stack (locust as a library), loopback only.

About 50 simulated users work one article for 60 seconds: readers open it and page its comments,
writers post (some to be held by the content check, some replies, some sent twice with the same
Idempotency-Key) and delete some of their own, reporters report others' comments (three distinct
reporters hide one), and one moderator in the console restores, hides and deletes. Then it checks
what must hold under concurrency, and exits non-zero if anything does not:
- no 5xx, ever (429 is a limit doing its work, counted apart);
- no comment lost: every comment a writer was answered 201 for is, in its author's own view, there
  exactly once (visible, held or hidden), unless its author or the moderator deleted it;
- no comment doubled: a resend with the same Idempotency-Key answered the same comment, and no
  comment's id or text appears twice in any view;
- the article's `comment_count` equals the comments a reader who never wrote can see, and those are
  exactly the ones their authors see as visible.
It prints p50 and p95 per request type. It proves correctness under concurrency against moto on
this machine, not AWS's speed.

    python -m tests.load [--users 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task
from locust.env import Environment

from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.e2e.journey import Client, answer_questions, consent, review, submit, wait_for

ARTICLE = "hypertension-elderly"  # a demo article of infra/seed/articles
STAFF = "demo-admin"  # the local stack's demo admin
CACHE_SECONDS = 6  # counts and first pages are cached 5 s (api.md): wait them out before checking
SAYS = "This run proves correctness under concurrency against moto on one machine, not AWS's speed."


@dataclass
class Ledger:
    """What the simulated users were told, shared by all of them (greenlets: no locks needed)."""

    tokens: list[str] = field(default_factory=list)  # verified users' tokens, one per writer/reader
    posted: dict[str, tuple[str, str]] = field(default_factory=dict)  # comment id -> (token, text)
    deleted: set[str] = field(default_factory=set)  # by their author or the moderator
    doubled: list[str] = field(default_factory=list)  # a resend answered another comment
    server_errors: list[str] = field(default_factory=list)
    limited: Counter[str] = field(default_factory=Counter)  # 429s by request type
    next_token: itertools.count[int] = field(default_factory=itertools.count)


LEDGER = Ledger()


def _judge(name: str, reply: Any, ok: tuple[int, ...]) -> bool:
    """Marks the request as locust should count it; records 5xx and 429 apart."""
    if reply.status_code >= 500:
        LEDGER.server_errors.append(f"{name}: {reply.status_code} {reply.text[:200]}")
        reply.failure(f"{reply.status_code}")
        return False
    if reply.status_code == 429:
        LEDGER.limited[name] += 1
        reply.success()
        return False
    if reply.status_code not in ok:
        reply.failure(f"{reply.status_code} {reply.text[:200]}")
        return False
    reply.success()
    return True


class AppUser(HttpUser):
    abstract = True

    def on_start(self) -> None:
        self.token = LEDGER.tokens[next(LEDGER.next_token) % len(LEDGER.tokens)]
        self.client.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, name: str, method: str, path: str, ok: tuple[int, ...] = (200,), **kw: Any) -> Any:
        with self.client.request(method, path, name=name, catch_response=True, **kw) as reply:
            return reply.json() if _judge(name, reply, ok) else None


class Reader(AppUser):
    weight = 5
    wait_time = between(0.2, 1.0)

    @task(2)
    def article(self) -> None:
        self.call("GET /v1/articles/{id}", "GET", f"/v1/articles/{ARTICLE}")

    @task(3)
    def comments(self) -> None:
        page = self.call("GET .../comments", "GET", f"/v1/articles/{ARTICLE}/comments")
        for _ in range(random.randint(0, 2)):  # 查看更多  # noqa: S311 - a simulation, not a secret
            if not page or not page.get("next_cursor"):
                return
            page = self.call(
                "GET .../comments?cursor",
                "GET",
                f"/v1/articles/{ARTICLE}/comments",
                params={"cursor": page["next_cursor"]},
            )


class Writer(AppUser):
    weight = 3
    wait_time = between(2.0, 5.0)

    def _post(self, body: dict[str, Any], key: str) -> Any:
        headers = {"Idempotency-Key": key}
        path = f"/v1/articles/{ARTICLE}/comments"
        return self.call("POST .../comments", "POST", path, (201, 200), json=body, headers=headers)

    @task(4)
    def post(self) -> None:
        text = f"负载测试评论 {uuid.uuid4().hex[:12]}"
        if random.random() < 0.15:  # noqa: S311
            text += " 待审"  # the fake content check holds it for a moderator
        body: dict[str, Any] = {"text": text}
        mine_or_others = list(LEDGER.posted)
        if mine_or_others and random.random() < 0.3:  # noqa: S311
            body["reply_to"] = random.choice(mine_or_others)  # noqa: S311
        key = str(uuid.uuid4())
        posted = self._post(body, key)
        if posted is None:
            return
        LEDGER.posted[posted["id"]] = (self.token, text)
        if random.random() < 0.2:  # noqa: S311 - the answer "lost": the app sends it again
            again = self._post(body, key)
            if again is not None and again["id"] != posted["id"]:
                LEDGER.doubled.append(f"{posted['id']} then {again['id']} for one key")

    @task(1)
    def delete_own(self) -> None:
        mine = [
            i for i, (token, _) in LEDGER.posted.items() if token == self.token and i not in LEDGER.deleted
        ]
        if mine:
            target = random.choice(mine)  # noqa: S311
            if self.call("DELETE /v1/comments/{id}", "DELETE", f"/v1/comments/{target}") is not None:
                LEDGER.deleted.add(target)


class Reporter(AppUser):
    weight = 1
    wait_time = between(1.0, 3.0)

    @task
    def report(self) -> None:
        others = [i for i, (token, _) in LEDGER.posted.items() if token != self.token]
        if others:
            target = random.choice(others)  # noqa: S311
            body = {"reason": random.choice(["spam", "abuse", "misinformation"])}  # noqa: S311
            self.call(
                "POST /v1/comments/{id}/reports",
                "POST",
                f"/v1/comments/{target}/reports",
                (201, 200, 404),
                json=body,
            )


class Moderator(HttpUser):
    fixed_count = 1
    wait_time = between(1.0, 2.0)
    cookies: dict[str, str] = {}  # noqa: RUF012 - set once by prepare(), before any user starts
    csrf = ""

    def on_start(self) -> None:
        self.client.cookies.update(self.cookies)

    def _form(self, name: str, path: str, **fields: str) -> bool:
        data = {"csrf": self.csrf, **fields}
        headers = {"Origin": self.host or ""}
        with self.client.post(
            path, data=data, headers=headers, name=name, catch_response=True, allow_redirects=False
        ) as reply:
            return _judge(name, reply, (200, 303, 302, 404, 409))

    @task(2)
    def work_the_queue(self) -> None:
        with self.client.get(
            "/console/comments?queue=pending", name="GET /console/comments", catch_response=True
        ) as reply:
            if not _judge("GET /console/comments", reply, (200,)):
                return
            waiting = re.findall(r'data-comment="([^"]+)"', reply.text)
        for comment in waiting[:3]:
            if random.random() < 0.7:  # noqa: S311
                self._form("POST .../restore", f"/console/comments/{comment}/restore")
            elif self._form("POST .../delete", f"/console/comments/{comment}/delete"):
                LEDGER.deleted.add(comment)

    @task(1)
    def hide_one(self) -> None:
        live = [i for i in LEDGER.posted if i not in LEDGER.deleted]
        if live:
            self._form("POST .../hide", f"/console/comments/{random.choice(live)}/hide", reason="off_topic")  # noqa: S311


def prepare(stack: RunningStack, users: int) -> None:
    """Verified users for the simulated ones, and a console session for the moderator."""
    for n in range(users):
        client = Client(stack)
        client.login(f"load-{n}")
        consent(client)
        review(client, submit(client, (n * 37 % 256, n * 91 % 256, 120)), "approve")
        answer_questions(client)
        assert client.token is not None
        LEDGER.tokens.append(client.token)
    Moderator.cookies, Moderator.csrf = console_session(stack)


def console_session(stack: RunningStack) -> tuple[dict[str, str], str]:
    """Sign the demo admin in over HTTP as a browser would: the form, the e-mailed link, confirm."""
    import requests

    browser = requests.Session()
    origin = {"Origin": stack.base_url}
    page = browser.get(stack.url("/console/login"), timeout=15)
    before = len(stack.outbox())
    browser.post(
        stack.url("/console/login"), data={"who": STAFF, "csrf": _csrf(page.text)}, headers=origin, timeout=15
    )

    def link() -> str | None:
        found = [json.loads(line) for line in stack.outbox()[before:]]
        return next((e["link"] for e in reversed(found) if e.get("kind") == "sign_in"), None)

    confirm = browser.get(str(wait_for(link)), timeout=15)
    token = re.search(r'name="t" value="([^"]+)"', confirm.text)
    assert token is not None, confirm.text[:300]
    form = {"t": token.group(1), "csrf": _csrf(confirm.text)}
    browser.post(stack.url("/console/auth"), data=form, headers=origin, timeout=15, allow_redirects=False)
    comments = browser.get(stack.url("/console/comments"), timeout=15)
    assert comments.status_code == 200 and "评论管理" in comments.text, comments.text[:300]
    return dict(browser.cookies), _csrf(comments.text)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, html[:300]
    return found.group(1)


def everything(stack: RunningStack, token: str) -> list[dict[str, Any]]:
    """Every comment of the article as the token's user sees it, paging to the end."""
    client = Client(stack)
    client.token = token
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        reply = client.call(
            "GET", f"/v1/articles/{ARTICLE}/comments", params={"cursor": cursor} if cursor else None
        )
        assert reply.status_code == 200, reply.text
        page = reply.json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def verdicts(stack: RunningStack, bystander: str) -> list[tuple[str, bool, str]]:
    """(what, held, detail) for each promise, read after the caches have aged."""
    time.sleep(CACHE_SECONDS)
    seen = everything(stack, bystander)
    ids = [c["id"] for c in seen]
    texts = [c["text"] for c in seen]
    client = Client(stack)
    client.token = bystander
    count = client.call("GET", f"/v1/articles/{ARTICLE}").json()["comment_count"]
    by_author: dict[str, list[dict[str, Any]]] = {}
    for token in {token for token, _ in LEDGER.posted.values()}:
        by_author[token] = everything(stack, token)
    lost, doubled = [], list(LEDGER.doubled)
    visible_to_authors = set()
    for comment_id, (token, _) in LEDGER.posted.items():
        mine = [c for c in by_author[token] if c["id"] == comment_id]
        if len(mine) > 1:
            doubled.append(f"{comment_id} {len(mine)} times in its author's view")
        if not mine and comment_id not in LEDGER.deleted:
            lost.append(comment_id)
        if mine and mine[0]["state"] == "visible":
            visible_to_authors.add(comment_id)
    doubled += [f"{i} twice" for i, n in Counter(ids).items() if n > 1]
    doubled += [f"text {t!r} twice" for t, n in Counter(texts).items() if n > 1]
    shown = {c["id"] for c in seen}
    ours = shown & set(LEDGER.posted)
    return [
        ("no 5xx", not LEDGER.server_errors, "; ".join(LEDGER.server_errors[:5])),
        ("no comment lost", not lost, f"{len(lost)} lost: {lost[:5]}"),
        ("no comment doubled", not doubled, "; ".join(doubled[:5])),
        ("count = visible comments", count == len(seen), f"comment_count {count}, a reader sees {len(seen)}"),
        (
            "readers see what authors see as visible",
            ours == visible_to_authors,
            f"{len(ours ^ visible_to_authors)} differ",
        ),
        ("only visible comments to others", all(c["state"] == "visible" for c in seen), ""),
    ]


def run(users: int, seconds: int) -> int:
    with tempfile.TemporaryDirectory(prefix="hcp-load-") as var:
        stack = start_stack(Path(var))
        try:
            print(f"local stack at {stack.base_url}; preparing {users} verified users...", flush=True)
            prepare(stack, users + 1)
            bystander = LEDGER.tokens.pop()  # never writes: reads what any reader would
            env = Environment(
                user_classes=[Reader, Writer, Reporter, Moderator], events=events, host=stack.base_url
            )
            runner = env.create_local_runner()
            started = time.perf_counter()
            runner.start(users, spawn_rate=users)
            gevent.spawn_later(seconds, runner.quit)
            runner.greenlet.join()
            elapsed = time.perf_counter() - started
            results = verdicts(stack, bystander)
            print(f"\n== load: {users} users for {elapsed:.0f} s on {stack.base_url} (loopback)")
            print(f"   {'request':34} {'count':>7} {'p50 ms':>7} {'p95 ms':>7} {'429':>5}")
            for entry in sorted(env.stats.entries.values(), key=lambda e: e.name):
                p50 = entry.get_response_time_percentile(0.5)
                p95 = entry.get_response_time_percentile(0.95)
                limited = LEDGER.limited.get(entry.name, 0)
                print(f"   {entry.name[:34]:34} {entry.num_requests:>7} {p50:>7.0f} {p95:>7.0f} {limited:>5}")
            total = env.stats.total
            p50, p95 = (total.get_response_time_percentile(q) for q in (0.5, 0.95))
            print(
                f"   all: {total.num_requests} requests, p50 {p50:.0f} ms, p95 {p95:.0f} ms; "
                f"{len(LEDGER.posted)} comments posted"
            )
            for what, held, detail in results:
                print(f"   {what}: {'ok' if held else 'FAILED ' + detail}")
            print(f"   {SAYS}")
            return 0 if all(held for _, held, _ in results) else 1
        finally:
            stop_stack(stack)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args(argv)
    if not 2 <= args.users <= 200 or not 1 <= args.seconds <= 600:
        parser.error("2 to 200 users, 1 to 600 seconds: the run is bounded")
    return run(args.users, args.seconds)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
