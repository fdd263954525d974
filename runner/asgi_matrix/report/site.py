"""The static dashboard: a results document in, a folder of plain HTML pages out.

    render(document, options) -> {relative path: text}   pure: what the tests look at
    build(document, out_dir, options)                     render, then write with the assets
    make_server(directory, port), url_of(server)          preview on 127.0.0.1

Every link is relative, so the folder works from disk (file://) and on GitHub Pages
as it is. Templates autoescape everything: a log line or an id that came from a
server is text, never markup. The matrix is a real table; site.js only filters it.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import html
import http.server
import json
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from asgi_matrix.exceptions import ResultsError
from asgi_matrix.report import site_history as _site_history
from asgi_matrix.report.show import GLYPHS
from asgi_matrix.resources import RESULTS_SCHEMA, SITE_DIR

#: matrix sections, in order: kind -> heading
SECTIONS = {"server": "ASGI servers", "control": "Reference servers: controls",
            "harness": "In-process test clients"}
#: status -> CSS class ("n/a" is not a convenient class name)
STATUS_CLASS = {"pass": "pass", "fail": "fail", "unsupported": "unsup", "error": "error",
                "n/a": "na", "flaky": "flaky"}
#: status -> shields.io colour
BADGE_COLOR = {"pass": "brightgreen", "fail": "red", "unsupported": "lightgrey",
               "error": "orange", "n/a": "inactive", "flaky": "yellow"}
STATUS_SHORT = {"pass": "does what the property asks", "fail": "does not",
                "unsupported": "lacks the feature it builds on", "error": "could not be measured",
                "n/a": "does not apply", "flaky": "attempts disagreed"}
STATUS_MEANING = {
    "pass": "the server did what the property asks; the evidence shows it",
    "fail": "it did not; the evidence shows what happened instead",
    "unsupported": "the server lacks the feature the property builds on (for example it "
                   "never runs the lifespan protocol), so the property cannot hold",
    "error": "the harness could not measure this cell (the server was never ready, "
             "crashed, or a scenario is missing): no finding about the server either way",
    "n/a": "the property does not apply to this configuration",
    "flaky": "repeated attempts disagreed; every attempt's verdict is in the evidence",
}
#: scenario -> what it does (measure/scenarios.py says the same to developers)
SCENARIOS = {
    "main": "the normal probe app gets sequential, concurrent and WebSocket traffic; then a "
            "slow request is put in flight and SIGTERM goes to the main process",
    "group": "the normal probe app; a slow request is in flight when SIGTERM goes to the "
             "whole process group (what systemd and a terminal's Ctrl-C do)",
    "startup-fail": "the app fails its lifespan startup; a correct server serves nothing "
                    "and exits",
    "reject-lifespan": "the app raises on the lifespan scope, as an app without lifespan "
                       "support does; a correct server carries on serving",
}
MARKER = ".asgi-matrix-site"
#: what build() owns inside an existing site folder (and replaces on a rebuild)
OWNED = ("index.html", "about.html", "cells", "configs", "badges", "data", "static",
         "history", ".nojekyll", MARKER)


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
    except ValueError:
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


def server_version(config: dict[str, Any]) -> str:
    versions = config.get("versions") or {}
    server = str(config.get("server", ""))
    return str(versions.get(server) or versions.get(server.split("-")[0]) or "")


def counts(config: dict[str, Any]) -> tuple[int, int]:
    """(verdicts that pass, verdicts in all)."""
    verdicts = config.get("verdicts") or {}
    return sum(v["status"] == "pass" for v in verdicts.values()), len(verdicts)


def _detail(event: dict[str, Any]) -> str:
    parts = [str(event[k]) for k in ("outcome", "path") if event.get(k)]
    if event.get("tag"):
        parts.append(f"tag {event['tag']}")
    if isinstance(event.get("t"), int | float) and isinstance(event.get("t_end"), int | float):
        parts.append(f"{(event['t_end'] - event['t']) * 1000:.1f} ms")
    return " ".join(parts)


def timeline(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The probe's events in time order, time relative to the first one.

    The signal asgi-matrix sent is one more row: its time is on the same monotonic clock.
    """
    events = [e for e in record.get("events") or [] if isinstance(e, dict)]
    stop = record.get("stop") or {}
    if isinstance(stop.get("t_signal"), int | float):
        events.append({"event": "SIGTERM", "t": stop["t_signal"], "seq": -1,
                       "_detail": f"sent by asgi-matrix to the {stop.get('scope', '?')} process"
                                 + ("" if stop.get("scope") == "main" else " group")})
    times = [e["t"] for e in events if isinstance(e.get("t"), int | float)]
    t0 = min(times, default=0.0)
    rows = []
    for event in sorted(events, key=lambda e: (_number(e.get("t")), _number(e.get("seq")))):
        t = event.get("t")
        rows.append({"t": f"+{t - t0:.3f} s" if isinstance(t, int | float) else "?",
                     "event": str(event.get("event", "?")),
                     "detail": event.get("_detail") or _detail(event),
                     "pid": event.get("pid", ""), "thread": event.get("thread_name", ""),
                     "loop": event.get("loop_id", ""), "loop_kind": event.get("loop_kind", "")})
    return rows


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def own_scopes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Scope types the server sent that ASGI does not define (``pounce.worker.startup``,
    ...), from every scenario of the last attempt: how often, from how many processes and
    loops (at most, in one scenario), in which scenarios. The probe recorded them and did
    nothing with them."""
    attempts = config.get("attempts") or []
    scenarios = (attempts[-1].get("scenarios") or {}) if attempts else {}
    found: dict[str, dict[str, Any]] = {}
    for kind in (config.get("facts") or {}).get("other_scope_types") or []:
        found[str(kind)] = {"type": str(kind), "count": 0, "processes": 0, "loops": 0,
                            "scenarios": [], "keys": set()}
    for name, record in scenarios.items():
        seen: dict[str, list[dict[str, Any]]] = {}
        for event in record.get("events") or []:
            if isinstance(event, dict) and event.get("event") == "scope":
                seen.setdefault(str(event.get("scope_type")), []).append(event)
        for kind, events in seen.items():
            entry = found.setdefault(kind, {"type": kind, "count": 0, "processes": 0,
                                            "loops": 0, "scenarios": [], "keys": set()})
            entry["count"] += len(events)
            entry["processes"] = max(entry["processes"], len({e.get("pid") for e in events}))
            entry["loops"] = max(entry["loops"], len({e.get("loop_id") for e in events}))
            entry["scenarios"].append(name)
            entry["keys"].update(str(k) for e in events for k in e.get("scope_keys") or [])
    return [{**entry, "keys": sorted(entry["keys"])}
            for entry in sorted(found.values(), key=lambda e: e["type"])]


def topology(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Per process/thread/loop: how many startups, requests and shutdowns it ran."""
    places: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in record.get("events") or []:
        key = (event.get("pid"), event.get("thread_name"), event.get("loop_id"),
               event.get("loop_kind"))
        place = places.setdefault(key, {"pid": key[0], "thread": key[1], "loop": key[2],
                                        "loop_kind": key[3], "startups": 0, "failed": 0,
                                        "requests": 0, "shutdowns": 0})
        kind = event.get("event")
        if kind == "lifespan.startup":
            place["failed" if event.get("outcome") == "failed" else "startups"] += 1
        elif kind in ("http", "websocket"):
            place["requests"] += 1
        elif kind == "lifespan.shutdown":
            place["shutdowns"] += 1
    return list(places.values())


