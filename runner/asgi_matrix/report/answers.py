"""The answers a visitor comes for, computed from a results document (pure functions).

    summary(document)        per server, its default configuration's answer to each
                             headline question, in words, with the cells it comes from
    breaking(document)       configurations failing a property whose failure breaks apps
    fails_only(document)     per configuration, what it fails while all its peers pass
    outliers(document)       per server, what it fails or breaks while every other
                             server passes or works (properties and app patterns)
    compare(document, a, b)  every property and app pattern of two configurations, the
                             differences first; default_pair(document) the one to open on
    short_label(prop)        a column heading that fits a narrow column

The dashboard (report/site/) and ``asgi-matrix show`` both render these, so the page and
the terminal give the same answer. Everything is generic over the properties table: a
question names the property ids it is answered from (and a pattern for properties that
later runs add); ids the document lacks are skipped, so old and new results both work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from asgi_matrix.report.words import GLYPHS, WORDS, level_of, required, shown

FINDINGS = ("pass", "fail", "no", "flaky")


@dataclass(frozen=True)
class Question:
    key: str
    text: str  #: the question, answered yes/no
    short: str  #: a column heading
    ids: tuple[str, ...]  #: properties it is answered from, in this order
    also: str = ""  #: a regex: more properties (added by later runs) that belong to it
    parts: dict[str, str] = field(default_factory=dict)  #: property id -> a word for it

    def properties(self, properties: Iterable[str]) -> list[str]:
        known = list(properties)
        found = [pid for pid in self.ids if pid in known]
        if self.also:
            found += [pid for pid in known if pid not in found and re.search(self.also, pid)]
        return found


#: the questions the project exists for, in the order the front page asks them
QUESTIONS = (
    Question("per-loop", "Runs the lifespan once per event loop", "lifespan per loop",
             ("lifespan.per-loop",)),
    Question("same-loop", "Runs requests on the lifespan's loop and thread", "same loop & thread",
             ("lifespan.same-loop", "lifespan.same-thread"),
             parts={"lifespan.same-loop": "loop", "lifespan.same-thread": "thread"}),
    Question("context", "Requests see contextvars set in the lifespan", "context reaches requests",
             ("context.propagates", "context.propagates-websocket"),
             parts={"context.propagates": "HTTP", "context.propagates-websocket": "WebSocket"}),
    Question("state", "Copies scope[\"state\"] per request", "state copied per request",
             ("state.shallow-copy", "state.isolated-keepalive", "state.isolated-http2"),
             also=r"^state\.(isolated|.*(connection|keep-?alive|reuse|stream))",
             parts={"state.shallow-copy": "fresh connections",
                    "state.isolated-keepalive": "keep-alive", "state.isolated-http2": "HTTP/2"}),
    Question("drain", "Drains in-flight requests at shutdown", "drains at shutdown",
             ("shutdown.after-drain.sigterm-main", "shutdown.after-drain.sigterm-group"),
             parts={"shutdown.after-drain.sigterm-main": "SIGTERM to main process",
                    "shutdown.after-drain.sigterm-group": "to process group"}),
    Question("startup-failure", "A failed startup stops the server", "failed startup stops it",
             ("startup-failure.exits-nonzero",)),
)

#: property ids whose failure breaks ordinary apps: resources made per loop, state shared
#: between requests, the naive resource pattern of asgiref PR #277
BREAKS_APPS = re.compile(r"^lifespan\.per-loop$|^state\.(shallow-copy|.*isolat|.*connection|"
                         r".*keep-?alive|.*reuse|.*stream)|naive|on-instance|app-object")
#: app patterns whose breakage is not one of those: a resource handed over in a ContextVar
#: relies on asgiref #322, which the spec leaves open; the answers' contextvar row says it
NOT_BREAKING_PATTERNS = re.compile(r"contextvar")
#: kinds of configuration a user deploys or tests with (controls fail on purpose)
USER_KINDS = ("server", "harness")

#: a headline answer speaks the one vocabulary (words.py): "✓ pass", "◐ partly"
ANSWER_WORDS = WORDS
ANSWER_GLYPHS = GLYPHS


# -- configurations -----------------------------------------------------------------------

def is_release(config: dict[str, Any]) -> bool:
    return bool((config.get("axes") or {}).get("release"))


def server_version(config: dict[str, Any]) -> str:
    versions = config.get("versions") or {}
    server = str(config.get("server", ""))
    return str(versions.get(server) or versions.get(server.split("-")[0]) or "")


def _version_key(text: str) -> tuple[int, Any]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)


def several_loops_per_process(config: dict[str, Any]) -> bool:
    facts = config.get("facts") or {}
    loops, processes = facts.get("loops"), facts.get("processes")
    return isinstance(loops, int) and isinstance(processes, int) and loops > max(processes, 1)


def defaults(document: dict[str, Any]) -> dict[str, str]:
    """Per server (kind "server"), the configuration that stands for it: measured, its
    id is the server's name or it has the fewest workers and threads and no pinned
    Python; among equals the newest server version. Releases count only for a server
    measured by releases alone (then its newest release stands for it)."""
    by_server: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for config_id, config in document["configurations"].items():
        if config.get("kind") == "server":
            by_server.setdefault(str(config.get("server")), []).append((config_id, config))
    chosen = {}
    for server, entries in by_server.items():
        plain = [e for e in entries if not is_release(e[1])] or entries
        plain.sort(key=lambda e: (len(e[0]), e[0]))  # stable sorts: the last key decides first
        plain.sort(key=lambda e: _version_key(server_version(e[1])), reverse=True)
        plain.sort(key=lambda e: _shape(server, *e))
        chosen[server] = plain[0][0]
    return chosen


def _shape(server: str, config_id: str, config: dict[str, Any]) -> tuple[Any, ...]:
    axes = config.get("axes") or {}
    workers = axes.get("workers") if isinstance(axes.get("workers"), int) else 1
    threads = axes.get("threads") if isinstance(axes.get("threads"), int) else 1
    pinned = axes.get("python") not in (None, "", "any")
    return (config.get("status") != "measured", config_id != server, workers, threads, pinned)


def verdict_status(document: dict[str, Any], config: dict[str, Any], pid: str) -> str | None:
    """The displayed status of one cell (``no`` for a non-required failure), or None."""
    verdict = (config.get("verdicts") or {}).get(pid)
    if not isinstance(verdict, dict):
        return None
    return shown(str(verdict.get("status")), level_of(document["properties"].get(pid), verdict))


# -- the headline answers ----------------------------------------------------------------

def combine(statuses: list[str]) -> str:
    """One answer from several properties' statuses: yes only when every finding passes."""
    findings = [s for s in statuses if s in FINDINGS]
    if not findings:
        for status in ("error", "flaky", "unsupported", "n/a"):
            if status in statuses:
                return status
        return "error"
    if all(s == "pass" for s in findings):
        return "pass"
    if "pass" in findings:
        return "partly"
    if "flaky" in findings:
        return "flaky"
    return "fail" if "fail" in findings else "no"


