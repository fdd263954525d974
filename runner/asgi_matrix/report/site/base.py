"""What every page of the dashboard shares: options, names, the template environment, and
``Site``, which holds the document and the names of its files.

Page modules (index, config, cell, compare, fails_only, history, badges, about) import
this module and nothing above it; the package's ``__init__`` puts the pages together.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2

from asgi_matrix.report import answers as _answers
from asgi_matrix.report.words import (
    CLASSES,
    GLYPHS,
    MEANINGS,
    WORDS,
    http_url,
    level_of,
    level_phrase,
    required,
    shown,
)
from asgi_matrix.resources import DASHBOARD_DIR

#: matrix sections, in order: kind -> heading
SECTIONS = {"server": "ASGI servers", "control": "Reference servers: controls",
            "harness": "In-process test clients"}
#: displayed status -> CSS class ("n/a" is not a convenient class name; an app's works
#: looks like a pass, its breaks like a fail, a caveat like partly)
STATUS_CLASS = CLASSES
STATUS_SHORT = MEANINGS
STATUS_MEANING = {
    "pass": "the server did what the property asks; the evidence shows it",
    "fail": "it did not, and the ASGI spec requires it (a property without a level counts "
            "as required); the evidence shows what happened instead",
    "no": "it did not, but the spec does not require it (its level is SHOULD, MAY or none): "
          "a difference between servers, not a violation",
    "unsupported": "the server lacks the feature the property builds on (for example it "
                   "never runs the lifespan protocol), so the property cannot hold",
    "error": "the harness could not measure this cell (the server was never ready, "
             "crashed, or a scenario is missing): no finding about the server either way",
    "n/a": "the property does not apply to this configuration",
    "flaky": "repeated attempts disagreed; every attempt's verdict is in the evidence",
}
#: scenario -> what it does (measure/drive/scenarios.py says the same to developers)
SCENARIOS = {
    "main": "the normal probe app gets sequential, concurrent and WebSocket traffic; then a "
            "slow request is put in flight and SIGTERM goes to the main process",
    "group": "the normal probe app; a slow request is in flight when SIGTERM goes to the "
             "whole process group (what systemd and a terminal's Ctrl-C do)",
    "startup-fail": "the app fails its lifespan startup; a correct server serves nothing "
                    "and exits",
    "reject-lifespan": "the app raises on the lifespan scope, as an app without lifespan "
                       "support does; a correct server carries on serving",
    "open-stop": "at SIGTERM to the main process a WebSocket is open, an endless stream "
                 "(server-sent events) is in flight, a keep-alive connection is idle and a "
                 "request on another keep-alive connection is in flight",
    "startup-hang": "the app's lifespan startup never finishes; SIGTERM, then SIGINT if that "
                    "did not end the server, each get 3 s",
    "lifespan-task": "the app's lifespan keeps a long-lived task (a ticker in the task group "
                     "it opened); one request, then SIGTERM to the main process",
    "recycle": "two clients send requests back to back until a worker reached its request "
               "limit or lifetime and was replaced (or the server went away); every request "
               "is counted",
}


@dataclass(frozen=True)
class Options:
    """How to build: when data counts as old, what "now" is, where the site will live."""

    stale_after_days: int = 7
    now: datetime | None = None  #: "now" for the stale banner; None = the clock
    base_url: str = ""  #: where the site is published, for absolute badge URLs


# -- small pure helpers ----------------------------------------------------------------

def slugs(ids: Iterable[str]) -> dict[str, str]:
    """A file-name-safe, unique, stable name for each id (ids come from catalogues)."""
    found: dict[str, str] = {}
    taken: set[str] = set()
    for ident in ids:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", ident).strip(".-")[:60] or "x"
        if slug != ident or slug.lower() in taken:
            slug = f"{slug}-{hashlib.sha256(ident.encode()).hexdigest()[:8]}"
        taken.add(slug.lower())
        found[ident] = slug
    return found


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def measured_at(document: dict[str, Any]) -> datetime | None:
    run = document["run"]
    return parse_time(run.get("finished")) or parse_time(run.get("started"))


def is_stale(document: dict[str, Any], options: Options) -> bool:
    when = measured_at(document)
    if when is None:
        return False
    now = options.now or datetime.now(UTC)
    return (now - when).total_seconds() > options.stale_after_days * 86400


def scenario_for(prop: dict[str, Any]) -> str:
    """The scenario whose observations a property is judged from (the property says)."""
    return str(prop.get("scenario") or "main")


server_version = _answers.server_version
is_release = _answers.is_release


def counts(config: dict[str, Any]) -> tuple[int, int]:
    """(verdicts that pass, verdicts in all)."""
    verdicts = config.get("verdicts") or {}
    return sum(v["status"] == "pass" for v in verdicts.values()), len(verdicts)


def command_of(config: dict[str, Any]) -> str:
    return shlex.join(str(a) for a in config["command"]) if config.get("command") else ""


def reproduce(config_id: str) -> str:
    return f"asgi-matrix run --config {shlex.quote(config_id)}"


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def groups_of(properties: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive properties of one group become one column group."""
    groups: list[dict[str, Any]] = []
    for prop in properties.values():
        if groups and groups[-1]["name"] == prop["group"]:
            groups[-1]["span"] += 1
        else:
            groups.append({"name": prop["group"], "span": 1, "first": prop["id"]})
    return groups


