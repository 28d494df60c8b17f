"""The message catalogue: complete in both languages, Chinese without English sentences, and every
case the code raises written in it; the pages' templates speak Chinese only."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from shared import errors, messages
from shared.pages import ERROR_PAGES, OTHER_ERROR, TEMPLATES
from tests.language import CHINESE, ENGLISH_SENTENCE

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = [
    *((f"{code}/{case}", text) for (code, case), text in messages.CATALOGUE.items()),
    *((f"field/{case}", text) for case, text in messages.FIELD_MESSAGES.items()),
]


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize(("key", "text"), ENTRIES, ids=[key for key, _ in ENTRIES])
def test_every_entry_has_both_languages_with_the_same_placeholders(key: str, text: messages.Text) -> None:
    assert text.zh.strip() and text.en.strip(), key
    assert _placeholders(text.zh) == _placeholders(text.en), key
    assert CHINESE.search(text.zh), f"{key}: the Chinese entry has no Chinese"
    assert not ENGLISH_SENTENCE.search(text.zh), f"{key}: English in the Chinese entry: {text.zh}"
    assert not CHINESE.search(text.en), f"{key}: Chinese in the English entry: {text.en}"


def test_every_error_code_has_its_default_words() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DomainError)]
    assert {c.code for c in classes} <= {code for code, case in messages.CATALOGUE if case == "default"}


def test_labels_are_chinese_and_field_codes_are_the_documented_set() -> None:
    assert all(CHINESE.search(label.zh) for label in messages.LABELS.values())
    assert errors.FIELD_CODES == ("required", "too_long", "not_allowed", "invalid")


def _string_args(call: ast.Call) -> list[str | None]:
    return [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in call.args]


def _raised_cases() -> list[tuple[str, str, str]]:
    """(where, catalogue table, key) for every error case and field fault the code writes."""
    found: list[tuple[str, str, str]] = []
    classes = {
        n: c for n, c in vars(errors).items() if isinstance(c, type) and issubclass(c, errors.DomainError)
    }
    for path in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            args = _string_args(node)
            if name in classes and args and args[0]:
                found.append((where, "catalogue", f"{classes[name].code}/{args[0]}"))
            elif name in ("invalid", "add", "FieldFault") and len(args) >= 2 and args[1]:
                assert args[1] in errors.FIELD_CODES, f"{where}: field code {args[1]!r}"
                case = args[2] if len(args) > 2 and args[2] else args[1]
                found.append((where, "fields", case))
    return found


def test_every_case_the_code_raises_is_in_the_catalogue() -> None:
    raised = _raised_cases()
    assert len(raised) > 80  # the walk sees the code's raise sites
    catalogue = {f"{code}/{case}" for code, case in messages.CATALOGUE}
    missing = [
        (where, key)
        for where, table, key in raised
        if key not in (catalogue if table == "catalogue" else messages.FIELD_MESSAGES)
    ]
    assert not missing


def test_no_raise_site_writes_its_own_sentence() -> None:
    """A domain error names a case, never a sentence: the words live in the catalogue alone."""
    pattern = re.compile(r"errors\.[A-Z]\w+\(\s*f?\"[^\"]*\s[^\"]*\"")
    offenders = [
        f"{path.relative_to(ROOT)}: {hit.group(0)}"
        for path in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("functions").rglob("*.py")]
        for hit in pattern.finditer(path.read_text(encoding="utf-8"))
        if not hit.group(0).startswith("errors.ConfigError")
    ]
    assert not offenders


def test_messages_are_filled_in_the_callers_language() -> None:
    limited = errors.RateLimited("comments_minute", limit=5)
    assert limited.message("zh") == "评论太频繁了：每分钟最多 5 条，请稍后再试。"
    assert limited.message("en") == "At most 5 comments a minute; try again later."
    fault = errors.invalid("hospital", "too_long", max=100)
    assert fault.body("zh") == {
        "code": "bad_request",
        "message": "医院不能超过 100 个字。",
        "fields": [{"field": "hospital", "code": "too_long", "message": "医院不能超过 100 个字。"}],
    }
    assert fault.body("en")["fields"][0]["message"] == "hospital may be at most 100 characters."
    nested = errors.invalid("answers[2].value", "required")
    assert nested.message("zh") == "请填写回答。"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB;q=0.8,zh-Hans;q=0.9", "zh"),
        ("zh;q=0.5, en;q=0.7", "en"),
        ("fr-FR,en;q=0.5", "en"),
        ("fr-FR,de", "zh"),
        ("en;q=0, zh;q=0.1", "zh"),
        ("en;q=abc", "zh"),
        ("*", "zh"),
    ],
)
def test_english_only_when_the_caller_prefers_it(header: str | None, language: str) -> None:
    assert messages.language(header) == language


def _visible_text(template: str) -> str:
    text = re.sub(r"<style.*?</style>|<script.*?</script>", " ", template, flags=re.S)
    text = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.S)
    return re.sub(r"<[^>]*>", " ", text)


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_page_templates_hold_no_english_sentence(template: Path) -> None:
    visible = _visible_text(template.read_text(encoding="utf-8"))
    assert not ENGLISH_SENTENCE.search(visible), ENGLISH_SENTENCE.search(visible)
    for attribute in re.findall(r'(?:title|placeholder|alt|aria-label)="([^"{]*)"', template.read_text()):
        assert not ENGLISH_SENTENCE.search(attribute), attribute


def test_error_pages_speak_chinese() -> None:
    for title, words in [*ERROR_PAGES.values(), OTHER_ERROR]:
        assert CHINESE.search(title) and CHINESE.search(words)
        assert not ENGLISH_SENTENCE.search(title + words)
