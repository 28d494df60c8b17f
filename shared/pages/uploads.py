"""A file posted from a console form (multipart/form-data), read with the standard library's MIME
parser (`email.parser`, policy HTTP).

Why not a multipart library: none is among the runtime dependencies, and werkzeug's parser (the
local gateway has it through flask) must never ship to Lambda (infra/deploy.py NEVER_SHIPPED); its
package costs ~150 ms to import besides. The MIME parser is part of CPython, keeps a file's bytes
exactly as sent (a file that is not UTF-8 reaches the article parser as it is, so it can name the
line), and costs ~7 ms to import, paid only by the function that takes uploads, on its first one.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared import errors
from shared.edge import Request

MAX_PARTS = 8
MAX_FIELD_BYTES = 4096  # a form field that is not a file (the CSRF field)


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    files: dict[str, bytes]  # by field name: the first file posted under it


def read_upload(request: Request, max_bytes: int, *, case: str) -> Upload:
    """The form's fields and files; 415 unless multipart, 413 (`case`, the limit in KB) past
    `max_bytes`, 400 when the body is not a multipart form (or holds more than MAX_PARTS parts)."""
    content_type = request.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data" or "\n" in content_type:
        raise errors.UnsupportedMediaType(case)
    if len(request.body) > max_bytes:
        raise errors.PayloadTooLarge(case, max=max_bytes // 1000)
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if not parts or len(parts) > MAX_PARTS:
        raise errors.BadRequest(case)
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in parts:
        if part.get_content_disposition() != "form-data":
            continue
        name = str(part.get_param("name", "", header="content-disposition"))
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            raise errors.BadRequest(case)
        if part.get_filename() is not None:
            files.setdefault(name, data)
        elif len(data) <= MAX_FIELD_BYTES:
            fields.setdefault(name, data.decode("utf-8", "replace"))
    return Upload(fields, files)
