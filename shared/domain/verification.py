"""HCP verification: the rules, limits and states, with no I/O.

A submission moves `pending → approved | rejected | withdrawn` (the applicant takes it back); an
approval may later be `revoked` by staff. A user moves `none → pending`, and from `rejected`,
`withdrawn` or `revoked` back to `pending` by resubmitting. An approved user may submit an update of
their details: it is reviewed like any submission while the user stays approved, and replaces the
approved details only when it is approved. A submit while something is pending is a conflict, a
decision on a decided submission is a conflict naming the one that stands.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from shared import errors
from shared.domain import times
from shared.domain.rates import RateWindow, rate_key, window_end
from shared.domain.text import visible_text

# ---- uploads ----
MAX_IMAGE_BYTES = 10 * 1024 * 1024
UPLOAD_URL_LIFETIME = timedelta(minutes=10)
DOCUMENT_KINDS = ("practice_license", "qualification", "work_badge")
# content type -> (file extension, the format name Pillow reports for such bytes)
IMAGE_TYPES: dict[str, tuple[str, str]] = {
    "image/jpeg": ("jpg", "JPEG"),
    "image/png": ("png", "PNG"),
    "image/webp": ("webp", "WEBP"),
    "image/heic": ("heic", "HEIF"),
}
EXTENSION_TYPES = {ext: ctype for ctype, (ext, _) in IMAGE_TYPES.items()}

# ---- how often (per user) ----
# An applicant uploads at most five images a submission and may redo a few: twenty links an hour is
# four full submissions' worth, which no real applicant asks for; it stops a script minting
# presigned links (and S3 objects) in a loop.
UPLOADS_PER_HOUR = 20
HOUR_SECONDS = 3_600
# A submission can only follow a decision or a withdrawal (one pending at a time), so ten a day is
# far beyond correcting a form; it caps how often one account can fill the reviewers' queue.
SUBMITS_PER_DAY = 10
DAY_SECONDS = 86_400


def upload_window(user_id: str, now: datetime) -> RateWindow:
    end = window_end(now, HOUR_SECONDS)
    return RateWindow("uploads", rate_key(user_id, "vu", end), UPLOADS_PER_HOUR, end)


def submit_window(user_id: str, now: datetime) -> RateWindow:
    end = window_end(now, DAY_SECONDS)
    return RateWindow("submits", rate_key(user_id, "vs", end), SUBMITS_PER_DAY, end)


# ---- the submission ----
MIN_DOCUMENTS = 1
MAX_DOCUMENTS = 5
MAX_NAME_CHARS = 50
MAX_HOSPITAL_CHARS = 100
MAX_DEPARTMENT_CHARS = 50
MAX_TITLE_CHARS = 50
MAX_LICENSE_CHARS = 40
PROFESSIONS = ("doctor", "nurse", "pharmacist", "other")

# ---- review ----
REVIEW_LINK_LIFETIME = timedelta(hours=72)
IMAGE_LINK_LIFETIME = timedelta(minutes=5)
CLAIM_LIFETIME = timedelta(minutes=15)  # a claim shows who is on a submission, then lapses
DECISIONS = ("approve", "reject")
REASONS: dict[str, str] = {
    "image_unreadable": "图片无法辨认",
    "name_mismatch": "姓名与证件不符",
    "document_expired": "证件已过期",
    "not_hcp_document": "不是医疗卫生专业人员证件",
    "other": "其他原因",
}
MAX_NOTE_CHARS = 500  # each of the note to the applicant and the staff's internal note
# Images of decided submissions are tagged at the decision and expired by the bucket's lifecycle this
# many days after they were written (a stage setting). An image is offered for keeping only while it
# is surely still there: until a day before.
DEFAULT_IMAGE_RETENTION_DAYS = 180
KEEP_MARGIN = timedelta(days=1)

PROFESSION_LABELS = {"doctor": "医生", "nurse": "护士", "pharmacist": "药师", "other": "其他"}
KIND_LABELS = {"practice_license": "执业证书", "qualification": "资格证书", "work_badge": "工牌"}


class Status(StrEnum):
    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the applicant took a pending submission back
    REVOKED = "revoked"  # staff withdrew an approval; behaves as a rejection


# Whose rejection reason the applicant is shown.
REFUSED = frozenset({Status.REJECTED, Status.REVOKED})


_UPLOAD_KEY = re.compile(
    r"^uploads/(?P<uid>[0-9A-HJKMNP-TV-Z]{26})/(?P<kind>[a-z_]+)/(?P<id>[0-9A-HJKMNP-TV-Z]{26})\.(?P<ext>[a-z]+)$"
)


class UploadKey(msgspec.Struct, frozen=True):
    """A key the upload endpoint handed out: `uploads/<user_id>/<kind>/<ulid>.<ext>`."""

    user_id: str
    kind: str
    upload_id: str
    content_type: str

    @property
    def key(self) -> str:
        return f"uploads/{self.user_id}/{self.kind}/{self.upload_id}.{IMAGE_TYPES[self.content_type][0]}"


def user_prefixes(user_id: str) -> list[str]:
    """Everything of a user in the credentials bucket lives under these (what erasure deletes)."""
    return [f"uploads/{user_id}/", f"credentials/{user_id}/"]


def clean_key(user_id: str, submission_id: str, index: int) -> str:
    """Where the sanitized copy of a submission's n-th image lives."""
    return f"credentials/{user_id}/{submission_id}/{index}.jpg"


