"""The templates the zips ship compiled to modules render exactly what their sources render."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import errors, pages


@pytest.fixture
def compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    target = tmp_path / "compiled_templates"
    written = pages.compile_templates(target)
    assert written == len(list(pages.TEMPLATES.glob("*.html")))
    monkeypatch.setattr(pages, "COMPILED_TEMPLATES", target)
    pages._environment.cache_clear()
    yield target
    pages._environment.cache_clear()


def _from_source() -> dict[str, bytes]:
    pages._environment.cache_clear()
    return {
        "login": pages.render("console_login.html", csrf="c", max_who=80, minutes=15, sent=False).raw,
        "sent": pages.render("console_login.html", csrf="", max_who=80, minutes=15, sent=True).raw,
        "error": pages.error_page(errors.NotFound("submission")).raw,
    }


def test_each_template_loads_from_its_module_and_renders_as_its_source(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pages._environment()
    for source in pages.TEMPLATES.glob("*.html"):
        template = env.get_template(source.name)
        assert template.filename is not None and Path(template.filename).parent == compiled, source.name
    from_modules = {
        "login": pages.render("console_login.html", csrf="c", max_who=80, minutes=15, sent=False).raw,
        "sent": pages.render("console_login.html", csrf="", max_who=80, minutes=15, sent=True).raw,
        "error": pages.error_page(errors.NotFound("submission")).raw,
    }
    monkeypatch.setattr(pages, "COMPILED_TEMPLATES", compiled / "absent")
    assert from_modules == _from_source()
    assert b"<form" in from_modules["login"]


def test_without_compiled_modules_the_sources_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pages, "COMPILED_TEMPLATES", tmp_path / "absent")
    pages._environment.cache_clear()
    try:
        template = pages._environment().get_template("error.html")
        assert template.filename == str(pages.TEMPLATES / "error.html")
    finally:
        pages._environment.cache_clear()