@functools.cache
def env() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(DASHBOARD_DIR / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        auto_reload=False)
    environment.filters["pretty"] = pretty
    environment.filters["compact"] = lambda value: json.dumps(value, ensure_ascii=False,
                                                              default=repr)
    environment.filters["http_url"] = http_url  # links from results: http(s) or none
    environment.globals.update(GLYPHS=GLYPHS, WORDS=WORDS, STATUS_CLASS=STATUS_CLASS,
                               level_phrase=level_phrase)
    return environment


class Site:
    """The document, the options, and the names every page links by."""

    def __init__(self, document: dict[str, Any], options: Options) -> None:
        self.doc = document
        self.options = options
        self.properties: dict[str, dict[str, Any]] = document["properties"]
        self.configs: dict[str, dict[str, Any]] = document["configurations"]
        self.cslug = slugs(self.configs)
        self.pslug = slugs(self.properties)
        when = measured_at(document)
        self.measured = when.strftime("%Y-%m-%d %H:%M UTC") if when else "an unknown date"
        self.measured_iso = when.isoformat() if when else ""
        self.stale = is_stale(document, options)
        self.base = options.base_url.rstrip("/") + "/" if options.base_url else ""
        self.groups = groups_of(self.properties)
        self.group_starts = {g["first"] for g in self.groups}
        self.history_nav = False  # set by the package when history pages exist

    def page(self, template: str, depth: int, title: str, **content: Any) -> str:
        return env().get_template(template).render(
            root="../" * depth, title=title, run=self.doc["run"], measured=self.measured,
            measured_iso=self.measured_iso, stale=self.stale,
            stale_after_days=self.options.stale_after_days, history_nav=self.history_nav,
            **content)

    def cell_href(self, config_id: str, property_id: str) -> str:
        return f"cells/{self.cslug[config_id]}/{self.pslug[property_id]}.html"

    def config_href(self, config_id: str) -> str:
        return f"configs/{self.cslug[config_id]}.html"

    def level(self, property_id: str, verdict: dict[str, Any] | None = None) -> str:
        return level_of(self.properties.get(property_id), verdict)

    def shown(self, property_id: str, verdict: dict[str, Any]) -> str:
        """The displayed status of a verdict: "no" for a non-required failure."""
        return shown(str(verdict.get("status")), self.level(property_id, verdict))

    def required(self, property_id: str) -> bool:
        return required(self.level(property_id))
