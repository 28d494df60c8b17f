"""The AWS-call targets, checked by `make bench` and by tests/functional/test_bench_calls.py.

A verification submit informs every active reviewer; each one with an e-mail address costs one
SNS Publish. The journey has one such reviewer, and every call, that Publish included, is held
against the target (3 + 3 per image, + 2 for batching: the reviewer's message window claimed, and
one Query of the other links that wait for it); a second e-mail reviewer would add one Publish and
one window claim each (the Publish is shown).
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.bench.journey import Measured

IMAGES = 2  # the journey's submission carries two images
PER_REVIEWER = frozenset({"Publish"})  # calls made once per informed reviewer

CALL_TARGETS: dict[str, int] = {
    "GET /v1/me": 1,
    "GET /v1/articles/{id}": 2,
    "GET /v1/articles/{id}/comments": 2,
    # the gate's read, a unit of the content check's inline share (one conditional write on one of
    # its counters: the quota is kept app-wide), one transaction
    "POST /v1/articles/{id}/comments": 3,
    "POST /v1/verification (two images)": 3 + 3 * IMAGES + 2,
    # whoever the form names: the handle, a member, one transaction, one e-mail
    "POST /console/login": 4,
    # the session's member, the pending submissions, the funnel's counters, the comments waiting
    "GET /console": 4,
    # the gate's read, the comment, one transaction
    "POST /v1/comments/{id}/reports": 3,
    # the session's member and one Query of an index each
    "GET /console/comments": 2,
    "GET /console/verifications": 2,
    "GET /console/audit": 2,
}


@dataclass(frozen=True)
class Verdict:
    label: str
    target: int
    counted: int  # the calls held against the target (all of them)
    fan_out: int  # of which per-reviewer calls
    ok: bool

    def line(self) -> str:
        extra = f" (of which {self.fan_out} SNS Publish, one per e-mail reviewer)" if self.fan_out else ""
        verdict = "met" if self.ok else "MISSED"
        return f"{self.label}: {self.counted} calls{extra}, target <= {self.target}: {verdict}"


def check_calls(measured: list[Measured]) -> list[Verdict]:
    by_label = {m.label: m for m in measured}
    verdicts = []
    for label, target in CALL_TARGETS.items():
        m = by_label.get(label)
        if m is None:
            verdicts.append(Verdict(label, target, -1, 0, ok=False))
            continue
        fan_out = sum(1 for c in m.calls if c in PER_REVIEWER) if "verification" in label else 0
        counted = m.count
        verdicts.append(Verdict(label, target, counted, fan_out, ok=counted <= target))
    return verdicts
