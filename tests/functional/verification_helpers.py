"""Helpers for verification tests: images, consented users, uploads, submissions, reviewer links."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
from botocore.config import Config as BotoConfig

from infra.ops import staff as staff_ops
from shared import config
from tests.functional.conftest import Api, Reply

FIELDS: dict[str, Any] = {
    "real_name": "张医生",
    "hospital": "北京协和医院",
    "department": "心内科",
    "title": "主治医师",
    "profession": "doctor",
}
GPS_IFD = 0x8825
MAKE_TAG = 0x010F


def image_bytes(fmt: str = "JPEG", color: tuple[int, int, int] = (200, 30, 30), size: int = 64) -> bytes:
    """A small image with a pattern (so perceptual hashes differ by color) and EXIF with GPS."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((size // 4, size // 4, size // 2, size // 2), fill=(color[2], color[0], color[1]))
    draw.line((0, size - 1, size - 1, color[1] % size), fill=(255, 255, 255), width=3)
    out = io.BytesIO()
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    if fmt in ("JPEG", "WEBP", "PNG"):
        exif = Image.Exif()
        exif[MAKE_TAG] = "SecretPhone"
        exif[GPS_IFD] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
        image.save(out, format=fmt, exif=exif.tobytes())
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def s3() -> Any:
    cfg = config.current()
    return boto3.client("s3", region_name=cfg.region, config=BotoConfig(signature_version="s3v4"))


def upload(
    api: Api,
    data: bytes | None = None,
    *,
    kind: str = "practice_license",
    content_type: str = "image/jpeg",
    stored_type: str | None = None,
    declared_size: int | None = None,
) -> str:
    """Ask for an upload link, then put the bytes where it points (moto ignores the POST policy)."""
    data = image_bytes() if data is None else data
    reply = api.post(
        "/v1/verification/uploads",
        {"kind": kind, "content_type": content_type, "size": declared_size or len(data)},
    )
    assert reply.status == 200, reply.body
    key = str(reply.body["key"])
    s3().put_object(
        Bucket=config.current().bucket, Key=key, Body=data, ContentType=stored_type or content_type
    )
    return key


def submit(
    api: Api,
    keys: list[str],
    headers: dict[str, str] | None = None,
    keep: list[str] | None = None,
    **fields: Any,
) -> Reply:
    body = {**FIELDS, **fields, "documents": keys}
    if keep is not None:
        body["keep"] = keep
    return api.post("/v1/verification", body, headers=headers)


def add_reviewer(name: str = "审核员甲", **kw: Any) -> str:
    """A staff member with the role `reviewer` (an e-mail, a robot, or in this stage neither)."""
    return staff_ops.add(name, "reviewer", **kw).staff_id


def outbox(path: str) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]


def reviewer_links(path: str, submission_id: str | None = None) -> list[str]:
    """The reviewer links in the outbox, oldest first: one per message, or several in a batch."""
    found = []
    for e in outbox(path):
        if e.get("channel") != "reviewer":
            continue
        pairs = (
            zip(e["submission_ids"], e["links"], strict=True)
            if "links" in e
            else [(e["submission_id"], e["link"])]
        )
        found += [str(link) for sid, link in pairs if submission_id is None or sid == submission_id]
    return found


def link_path(link: str) -> str:
    """The path and query of an absolute reviewer link, for Api.get."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def form_fields(html: str, decision: str) -> dict[str, str]:
    """The hidden fields of the page's form for `decision`."""
    forms = re.findall(r"<form .*?</form>", html, flags=re.S)
    form = next(f for f in forms if f'name="decision" value="{decision}"' in f)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def post_decision(
    api: Api,
    link: str,
    decision: str,
    *,
    reason: str | None = None,
    note: str = "",
    internal_note: str = "",
    redo: list[str] | None = None,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
) -> Reply:
    hidden = fields if fields is not None else form_fields(api.get(link_path(link), token="").text, decision)
    pairs: list[tuple[str, str]] = [("t", hidden["t"]), ("csrf", hidden["csrf"]), ("decision", decision)]
    if reason:
        pairs.append(("reason", reason))
    if note:
        pairs.append(("note", note))
    if internal_note:
        pairs.append(("internal_note", internal_note))
    pairs += [("redo", kind) for kind in redo or []]
    submission_id = urlsplit(link).path.split("/")[2]
    return api.call(
        "POST",
        f"/review/{submission_id}/decision",
        raw=urlencode(pairs),
        token="",
        headers={"content-type": "application/x-www-form-urlencoded", **(headers or {})},
    )
