"""A file posted from a console form (multipart/form-data), read with werkzeug's parser.

werkzeug costs about 150 ms to import (its package loads its test client and server): only the
function that takes uploads (the console's article import) imports it, on its first upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from shared import errors
from shared.edge import Request

MAX_FIELD_BYTES = 4096  # the form's other fields (the CSRF field)
MAX_PARTS = 8


@dataclass(frozen=True)
class Upload:
    fields: dict[str, str]
    files: dict[str, bytes]  # by field name: the first file posted under it


def read_upload(request: Request, max_bytes: int, *, case: str) -> Upload:
    """The form's fields and files; 415 unless multipart, 413 (`case`, the limit in KB) past
    `max_bytes`, 400 when the body is not a form werkzeug can read."""
    content_type = request.header("content-type") or ""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise errors.UnsupportedMediaType(case)
    if len(request.body) > max_bytes:
        raise errors.PayloadTooLarge(case, max=max_bytes // 1000)
    from werkzeug.exceptions import HTTPException
    from werkzeug.formparser import parse_form_data

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(request.body)),
        "wsgi.input": BytesIO(request.body),
    }
    try:
        _, form, files = parse_form_data(
            environ,
            max_content_length=max_bytes,
            max_form_memory_size=MAX_FIELD_BYTES,
            max_form_parts=MAX_PARTS,
            silent=False,
        )
    except HTTPException as exc:  # too large, too many parts
        raise errors.PayloadTooLarge(case, max=max_bytes // 1000) from exc
    except ValueError as exc:  # a body that is not multipart after all
        raise errors.BadRequest(case) from exc
    return Upload(
        {name: str(form.get(name, "")) for name in form},
        {name: files[name].read() for name in files},
    )
