"""How verdicts read, on the dashboard and in the terminal: one source for both.

    shown(status, level)     the status to display: a failure of a property the spec does
                             not require (level other than MUST) shows as a neutral "no"
    GLYPHS, WORDS            glyph and whole word per displayed status
    level_of(prop, verdict)  the property's level; missing means required
    one_line / terminal_safe control characters from servers made visible, never obeyed
    http_url(text)           a link target only when it is http(s); None otherwise

Everything a server wrote (log tails, ids, explanations that quote it) is untrusted text:
HTML escaping is the templates' job (autoescape); the terminal's is here.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

#: statuses in results documents, and "no": a failure the spec does not require
STATUSES = ("pass", "fail", "no", "unsupported", "error", "n/a", "flaky")
GLYPHS = {"pass": "✓", "fail": "✗", "no": "○", "unsupported": "–", "error": "!", "n/a": "·",
          "flaky": "~"}
#: whole words for each status, short enough for a table cell
WORDS = {"pass": "pass", "fail": "fail", "no": "no", "unsupported": "unsupported",
         "error": "error", "n/a": "n/a", "flaky": "flaky"}
MEANINGS = {
    "pass": "does what the property asks",
    "fail": "does not, and the ASGI spec requires it (or the property has no level yet)",
    "no": "does not, and the spec does not require it: a difference, not a violation",
    "unsupported": "lacks the feature it builds on",
    "error": "could not be measured",
    "n/a": "does not apply",
    "flaky": "attempts disagreed",
}
#: levels that make a failure a spec violation; a property without a level counts as required
REQUIRED_LEVELS = frozenset({"MUST", "MUST NOT", "REQUIRED", "SHALL", "SHALL NOT"})
LEVEL_PHRASES = {"SHOULD": "recommended by the spec (SHOULD)",
                 "SHOULD NOT": "recommended by the spec (SHOULD NOT)",
                 "MAY": "optional in the spec (MAY)"}


def level_of(prop: dict[str, Any] | None, verdict: dict[str, Any] | None = None) -> str:
    """The property's level as an upper-case word ("" when none is given: required).

    A verdict's own level wins over its property's; a level may be a word or a record
    with a ``level`` (or ``name``) key beside its quoted text.
    """
    for source in (verdict or {}, prop or {}):
        value = source.get("level")
        if isinstance(value, dict):
            value = value.get("level") or value.get("name")
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    return ""


def required(level: str) -> bool:
    return not level or level in REQUIRED_LEVELS


def level_phrase(level: str) -> str:
    """In words, for a page: "required by the spec (MUST)", "not addressed by the spec"."""
    if required(level):
        return f"required by the spec ({level})" if level else "required"
    if level in LEVEL_PHRASES:
        return LEVEL_PHRASES[level]
    if level in ("NOT-IN-SPEC", "NONE", "UNSPECIFIED", "NOT ADDRESSED", "UNADDRESSED", "N/A"):
        return "not addressed by the spec"
    return f"not required by the spec ({level.lower()})"


def shown(status: str, level: str = "") -> str:
    """The status to display for a verdict of this level."""
    return "no" if status == "fail" and not required(level) else status


def glyph_word(status: str) -> str:
    return f"{GLYPHS.get(status, '?')} {WORDS.get(status, status)}"


# -- untrusted text ---------------------------------------------------------------------

#: C0 and C1 controls, DEL, bidirectional overrides and isolates, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                                "\ud800-\udfff]")
_SPACE = re.compile(r"\s")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: Any) -> str:
    """A value for one line of a terminal: every control character shown as an escape."""
    return _UNSAFE.sub(_visible, str(text))


def terminal_safe(text: Any) -> str:
    """Several lines (a log tail) for a terminal: newlines and tabs kept, the rest shown
    as escapes, so no escape sequence from a server reaches the terminal."""
    return _UNSAFE_KEEP_LINES.sub(_visible, str(text))


def http_url(text: Any) -> str | None:
    """``text`` when it is an absolute http(s) URL with a host, else None (no
    ``javascript:``, ``data:`` or relative links from a results document)."""
    return _http_url(text) if isinstance(text, str) else None


@functools.lru_cache(maxsize=1024)  # every cell of a property links the same reference
def _http_url(text: str) -> str | None:
    if _UNSAFE.search(text) or _SPACE.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.hostname else None