def upload_key(user_id: str, kind: str, content_type: str, upload_id: str) -> UploadKey:
    check_upload_request(kind, content_type)
    return UploadKey(user_id, kind, upload_id, content_type)


def check_upload_request(kind: str, content_type: str, size: int | None = None) -> None:
    faults = errors.Faults()
    if kind not in DOCUMENT_KINDS:
        faults.add("kind", "not_allowed", "document_kind")
    if content_type not in IMAGE_TYPES:
        faults.add("content_type", "not_allowed", "image_type")
    if size is not None and size < 1:
        faults.add("size", "invalid", "image_size")
    faults.raise_any()
    if size is not None and size > MAX_IMAGE_BYTES:
        raise errors.PayloadTooLarge("image")


def parse_upload_key(key: str, user_id: str) -> UploadKey:
    """The upload a document key names, if it is one of the caller's own; else 400/403."""
    match = _UPLOAD_KEY.fullmatch(key) if len(key) < 200 else None
    if match is None or match["kind"] not in DOCUMENT_KINDS or match["ext"] not in EXTENSION_TYPES:
        raise errors.invalid("documents", "invalid", "document_key")
    if match["uid"] != user_id:
        raise errors.Forbidden("document_owner")
    return UploadKey(user_id, match["kind"], match["id"], EXTENSION_TYPES[match["ext"]])


def _bounded(faults: errors.Faults, name: str, value: str, limit: int, *, required: bool = True) -> str:
    value = visible_text(value).strip()  # no zero-width or right-to-left trick reaches a reviewer
    if required and not value:
        faults.add(name, "required")
    elif len(value) > limit:
        faults.add(name, "too_long", max=limit)
    elif any(ord(ch) < 32 for ch in value):
        faults.add(name, "invalid", "control_characters")
    return value


class Applicant(msgspec.Struct, frozen=True):
    """What the applicant states about themselves, checked and trimmed."""

    real_name: str
    hospital: str
    department: str
    title: str
    profession: str
    license_number: str | None


def check_applicant(
    real_name: str,
    hospital: str,
    department: str,
    title: str,
    profession: str,
    license_number: str | None,
) -> Applicant:
    """The applicant's details, trimmed; every field at fault is named at once (400)."""
    faults = errors.Faults()
    applicant = Applicant(
        real_name=_bounded(faults, "real_name", real_name, MAX_NAME_CHARS),
        hospital=_bounded(faults, "hospital", hospital, MAX_HOSPITAL_CHARS),
        department=_bounded(faults, "department", department, MAX_DEPARTMENT_CHARS),
        title=_bounded(faults, "title", title, MAX_TITLE_CHARS),
        profession=profession,
        license_number=_bounded(
            faults, "license_number", license_number or "", MAX_LICENSE_CHARS, required=False
        )
        or None,
    )
    if profession not in PROFESSIONS:
        faults.add("profession", "not_allowed", "profession")
    faults.raise_any()
    return applicant


def normalized_license(number: str) -> str:
    """The form licence numbers are compared in: no spaces or dashes, upper case."""
    return re.sub(r"[\s\-]", "", number).upper()


def check_documents(keys: list[str], kept: int = 0) -> None:
    """New upload keys, and `kept` images reused from the latest submission: 1 to 5 in all."""
    if not MIN_DOCUMENTS <= len(keys) + kept <= MAX_DOCUMENTS:
        raise errors.invalid(
            "documents",
            "required" if not keys and not kept else "invalid",
            "documents_count",
            min=MIN_DOCUMENTS,
            max=MAX_DOCUMENTS,
        )
    if len(set(keys)) != len(keys):
        raise errors.invalid("documents", "invalid", "documents_repeat")


