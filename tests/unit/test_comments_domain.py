"""The comment rules, without storage: normalisation, limits, ids, author display, windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import errors
from shared.domain import comments as rules
from shared.domain.articles import check_article_id


def test_text_is_trimmed_nfc_and_free_of_control_characters() -> None:
    assert rules.normalize_text("  e\u0301\u0000\t好\r\n\r\n行\u202e ") == "é好\n\n行"


@pytest.mark.parametrize("length", [0, rules.MAX_COMMENT_CHARS + 1])
def test_text_length_out_of_bounds_quotes_the_limit(length: int) -> None:
    with pytest.raises(errors.BadRequest, match="1 to 1,000"):
        rules.normalize_text("字" * length)


def test_the_limit_counts_characters_not_bytes() -> None:
    assert len(rules.normalize_text("字" * rules.MAX_COMMENT_CHARS)) == rules.MAX_COMMENT_CHARS


@pytest.mark.parametrize(("raw", "size"), [(None, 20), ("", 20), ("1", 1), ("50", 50)])
def test_page_size(raw: str | None, size: int) -> None:
    assert rules.page_size(raw) == size


@pytest.mark.parametrize("raw", ["0", "51", "-1", "x", "1.5", "٣"])
def test_bad_page_sizes(raw: str) -> None:
    with pytest.raises(errors.BadRequest, match="50"):
        rules.page_size(raw)


def test_public_comment_ids_name_their_article() -> None:
    ref = rules.CommentRef("hypertension-elderly", "01JBZ8X5N6QK3W1T9ZC4V7R2MA")
    assert rules.parse_comment_id(ref.public_id) == ref
    for bad in ("", "x.y", "01JBZ8X5N6QK3W1T9ZC4V7R2MA", "01JBZ8X5N6QK3W1T9ZC4V7R2MA.Bad_Id", "../etc"):
        assert rules.parse_comment_id(bad) is None


@pytest.mark.parametrize(
    ("name", "profession", "shown"),
    [
        ("王小明", "doctor", "王医生"),
        ("欧阳娜娜", "nurse", "欧阳护士"),
        ("欧阳", "doctor", "欧医生"),  # a two-character name is surname + given name
        ("李雷", "pharmacist", "李药师"),
        ("张三", "other", "认证医务人员"),
        ("Alice Wong", "doctor", "认证医生"),
        (None, None, "认证医务人员"),
    ],
)
def test_author_display_never_shows_the_full_name(
    name: str | None, profession: str | None, shown: str
) -> None:
    display = rules.author_display(name, profession, " 心内科 ", True)
    assert display.name == shown
    assert display.department == "心内科"
    assert name is None or name == display.name[: len(name)] or name not in display.name


def test_blocked_words_match_case_insensitively() -> None:
    words = frozenset({"spam", "代开发票"})
    assert rules.blocked_word("Buy SPAM now", words) == "spam"
    assert rules.blocked_word("正常的讨论", words) is None


def test_rate_windows_end_on_their_boundary() -> None:
    now = datetime(2026, 11, 2, 10, 0, 59, tzinfo=UTC)
    assert rules.window_end(now, 60) - int(now.timestamp()) == 1
    assert rules.window_end(now, 86_400) % 86_400 == 0


def test_a_trailing_newline_is_not_a_valid_limit_or_id() -> None:
    with pytest.raises(errors.BadRequest):
        rules.page_size("5\n")
    with pytest.raises(errors.DomainError):
        check_article_id("hypertension-elderly\n")
    assert rules.parse_comment_id("01ARZ3NDEKTSV4RRFFQ69G5FAV.hypertension-elderly\n") is None
    assert rules.parse_comment_id("01ARZ3NDEKTSV4RRFFQ69G5FAV.hypertension-elderly") is not None


def test_a_comment_id_names_its_partition_when_not_the_first() -> None:
    from shared.domain.comments import CommentRef, parse_comment_id

    ulid = "01J0BENCH0000000000000000A"
    assert parse_comment_id(f"{ulid}.hypertension") == CommentRef("hypertension", ulid, 0)
    assert parse_comment_id(f"{ulid}.hypertension.3") == CommentRef("hypertension", ulid, 3)
    assert CommentRef("hypertension", ulid, 3).public_id == f"{ulid}.hypertension.3"
    assert CommentRef("hypertension", ulid).public_id == f"{ulid}.hypertension"
    for bad in ("0", "03", "16", "x", "-1", "1.2", "²", "١", " 1", "1 "):
        assert parse_comment_id(f"{ulid}.hypertension.{bad}") is None
