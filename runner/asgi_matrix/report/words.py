"""How verdicts read, on the dashboard and in the terminal: one source for both.

    shown(status, level)     the status to display: a failure of a property the spec does
                             not require (level other than MUST) shows as a neutral "no"
    VOCABULARY               every status a page or the terminal shows, properties and apps
    GLYPHS, WORDS, MEANINGS  one glyph, one word, one meaning per status; legend() lists them
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

#: one vocabulary for every page and the terminal: each status has one word, one glyph
#: and one meaning, and every one is in the legend. Properties of a server answer pass,
#: fail, no (a failure the spec does not require), partly (a headline answer built from
#: several properties), unsupported or flaky; an app (a framework or pattern) works,
#: works with a caveat (the server's fault, not the app's: e.g. it never delivers
#: lifespan.shutdown) or breaks; either can be n/a, an error, or not run.
PROPERTY_STATUSES = ("pass", "fail", "no", "partly", "unsupported", "flaky")
APP_STATUSES = ("works", "caveat", "breaks")
SHARED_STATUSES = ("n/a", "error", "not-run")
VOCABULARY = PROPERTY_STATUSES + APP_STATUSES + SHARED_STATUSES
#: statuses a property verdict can display (the matrix's legend and filter)
STATUSES = ("pass", "fail", "no", "unsupported", "error", "n/a", "flaky")
GLYPHS = {"pass": "✓", "fail": "✗", "no": "○", "partly": "◐", "unsupported": "–",
          "flaky": "~", "works": "✔", "caveat": "⚠", "breaks": "✘", "n/a": "·",
          "error": "!", "not-run": "◌"}
#: whole words for each status, short enough for a table cell
WORDS = {"pass": "pass", "fail": "fail", "no": "no", "partly": "partly",
         "unsupported": "unsupported", "flaky": "flaky", "works": "works",
         "caveat": "caveat", "breaks": "breaks", "n/a": "n/a", "error": "error",
         "not-run": "not run"}
MEANINGS = {
    "pass": "does what the property asks",
    "fail": "does not, and the ASGI spec requires it (or the property has no level yet)",
    "no": "does not, and the spec does not require it: a difference, not a violation",
    "partly": "some of the properties behind an answer pass, some do not",
    "unsupported": "lacks the feature it builds on",
    "flaky": "attempts disagreed",
    "works": "the app served every request, finished its jobs and closed its resources",
    "caveat": "the app works, but the server falls short around it (its fault, not the "
              "app's): the reason names what",
    "breaks": "the app itself fails here: a request, a job or its resource",
    "n/a": "does not apply",
    "error": "could not be measured",
    "not-run": "not measured in this run",
}
#: which statuses look alike (a CSS class each): colour follows the meaning
CLASSES = {"pass": "pass", "fail": "fail", "no": "no", "partly": "partly",
           "unsupported": "unsup", "flaky": "flaky", "works": "pass", "caveat": "partly",
           "breaks": "fail", "n/a": "na", "error": "error", "not-run": "none"}
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


def legend(statuses: tuple[str, ...] = VOCABULARY) -> list[dict[str, str]]:
    """The legend's rows: status, glyph, word, meaning, CSS class."""
    return [{"status": s, "glyph": GLYPHS[s], "word": WORDS[s], "meaning": MEANINGS[s],
             "css": CLASSES[s]} for s in statuses]


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