def can_submit(status: str | None, update_status: str | None = None) -> None:
    """none, rejected, withdrawn or revoked may (re)submit, approved may submit an update; a
    pending submission or a pending update is a conflict."""
    if status == Status.PENDING:
        raise errors.Conflict("verification_pending")
    if status == Status.APPROVED and update_status == Status.PENDING:
        raise errors.Conflict("update_pending")


def check_decision(
    decision: str, reason: str | None, redo: list[str], note: str, internal_note: str = ""
) -> None:
    if decision not in DECISIONS:
        raise errors.BadRequest("decision")
    if decision == "reject" and reason not in REASONS:
        raise errors.BadRequest("reject_reason")
    if decision == "approve" and (reason or redo):
        raise errors.BadRequest("approve_extras")
    if any(kind not in DOCUMENT_KINDS for kind in redo):
        raise errors.BadRequest("redo_kinds")
    if len(note) > MAX_NOTE_CHARS:
        raise errors.BadRequest("note_long", max=MAX_NOTE_CHARS)
    if len(internal_note) > MAX_NOTE_CHARS:
        raise errors.BadRequest("internal_note_long", max=MAX_NOTE_CHARS)


def check_revocation(reason: str, note: str, internal_note: str = "") -> None:
    """A revocation names a rejection reason; its notes are bounded like a decision's."""
    if reason not in REASONS:
        raise errors.BadRequest("reject_reason")
    if len(note) > MAX_NOTE_CHARS:
        raise errors.BadRequest("note_long", max=MAX_NOTE_CHARS)
    if len(internal_note) > MAX_NOTE_CHARS:
        raise errors.BadRequest("internal_note_long", max=MAX_NOTE_CHARS)


def decision_status(decision: str) -> Status:
    return Status.APPROVED if decision == "approve" else Status.REJECTED


# The subscribe message of the review result. The template (chosen in the WeChat admin console)
# has these four fields; `thing` values are at most 20 characters, so the reason is its label.
RESULT_TITLE = "医护身份认证"
UPDATE_TITLE = "医护认证资料更新"  # an approved user's update: their approval stands either way
RESULT_WORDS = {"approved": "已通过", "rejected": "未通过"}
APPROVED_REMARK = "欢迎进入学术分享"
UPDATE_APPROVED_REMARK = "资料已更新"


def result_message(
    status: str, reason: str | None, decided_at: datetime, *, is_update: bool = False
) -> dict[str, str]:
    """The template data telling a user the result; names nothing the applicant typed."""
    approved = UPDATE_APPROVED_REMARK if is_update else APPROVED_REMARK
    remark = approved if status == "approved" else REASONS.get(reason or "other", REASONS["other"])
    return {
        "thing1": UPDATE_TITLE if is_update else RESULT_TITLE,
        "phrase2": RESULT_WORDS.get(status, status),
        "thing3": remark[:20],
        "time4": times.readable(decided_at),
    }


# ---- what is stored, as the services see it ----
class CredentialImage(msgspec.Struct, frozen=True):
    """A credential image as stored: the sanitized copy's key and its fingerprints."""

    kind: str
    key: str
    sha256: str  # of the uploaded bytes
    dhash: str  # perceptual
    width: int
    height: int


class Claim(msgspec.Struct, frozen=True):
    """Who is working on a pending submission (advisory: the first decision still wins)."""

    staff_id: str
    name: str  # the member's name when they claimed it (staff see each other's names)
    until: datetime

    def held(self, now: datetime) -> bool:
        return now < self.until


class Submission(msgspec.Struct, frozen=True):
    """One submission (or resubmission) of HCP credentials: personal data."""

    submission_id: str  # ULID: time-ordered
    user_id: str
    revision: int  # the user's n-th submission
    status: str  # pending | approved | rejected | withdrawn | revoked
    real_name: str
    hospital: str
    department: str
    title: str
    profession: str
    license_number: str | None
    documents: tuple[CredentialImage, ...]
    submitted_at: datetime
    decided_at: datetime | None = None  # when it stopped being pending (decision or withdrawal)
    decided_by: str | None = None  # reviewer id
    reason: str | None = None  # a code of REASONS
    note: str | None = None  # the reviewer's words to the applicant (审核意见)
    internal_note: str | None = None  # the reviewer's words to staff: never shown to the applicant
    redo: tuple[str, ...] = ()
    user_message: str | None = None  # sent | owed | failed | outbox | skipped | gone
    is_update: bool = False  # submitted by an approved user: approving it replaces their details
    claim: Claim | None = None  # who last claimed it (while pending)


