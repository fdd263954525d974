"""Statuses, levels and untrusted text: what the dashboard and the terminal share."""

from __future__ import annotations

import pytest
from asgi_matrix.report import words


@pytest.mark.parametrize(("level", "required"), [
    ("", True), ("MUST", True), ("must", True), ("SHOULD", False), ("not-in-spec", False),
    ("MAY", False)])
def test_only_must_or_no_level_is_required(level: str, required: bool) -> None:
    prop = {"id": "x", "level": level} if level else {"id": "x"}
    assert words.required(words.level_of(prop)) is required
    assert words.shown("fail", words.level_of(prop)) == ("fail" if required else "no")
    assert words.shown("pass", words.level_of(prop)) == "pass"


def test_a_level_may_come_as_a_record_or_on_the_verdict() -> None:
    assert words.level_of({"level": {"level": "SHOULD", "quote": "..."}}) == "SHOULD"
    assert words.level_of({"level": "MUST"}, {"status": "fail", "level": "not-in-spec"}) \
        == "NOT-IN-SPEC"
    assert words.level_of(None) == ""
    assert words.level_phrase("NOT-IN-SPEC") == "not addressed by the spec"
    assert words.level_phrase("SHOULD") == "recommended by the spec (SHOULD)"
    assert words.level_phrase("") == "required"


@pytest.mark.parametrize(("raw", "seen"), [
    ("\x1b[2J\x1b]0;pwned\x07", "\\e[2J\\e]0;pwned\\x07"),  # clear screen, window title
    ("a\rb", "a\\rb"),  # a carriage return would overwrite what the line said
    ("\x9b31m", "\\x9b31m"),  # the one-byte CSI
    ("x\u202eevil", "x\\u202eevil"),  # right-to-left override
    ("lone \udcff surrogate", "lone \\udcff surrogate"),  # cannot even be encoded
    ("tab\there\nline", "tab\\there\\nline"),
    ("plain ✓ text", "plain ✓ text"),
])
def test_one_line_shows_every_control_character(raw: str, seen: str) -> None:
    assert words.one_line(raw) == seen
    seen.encode()  # printable on a UTF-8 terminal


def test_a_log_tail_keeps_its_lines_and_tabs_only() -> None:
    tail = "started\n\tworker 1\x1b[31m red\x1b[0m\r\n"
    assert words.terminal_safe(tail) == "started\n\tworker 1\\e[31m red\\e[0m\\r\n"
    assert "\x1b" not in words.terminal_safe("\x1b" * 5)


@pytest.mark.parametrize("url", [
    "https://asgi.readthedocs.io/en/latest/", "http://example.org/a?b=c#d", "HTTPS://EXAMPLE.ORG"])
def test_http_links_are_kept(url: str) -> None:
    assert words.http_url(url) == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "java\tscript:alert(1)",
    "data:text/html,<script>", "//evil.example", "/relative", "https:///nohost", "vbscript:x",
    "", None, 42, "https://ok.example/\x1b[2J"])
def test_other_links_are_not(url: object) -> None:
    assert words.http_url(url) is None