def answer(document: dict[str, Any], config_id: str, question: Question) -> dict[str, Any]:
    config = document["configurations"][config_id]
    parts = []
    for pid in question.properties(document["properties"]):
        status = verdict_status(document, config, pid)
        if status is None:
            continue
        prop = document["properties"][pid]
        parts.append({"id": pid, "status": status, "title": prop.get("title", pid),
                      "word": question.parts.get(pid, prop.get("title", pid)),
                      "level": level_of(prop, config["verdicts"][pid])})
    status = combine([p["status"] for p in parts]) if parts else ""
    return {"key": question.key, "question": question.text, "short": question.short,
            "status": status, "word": ANSWER_WORDS.get(status, ""),
            "glyph": ANSWER_GLYPHS.get(status, ""), "parts": parts,
            "first": next((p["id"] for p in parts if p["status"] != "pass"),
                          parts[0]["id"] if parts else "")}  # where the answer links


def questions(document: dict[str, Any]) -> list[Question]:
    """The headline questions this document can answer (it has one of their properties)."""
    return [q for q in QUESTIONS if q.properties(document["properties"])]


def summary(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Per server, in the document's order: its default configuration's answers."""
    asked = questions(document)
    rows = []
    for server, config_id in defaults(document).items():
        config = document["configurations"][config_id]
        rows.append({"server": server, "config": config_id, "version": server_version(config),
                     "status": config.get("status"), "reason": config.get("reason") or "",
                     "multi_loop": several_loops_per_process(config),
                     "facts": config.get("facts") or {},
                     "answers": [answer(document, config_id, q) for q in asked]
                     if config.get("status") == "measured" else []})
    return rows


def breaking(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Configurations users run (servers, test clients) that fail a property whose failure
    breaks apps, whatever its level, or on which an app pattern (the pattern axis, e.g. a
    task group kept on the app object) breaks; servers with several loops per process
    first."""
    found = []
    props = document["properties"]
    patterns = document.get("patterns") or {}
    for config_id, config in document["configurations"].items():
        if config.get("kind") not in USER_KINDS or is_release(config):
            continue
        failed = [{"id": pid, "title": props.get(pid, {}).get("title", pid), "status": status,
                   "level": level_of(props.get(pid)), "pattern": False}
                  for pid in props if BREAKS_APPS.search(pid)
                  and (status := verdict_status(document, config, pid)) in ("fail", "no")]
        failed += [{"id": pid, "title": str(patterns.get(pid, {}).get("title", pid)),
                    "status": "fail", "level": "", "pattern": True}
                   for pid, verdict in (config.get("patterns") or {}).items()
                   if isinstance(verdict, dict) and verdict.get("status") == "breaks"
                   and not NOT_BREAKING_PATTERNS.search(pid)]
        if failed:
            found.append({"config": config_id, "server": config.get("server"),
                          "kind": config.get("kind"), "failed": failed,
                          "multi_loop": several_loops_per_process(config)})
    found.sort(key=lambda e: not e["multi_loop"])
    return found


# -- what fails in one configuration only ---------------------------------------------------

def fails_only(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per configuration, the properties it fails while every other measured configuration
    of the same kind with a finding for that property passes it (at least one does).
    Releases are left out: they are one server's past, not its peers."""
    configs = {cid: c for cid, c in document["configurations"].items()
               if c.get("status") == "measured" and not is_release(c)}
    found: dict[str, list[dict[str, Any]]] = {}
    for pid, prop in document["properties"].items():
        statuses = {cid: verdict_status(document, c, pid) for cid, c in configs.items()}
        passes: dict[Any, int] = {}
        others: dict[Any, int] = {}  # findings that are not a pass, per kind
        for cid, status in statuses.items():
            kind = configs[cid].get("kind")
            if status == "pass":
                passes[kind] = passes.get(kind, 0) + 1
            elif status in FINDINGS:
                others[kind] = others.get(kind, 0) + 1
        for cid, status in statuses.items():
            kind = configs[cid].get("kind")
            # it fails, it is the only non-pass finding of its kind, and a peer passes
            if status in ("fail", "no") and others.get(kind) == 1 and passes.get(kind, 0):
                found.setdefault(cid, []).append({
                    "id": pid, "title": prop.get("title", pid), "status": status,
                    "peers": passes[kind],
                    "level": level_of(prop, configs[cid]["verdicts"][pid]),
                    "explanation": configs[cid]["verdicts"][pid].get("explanation", "")})
    return {cid: found[cid] for cid in document["configurations"] if cid in found}


# -- two configurations side by side -----------------------------------------------------------

def _pattern_status(config: dict[str, Any], pattern_id: str) -> str | None:
    cell = (config.get("patterns") or {}).get(pattern_id)
    return str(cell.get("status")) if isinstance(cell, dict) else None


def compare(document: dict[str, Any], a: str, b: str) -> dict[str, Any]:
    """Every property either configuration has a verdict for, then every app pattern
    either measured (ids ``pattern:ID``), differences first (each group keeps its
    table's order)."""
    configs = document["configurations"]
    rows = []
    for pid, prop in document["properties"].items():
        sa = verdict_status(document, configs[a], pid)
        sb = verdict_status(document, configs[b], pid)
        if sa is None and sb is None:
            continue
        rows.append({"id": pid, "title": prop.get("title", pid), "group": prop.get("group", ""),
                     "a": sa, "b": sb, "differs": sa != sb,
                     "level": level_of(prop), "pattern": ""})
    for pattern_id, pattern in (document.get("patterns") or {}).items():
        sa = _pattern_status(configs[a], pattern_id)
        sb = _pattern_status(configs[b], pattern_id)
        if sa is None and sb is None:
            continue
        rows.append({"id": f"pattern:{pattern_id}", "title": pattern.get("title", pattern_id),
                     "group": "app patterns", "a": sa, "b": sb, "differs": sa != sb,
                     "level": "", "pattern": pattern_id})
    differ = [r for r in rows if r["differs"]]
    return {"a": a, "b": b, "rows": differ + [r for r in rows if not r["differs"]],
            "differences": len(differ), "same": len(rows) - len(differ)}


def default_pair(document: dict[str, Any]) -> tuple[str, str] | None:
    """The comparison to open on: the two servers' default configurations that differ
    in the most cells (properties and app patterns); None with fewer than two servers."""
    chosen = [cid for cid in defaults(document).values()
              if document["configurations"][cid].get("status") == "measured"]
    best: tuple[int, str, str] | None = None
    for i, a in enumerate(chosen):
        for b in chosen[i + 1:]:
            found = compare(document, a, b)["differences"]
            if best is None or found > best[0]:
                best = (found, a, b)
    return (best[1], best[2]) if best else None


#: statuses that are a finding for or against, per kind of cell
_GOOD = frozenset({"pass", "works"})
_BAD = frozenset({"fail", "no", "breaks", "caveat"})


def outliers(document: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """This server against all others (wpt.fyi's "fails only in this browser"): per
    server, per configuration, the cells (properties and app patterns) it fails or
    breaks while every configuration of every other server with a finding passes or
    works (at least one does). Controls, test clients and releases are left out."""
    configs = {cid: c for cid, c in document["configurations"].items()
               if c.get("kind") == "server" and c.get("status") == "measured"
               and not is_release(c)}
    cells: list[tuple[str, str, str]] = [
        (pid, str(prop.get("title", pid)), "") for pid, prop in document["properties"].items()]
    cells += [(f"pattern:{pid}", str(p.get("title", pid)), pid)
              for pid, p in (document.get("patterns") or {}).items()]
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for cell_id, title, pattern in cells:
        statuses = {cid: (_pattern_status(c, pattern) if pattern
                          else verdict_status(document, c, cell_id))
                    for cid, c in configs.items()}
        for cid, status in statuses.items():
            if status not in _BAD:
                continue
            server = str(configs[cid].get("server"))
            others = [s for other, s in statuses.items()
                      if str(configs[other].get("server")) != server
                      and s in _GOOD | _BAD]
            if others and all(s in _GOOD for s in others):
                explanation = ((configs[cid].get("patterns") or {}).get(pattern, {}) if pattern
                               else (configs[cid].get("verdicts") or {}).get(cell_id, {}))
                found.setdefault(server, {}).setdefault(cid, []).append({
                    "id": cell_id, "title": title, "status": status, "pattern": pattern,
                    "others": len(others),
                    "explanation": str(explanation.get("explanation", ""))})
    return found


def short_label(prop: dict[str, Any]) -> str:
    """A column heading: the property's own ``short`` if it has one, else its id without
    the group (``lifespan.per-loop`` -> ``per loop``)."""
    if isinstance(prop.get("short"), str) and prop["short"]:
        return str(prop["short"])
    pid = str(prop.get("id", ""))
    group = str(prop.get("group", ""))
    rest = pid[len(group) + 1:] if group and pid.startswith(group + ".") else pid
    if rest == pid and "." in pid:  # startup-failure.exits-nonzero in group "failure"
        rest = pid.split(".", 1)[1]
    return re.sub(r"[-._]+", " ", rest).strip() or pid


def is_required(document: dict[str, Any], pid: str) -> bool:
    return required(level_of(document["properties"].get(pid)))