class Decision(msgspec.Struct, frozen=True):
    """A reviewer's decision on one submission."""

    status: Status
    reviewer_id: str
    decided_at: datetime
    reason: str | None = None
    note: str | None = None  # to the applicant
    internal_note: str | None = None  # to staff
    redo: tuple[str, ...] = ()


class QueueEntry(msgspec.Struct, frozen=True):
    """A pending submission as the console's queue lists it: no personal value."""

    submission_id: str
    submitted_at: datetime
    revision: int
    is_update: bool = False
    claim: Claim | None = None


class Reviewer(msgspec.Struct, frozen=True):
    reviewer_id: str
    name: str
    created_at: datetime
    email: str | None = None
    webhook: str | None = None
    webhook_secret_param: str | None = None
    subscription_arn: str | None = None
    active: bool = True


class Notification(msgspec.Struct, frozen=True):
    """A submission's reviewer notification (the outbox), written with it, delivered after."""

    submission_id: str
    revision: int
    created_at: datetime
    pending: bool = True
    next_attempt_at: int | None = None  # epoch seconds
    attempts: int = 0
    delivered: frozenset[str] = msgspec.field(default_factory=frozenset)  # "<reviewer_id>:<channel>"
    last_error: str | None = None  # a class of failure, never a message body
    outcome: str | None = None  # delivered | gave_up | moot


class FingerprintUse(msgspec.Struct, frozen=True):
    """An account used an image (sha256, dHash) or a licence number in a submission."""

    fingerprint: str  # "sha256:<hex>", "dhash:<hex>", "license:<n>"
    user_id: str
    submission_id: str


# ---- what the applicant may keep from their latest submission ----
def keepable_kinds(submission: Submission, now: datetime, retention_days: int) -> frozenset[str]:
    """The kinds whose image a resubmission may reuse: the submission holds one, the reviewer did
    not ask to redo it, and the bucket's lifecycle cannot have expired it yet (the images of a
    decided submission go `retention_days` after they were written, at its submission)."""
    expires = submission.submitted_at + timedelta(days=retention_days) - KEEP_MARGIN
    if submission.status != Status.PENDING and now >= expires:
        return frozenset()
    return frozenset(d.kind for d in submission.documents) - set(submission.redo)


def kept_images(
    keep: list[str], latest: Submission | None, now: datetime, retention_days: int
) -> list[CredentialImage]:
    """The latest submission's images of the kinds in `keep` (every image of each kind), or 400
    naming `keep`: an unknown kind, a kind twice, one the reviewer asked to redo, one without an image."""
    if not keep:
        return []
    if any(kind not in DOCUMENT_KINDS for kind in keep):
        raise errors.invalid("keep", "not_allowed", "document_kind")
    if len(set(keep)) != len(keep):
        raise errors.invalid("keep", "invalid", "keep_repeat")
    if latest is None:
        raise errors.invalid("keep", "invalid", "keep_missing")
    if set(keep) & set(latest.redo):
        raise errors.invalid("keep", "not_allowed", "keep_redo")
    if not set(keep) <= keepable_kinds(latest, now, retention_days):
        raise errors.invalid("keep", "invalid", "keep_missing")
    return [d for d in latest.documents if d.kind in keep]


def name_key(real_name: str) -> str:
    """Where the index finds the accounts that submitted a real name (the console's search by
    exact name): a digest of its compared form (NFKC, no spaces), so the key lists no name."""
    compared = re.sub(r"\s", "", unicodedata.normalize("NFKC", real_name))
    return "name:" + hashlib.sha256(f"real-name\n{compared}".encode()).hexdigest()


def license_key(number: str) -> str:
    return f"license:{normalized_license(number)}"


def index_keys_of(submission: Submission) -> list[str]:
    """Every key the credential index holds for a submission: its fingerprints and its name's."""
    return [*fingerprints_of(submission), name_key(submission.real_name)]


def fingerprints_of(submission: Submission) -> list[str]:
    found: list[str] = []
    for doc in submission.documents:
        found += [f"sha256:{doc.sha256}", f"dhash:{doc.dhash}"]
    if submission.license_number:
        found.append(license_key(submission.license_number))
    return list(dict.fromkeys(found))