def shields(label: str, message: str, color: str) -> dict[str, Any]:
    return {"schemaVersion": 1, "label": label, "message": message, "color": color}


def config_badge(config: dict[str, Any]) -> dict[str, Any]:
    if config["status"] != "measured":
        return shields(config["id"], config["status"], "orange")
    passed, total = counts(config)
    color = "brightgreen" if passed == total else "yellow" if passed * 2 >= total else "red"
    return shields(config["id"], f"{passed}/{total} pass", color)


def cell_badge(config: dict[str, Any], prop: dict[str, Any], status: str) -> dict[str, Any]:
    return shields(f"{config['id']}: {prop.get('title', prop['id'])}", status,
                   BADGE_COLOR.get(status, "lightgrey"))


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


# -- pages -----------------------------------------------------------------------------

@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SITE_DIR / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters["pretty"] = pretty
    env.filters["compact"] = lambda value: json.dumps(value, ensure_ascii=False, default=repr)
    env.globals.update(GLYPHS=GLYPHS, STATUS_CLASS=STATUS_CLASS)
    return env


class _Renderer:
    """Holds what all pages share; one method per page type."""

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
        self.groups = _groups(self.properties)
        self.group_starts = {g["first"] for g in self.groups}
        self._observed: dict[tuple[str, str], Markup] = {}
        self.history = _site_history.compute(document)  # releases: on history/ pages
        self.history_summaries = _site_history.summaries(
            self.history, self.properties, slugs(self.history.get("series", {})))

    def page(self, template: str, depth: int, title: str, **content: Any) -> str:
        return _env().get_template(template).render(
            root="../" * depth, title=title, run=self.doc["run"], measured=self.measured,
            measured_iso=self.measured_iso, stale=self.stale,
            stale_after_days=self.options.stale_after_days, history_nav=bool(self.history),
            **content)

    def cell_href(self, config_id: str, property_id: str) -> str:
        return f"cells/{self.cslug[config_id]}/{self.pslug[property_id]}.html"

    def snippets(self, label: str, badge_path: str, page_path: str) -> dict[str, str]:
        base = self.base or "https://YOUR-SITE.example/"
        image = "https://img.shields.io/endpoint?url=" + quote(base + badge_path, safe="")
        alt = label.replace("]", ")").replace("[", "(")
        html_alt = html.escape(label)
        return {"path": badge_path, "url": base + badge_path, "image": image,
                "markdown": f"[![{alt}]({image})]({base}{page_path})",
                "html": f'<a href="{base}{page_path}"><img alt="{html_alt}" src="{image}"></a>'}

    # the matrix -------------------------------------------------------------------
    def sections(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        kinds = list(SECTIONS) + sorted({c["kind"] for c in self.configs.values()} - set(SECTIONS))
        for kind in kinds:
            servers: dict[str, list[dict[str, Any]]] = {}
            for config_id, config in self.configs.items():
                if config["kind"] == kind and not _site_history.is_release(config):
                    servers.setdefault(config["server"], []).append(self.row(config_id, config))
            if servers:
                found.append({"kind": kind, "title": SECTIONS.get(kind, kind),
                              "servers": [_server_group(name, rows)
                                          for name, rows in servers.items()]})
        return found

    def row(self, config_id: str, config: dict[str, Any]) -> dict[str, Any]:
        verdicts = config.get("verdicts") or {}
        cells: list[dict[str, Any] | None] = []
        for prop_id in self.properties:
            verdict = verdicts.get(prop_id)
            if verdict is None:
                cells.append(None)
            else:
                cells.append({"status": verdict["status"], "tip": verdict["explanation"][:160],
                              "href": self.cell_href(config_id, prop_id),
                              "starts_group": prop_id in self.group_starts})
        passed, total = counts(config)
        return {"id": config_id, "slug": self.cslug[config_id], "config": config,
                "version": server_version(config), "axes": config.get("axes") or {},
                "cells": cells, "passed": passed, "total": total}

    def index(self) -> str:
        not_run = [n for n in self.doc["run"].get("not_run", []) if n["id"] not in self.configs]
        return self.page("index.html", 0, "Matrix", sections=self.sections(),
                         groups=self.groups, properties=self.properties,
                         servers=sorted({c["server"] for c in self.configs.values()}),
                         pythons=sorted({str((c.get("axes") or {}).get("python"))
                                         for c in self.configs.values()
                                         if (c.get("axes") or {}).get("python")}),
                         not_run=not_run, statuses=list(GLYPHS), meanings=STATUS_SHORT,
                         group_starts=self.group_starts, history=self.history_summaries)

    # one configuration --------------------------------------------------------------
    def config_page(self, config_id: str) -> str:
        config = self.configs[config_id]
        slug = self.cslug[config_id]
        verdicts = config.get("verdicts") or {}
        rows = []
        for pid, verdict in verdicts.items():
            prop = self.properties.get(pid)
            if prop is None:  # a verdict for a property the document does not describe
                rows.append({"id": pid, "prop": {"title": pid}, "verdict": verdict, "href": ""})
                continue
            badge = self.snippets(f"{config_id}: {prop['title']}",
                                  f"badges/{slug}/{self.pslug[pid]}.json",
                                  self.cell_href(config_id, pid))
            rows.append({"id": pid, "prop": prop, "verdict": verdict, "badge": badge,
                         "href": self.cell_href(config_id, pid)})
        passed, total = counts(config)
        summary = self.snippets(f"asgi-matrix: {config_id}", f"badges/{slug}.json",
                                f"configs/{slug}.html")
        return self.page("config.html", 1, config_id, config=config, config_id=config_id,
                         rows=rows, passed=passed, total=total, badge=summary,
                         version=server_version(config), command=_command(config),
                         reproduce=_reproduce(config_id), facts=config.get("facts") or {},
                         own_scopes=own_scopes(config))

    # one cell -----------------------------------------------------------------------
    def cell_page(self, config_id: str, property_id: str) -> str:
        config = self.configs[config_id]
        prop = self.properties[property_id]
        badge = self.snippets(f"{config_id}: {prop['title']}",
                              f"badges/{self.cslug[config_id]}/{self.pslug[property_id]}.json",
                              self.cell_href(config_id, property_id))
        return self.page("cell.html", 2, f"{prop['title']} · {config_id}", config=config,
                         config_id=config_id, slug=self.cslug[config_id], prop=prop,
                         verdict=config["verdicts"][property_id], badge=badge,
                         observed=self.observed(config_id, scenario_for(prop)),
                         command=_command(config), reproduce=_reproduce(config_id))

    def observed(self, config_id: str, name: str) -> Markup:
        """What one scenario recorded, rendered once for all the properties judged from it.

        The fragment is the output of an autoescaping template, so it is markup we made:
        every value from the results inside it has been escaped there.
        """
        key = (config_id, name)
        if key not in self._observed:
            config = self.configs[config_id]
            attempts = config.get("attempts") or []
            record = (attempts[-1].get("scenarios") or {}).get(name) or {} if attempts else {}
            self._observed[key] = Markup(_env().get_template("_observed.html").render(
                scenario=name, scenario_text=SCENARIOS.get(name, ""), record=record,
                attempts=len(attempts), timeline=timeline(record), topology=topology(record),
                log_tail=record.get("log_tail") or config.get("log_tail") or ""))
        return self._observed[key]

    def about(self) -> str:
        used_by = {name: [p for p in self.properties.values() if scenario_for(p) == name]
                   for name in SCENARIOS}
        return self.page("about.html", 0, "About", doc=self.doc, scenarios=SCENARIOS,
                         used_by=used_by, meanings=STATUS_MEANING, statuses=list(GLYPHS))

    def badges(self) -> dict[str, str]:
        files = {}
        for config_id, config in self.configs.items():
            slug = self.cslug[config_id]
            files[f"badges/{slug}.json"] = json.dumps(config_badge(config))
            for prop_id, verdict in (config.get("verdicts") or {}).items():
                if prop_id in self.properties:
                    badge = cell_badge(config, self.properties[prop_id], verdict["status"])
                    files[f"badges/{slug}/{self.pslug[prop_id]}.json"] = json.dumps(badge)
        return files


def _server_group(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One server's rows; its version goes on its header, or on each row when they differ."""
    versions = sorted({row["version"] for row in rows} - {""})
    for row in rows:
        row["row_version"] = row["version"] if len(versions) > 1 else ""
    return {"name": name, "rows": rows, "versions": versions}


def _groups(properties: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive properties of one group become one column group."""
    groups: list[dict[str, Any]] = []
    for prop in properties.values():
        if groups and groups[-1]["name"] == prop["group"]:
            groups[-1]["span"] += 1
        else:
            groups.append({"name": prop["group"], "span": 1, "first": prop["id"]})
    return groups


def _command(config: dict[str, Any]) -> str:
    return shlex.join(config["command"]) if config.get("command") else ""


def _reproduce(config_id: str) -> str:
    return f"asgi-matrix run --config {shlex.quote(config_id)}"


def render(document: dict[str, Any], options: Options | None = None) -> dict[str, str]:
    """Every generated file of the site, by relative path (static assets excepted)."""
    renderer = _Renderer(document, options or Options())
    files = {"index.html": renderer.index(), "about.html": renderer.about()}
    for config_id, config in renderer.configs.items():
        files[f"configs/{renderer.cslug[config_id]}.html"] = renderer.config_page(config_id)
        for prop_id in config.get("verdicts") or {}:
            if prop_id in renderer.properties:
                files[renderer.cell_href(config_id, prop_id)] = renderer.cell_page(config_id,
                                                                                   prop_id)
    files.update(renderer.badges())
    files.update(_site_history.render(renderer, renderer.history))
    files["data/results.json"] = json.dumps(document, separators=(",", ":"))
    files["data/results.schema.json"] = RESULTS_SCHEMA.read_text()
    files[".nojekyll"] = ""
    files[MARKER] = "made by asgi-matrix site; rebuilt in place\n"
    return files


def build(document: dict[str, Any], out_dir: Path, options: Options | None = None) -> int:
    """Render the site into ``out_dir``; returns the number of files written.

    The site is written into a temporary folder beside ``out_dir`` and swapped in by
    renames at the end, so a failure while writing (a full disk, an unencodable string)
    leaves the old site as it was and the temporary folder removed.
    """
    files = render(document, options)
    out_dir = out_dir.resolve()  # its parent holds the temporary folder, even for "."
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err
    try:
        for folder in sorted({(staging / relative).parent for relative in files}):
            folder.mkdir(parents=True, exist_ok=True)
        for relative, text in files.items():
            _write(staging / relative, text.encode())
        shutil.copytree(SITE_DIR / "static", staging / "static")
        _keep_users_files(out_dir, staging)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a site is for publishing
        _swap(staging, out_dir)
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err
    except UnicodeEncodeError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: text that cannot be "
                           f"encoded ({err.reason})") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(files) + sum(1 for _ in (SITE_DIR / "static").iterdir())


def _write(path: Path, data: bytes) -> None:
    """One small file with three system calls: a big site is thousands of them (the
    whole folder is swapped in at the end, so files need no renames of their own)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _check_target(out_dir: Path) -> None:
    """An empty or missing folder, or a site we built before, never others."""
    try:
        if out_dir.exists():
            if not out_dir.is_dir():
                raise ResultsError(f"{out_dir}: exists and is not a folder")
            if any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
                raise ResultsError(f"{out_dir}: not empty and not an asgi-matrix site; "
                                   "choose an empty or new folder")
    except OSError as err:
        raise ResultsError(f"cannot write the site to {out_dir}: {err.strerror or err}") from err


def _keep_users_files(out_dir: Path, staging: Path) -> None:
    """Copy what the user added to the old site (a CNAME, say) into the new one."""
    if not out_dir.is_dir():
        return
    for entry in out_dir.iterdir():
        if entry.name in OWNED:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, staging / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, staging / entry.name, follow_symlinks=False)


def _swap(staging: Path, out_dir: Path) -> None:
    """Put the new site in place of the old: two renames, the old one restored if the
    second fails, so ``out_dir`` is the old site or the new one, never a mix."""
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rmdir(old)  # only its unique name is wanted
    os.rename(out_dir, old)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(old, out_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def transferred_size(page: str) -> int:
    """Bytes of a page over the wire with gzip, as GitHub Pages serves it."""
    return len(gzip.compress(page.encode(), compresslevel=6))


# -- preview ---------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """A static file server for ``directory`` on 127.0.0.1 (port 0: any free port)."""
    if not (directory / "index.html").is_file():
        raise ResultsError(f"{directory}: no site here (build one with: asgi-matrix site "
                           "RESULTS --out DIR)")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as err:
        raise ResultsError(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from err


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/"
