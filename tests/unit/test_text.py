"""Invisible characters go from what others read; emoji stay whole."""

from __future__ import annotations

import pytest

from shared import errors
from shared.domain import comments as rules
from shared.domain.text import BIDI_CONTROLS, visible_text
from shared.domain.verification import check_applicant

HEALTH_WORKER = "\U0001f9d1\u200d\u2695\ufe0f"  # 🧑‍⚕️
FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"


@pytest.mark.parametrize("hidden", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"])
def test_a_format_character_inside_a_word_is_dropped(hidden: str) -> None:
    assert visible_text(f"网{hidden}赌") == "网赌"


@pytest.mark.parametrize("emoji", [HEALTH_WORKER, FAMILY, SCOTLAND, "\u2764\ufe0f\u200d\U0001f525"])
def test_emoji_sequences_keep_their_joiners(emoji: str) -> None:
    assert visible_text(f"辛苦了{emoji}！") == f"辛苦了{emoji}！"


def test_a_joiner_between_an_emoji_and_a_letter_goes() -> None:
    assert visible_text("\U0001f9d1\u200d网") == "\U0001f9d1网"


def test_every_bidi_control_goes_and_text_is_nfc() -> None:
    assert visible_text("".join(sorted(BIDI_CONTROLS)) + "心内科") == "心内科"
    assert visible_text("e\u0301") == "\u00e9"


def test_a_split_blocked_word_is_still_blocked() -> None:
    text = rules.normalize_text("这里有网\u200b赌链接")
    assert rules.blocked_word(text, frozenset({"网赌"})) == "网赌"


def test_a_comment_keeps_newlines_and_emoji_but_not_invisible_characters() -> None:
    assert rules.normalize_text(f"谢谢\u2066分享\u2069\n{HEALTH_WORKER}") == f"谢谢分享\n{HEALTH_WORKER}"


def test_a_comment_of_invisible_characters_only_is_empty() -> None:
    with pytest.raises(errors.BadRequest):
        rules.normalize_text("\u200b\u200d\u202e")


def test_every_verification_field_is_cleaned() -> None:
    applicant = check_applicant(
        real_name="王\u200b五",
        hospital="\u202e协和医院",
        department="\u202e科内心\u202c",
        title="主治\ufeff医师",
        profession="doctor",
        license_number="1101\u200d0001",
    )
    assert (applicant.real_name, applicant.hospital, applicant.title) == ("王五", "协和医院", "主治医师")
    assert applicant.department == "科内心" and applicant.license_number == "11010001"


def test_a_field_of_invisible_characters_only_is_required() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        check_applicant("\u200b", "医院", "科室", "医师", "doctor", None)
    assert [f.field for f in caught.value.fields or ()] == ["real_name"]


def test_a_department_approved_before_cleaning_is_shown_clean() -> None:
    shown = rules.author_display("王五", "doctor", "\u202e科内心", True)
    assert shown.department == "科内心"
