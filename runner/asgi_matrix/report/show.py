"""Results as text for a terminal: the answer first, then the matrix, or one configuration.

    render_matrix(document, colour=False, width=120)
    render_config(document, config_id, colour=False)
    render_apps(document, colour=False)     your app first: per framework and pattern,
                                            which servers work (the front page's answer)
    render_json(document), render_markdown(document)   the same answers for other tools

Statuses are whole words with their glyph ("✓ pass", "○ no"), coloured only when asked
(the CLI asks when stdout is a terminal and NO_COLOR is unset). Tables wider than
``width`` are printed in slices of columns, each repeating the row names. Every string
from the results document goes through words.one_line/terminal_safe first: an escape
sequence in a server's log or id is shown as ``\\e[...``, never sent to the terminal.
"""

from __future__ import annotations

import os
import re
import shutil
from typing import IO, Any

from asgi_matrix.report import answers as _answers
from asgi_matrix.report import apps as _apps
from asgi_matrix.report.words import (
    GLYPHS,
    MEANINGS,
    VOCABULARY,
    WORDS,
    level_of,
    level_phrase,
    one_line,
    shown,
    terminal_safe,
)

__all__ = ["GLYPHS", "render_config", "render_markdown", "render_matrix", "terminal"]

#: SGR colour per displayed status (and per headline answer)
COLOURS = {"pass": "32", "fail": "31;1", "no": "2", "partly": "33", "unsupported": "2",
           "error": "35", "n/a": "2", "flaky": "33", "works": "32", "caveat": "33",
           "breaks": "31;1", "not-run": "2"}


def terminal(stream: IO[str], colour: bool | None) -> tuple[bool, int]:
    """(colour?, width) for writing to ``stream``: colour on a terminal unless NO_COLOR is
    set or TERM is dumb (or as asked); the terminal's width, 120 when it is not one."""
    tty = stream.isatty()
    if colour is None:
        colour = tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    width = shutil.get_terminal_size((120, 24)).columns if tty else 120
    return colour, max(width, 60)


def _paint(text: str, status: str, colour: bool) -> str:
    code = COLOURS.get(status)
    return f"\x1b[{code}m{text}\x1b[0m" if colour and code else text


def _cell(status: str) -> str:
    return f"{GLYPHS.get(status, '?')} {WORDS.get(status, status)}"


def _answer_cell(item: dict[str, Any]) -> str:
    return f"{item['glyph']} {item['word']}" if item["status"] else _cell("not-run")


def _table(corner: list[str], names: list[str], headers: list[list[str]],
           rows: list[list[tuple[str, str]]], colour: bool, width: int) -> list[str]:
    """A table of (text, status) cells, sliced by columns to fit ``width``.

    ``corner``: one line per header line; ``headers``: per column, one line per header line.
    """
    name_width = max(len(x) for x in [*names, *corner])
    widths = [max([len(line) for line in head] + [len(row[i][0]) for row in rows])
              for i, head in enumerate(headers)]
    slices: list[list[int]] = [[]]
    used = name_width
    for i, column in enumerate(widths):
        if slices[-1] and used + 2 + column > width:
            slices.append([])
            used = name_width
        slices[-1].append(i)
        used += 2 + column
    lines: list[str] = []
    for part in slices:
        if lines:
            lines.append("")
        for n, corner_line in enumerate(corner):
            lines.append((f"{corner_line:{name_width}}" + "".join(
                f"  {headers[i][n]:{widths[i]}}" for i in part)).rstrip())
        for name, row in zip(names, rows, strict=True):
            lines.append((f"{name:{name_width}}" + "".join(
                "  " + _paint(row[i][0], row[i][1], colour) + " " * (widths[i] - len(row[i][0]))
                for i in part)).rstrip())
    return lines


def render_apps(document: dict[str, Any], colour: bool = False) -> list[str]:
    """Your app first: per framework and pattern, each server's default configuration
    (newest release), the servers that work on one line, each caveat and break with its
    reason; test clients after. Controls never answer."""
    found = _apps.app_answers(document)
    if not found:
        return []
    lines = ["Your app: which server runs it (each server's default configuration, newest "
             "release; works first)"]
    for app in found:
        lines += ["", f"  {one_line(app['title'])} ({one_line(app['id'])})"]
        by_status: dict[str, list[dict[str, Any]]] = {}
        for entry in app["servers"]:
            by_status.setdefault(entry["status"], []).append(entry)
        for status, entries in by_status.items():
            label = _paint(f"{_cell(status):10}", status, colour)
            if status == "works":
                lines.append(f"    {label} " + ", ".join(
                    one_line(f"{e['server']} {e['version']}".strip()) for e in entries))
                continue
            for entry in entries:
                lines.append(f"    {label} {one_line(entry['server'])}: "
                             f"{one_line(entry['reason'])}")
        for entry in app["clients"]:
            lines.append(f"    in tests: {one_line(entry['config'])} "
                         + _paint(_cell(entry["status"]), entry["status"], colour))
    return lines


def render_summary(document: dict[str, Any], colour: bool = False, width: int = 120
                   ) -> list[str]:
    """The answer before the matrix: your app first, then each server's answers."""
    lines = render_apps(document, colour)
    rows = _answers.summary(document)
    if not rows:
        return lines
    if lines:
        lines.append("")
    lines += ["Server by server: each server's default configuration "
              "(whole matrix below; `asgi-matrix show RESULTS CONFIG` for one)"]
    asked = _answers.questions(document)
    headers, cells = [], []
    for row in rows:
        name = one_line(row["server"]) + ("*" if row["multi_loop"] else "")
        headers.append([name, one_line(row["version"]) or "?", one_line(row["config"])])
        if row["answers"]:
            cells.append([(_answer_cell(a), a["status"]) for a in row["answers"]])
        else:
            cells.append([(one_line(row["status"]), "error")] * len(asked))
    columns = [[(cells[s][q]) for s in range(len(rows))] for q in range(len(asked))]
    lines += _table(["", "version", "configuration"], [q.text for q in asked], headers,
                    columns, colour, width)
    if any(row["multi_loop"] for row in rows):
        lines.append("* runs several event loops in one process")
    return lines


def _code(property_id: str) -> str:
    return "".join(part[0] for part in property_id.replace("-", ".").split(".") if part)


def _codes(properties: list[str]) -> dict[str, str]:
    """Short unique column codes: initials, numbered where two properties share them."""
    codes: dict[str, str] = {}
    for pid in properties:
        code = _code(pid)
        if code in codes.values():
            code = next(f"{code}{n}" for n in range(2, 1000) if f"{code}{n}" not in codes.values())
        codes[pid] = code
    return codes


def render_matrix(document: dict[str, Any], colour: bool = False, width: int = 120) -> str:
    run = document["run"]
    properties = list(document["properties"])
    codes = _codes(properties)
    lines = [f"asgi-matrix results, run {one_line(run.get('id', '?'))} "
             f"({one_line(run.get('started', '?'))}, backend {one_line(run.get('backend', '?'))})",
             ""]
    lines += render_summary(document, colour, width)
    lines += ["", "Every configuration and property:"]
    names, rows = [], []
    for config_id, config in document["configurations"].items():
        names.append(one_line(config_id))
        if config.get("status") != "measured":
            reason = one_line(config.get("reason") or "no reason recorded")
            rows.append([(f"{config.get('status')}: {reason}"[:40], "error")]
                        + [("", "")] * (len(properties) - 1))
            continue
        row = []
        for pid in properties:
            status = _answers.verdict_status(document, config, pid)
            row.append((_cell(status), status) if status else ("", ""))
        rows.append(row)
    lines += _table(["configuration"], names, [[codes[p]] for p in properties], rows,
                    colour, width)
    lines.append("")
    for pid in properties:
        prop = document["properties"][pid]
        level = level_of(prop)
        note = f" [{level_phrase(level)}]" if level else ""
        lines.append(f"  {codes[pid]:>5} = {one_line(prop.get('title', pid))} "
                     f"({one_line(pid)}){note}")
    lines.append("")
    lines += [f"  {_paint(_cell(s), s, colour)}: {MEANINGS[s]}" for s in VOCABULARY]
    return "\n".join(lines)


def answers_json(document: dict[str, Any]) -> dict[str, Any]:
    """The answers as data: apps per server, each server's headline answers."""
    return {"run": {k: document["run"].get(k) for k in ("id", "started", "finished",
                                                        "backend", "interrupted")},
            "apps": _apps.app_answers(document),
            "servers": [{k: v for k, v in row.items() if k != "facts"}
                        for row in _answers.summary(document)],
            "vocabulary": {s: {"glyph": GLYPHS[s], "word": WORDS[s], "meaning": MEANINGS[s]}
                           for s in VOCABULARY}}


def render_json(document: dict[str, Any]) -> str:
    import json

    return json.dumps(answers_json(document), indent=2, ensure_ascii=False)


def _answers_markdown(document: dict[str, Any]) -> list[str]:
    """Your app first, as Markdown tables (for an issue or a pull request), then each
    server's headline answers."""
    lines = [f"# asgi-matrix results, run {_md(document['run'].get('id', '?'))}", ""]
    for app in _apps.app_answers(document):
        lines += [f"## {_md(app['title'])} (`{_md(app['id'])}`)", ""]
        if app["recommended"]:
            lines += ["Pick " + ", ".join(f"**{_md(s)}**" for s in app["recommended"])
                      + ": they work with this app.", ""]
        lines += ["| server | configuration | version | your app | why |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [f"| {_md(e['server'])} | {_md(e['config'])} | {_md(e['version'])} | "
                  f"{_cell(e['status'])} | {_md(e['reason'])} |" for e in app["servers"]]
        lines.append("")
    rows = _answers.summary(document)
    asked = _answers.questions(document)
    if rows and asked:
        lines += ["## Server by server", "",
                  "| server | " + " | ".join(_md(q.text) for q in asked) + " |",
                  "| --- |" + " --- |" * len(asked)]
        for row in rows:
            cells = ([_answer_cell(a) for a in row["answers"]] if row["answers"]
                     else [_cell(str(row["status"]))] * len(asked))
            lines.append(f"| {_md(row['server'])} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Statuses: " + "; ".join(f"{_cell(s)}: {MEANINGS[s]}" for s in VOCABULARY), ""]
    return lines


def render_config(document: dict[str, Any], config_id: str, colour: bool = False) -> str:
    config = document["configurations"][config_id]
    lines = [f"{one_line(config_id)} ({one_line(config.get('server'))}, "
             f"{one_line(config.get('kind'))}): {one_line(config.get('status'))}"]
    if config.get("reason"):
        lines.append("reason:   " + one_line(config["reason"]))
    if config.get("command"):
        lines.append("command:  " + one_line(" ".join(str(a) for a in config["command"])))
    versions = config.get("versions") or {}
    if versions:
        lines.append("versions: " + ", ".join(f"{one_line(k)} {one_line(v)}"
                                             for k, v in sorted(versions.items())))
    facts = config.get("facts") or {}
    if facts:
        kinds = facts.get("loop_kinds") or []
        lines.append(one_line(
            f"served by {facts.get('processes')} process(es), {facts.get('threads')} "
            f"thread(s), {facts.get('loops')} loop(s) "
            f"({', '.join(str(k) for k in kinds) if isinstance(kinds, list) else kinds}); "
            f"{facts.get('lifespans')} lifespan startup(s)"))
    lines.append("")
    verdicts = config.get("verdicts") or {}
    width = max([len(one_line(p)) for p in verdicts] + [8])
    for pid, verdict in verdicts.items():
        level = level_of(document["properties"].get(pid), verdict)
        status = shown(str(verdict.get("status")), level)
        note = f" [{level_phrase(level)}]" if status == "no" else ""
        lines.append(f"{_paint(f'{_cell(status):13}', status, colour)} "
                     f"{one_line(pid):{width}} {one_line(verdict.get('explanation', ''))}{note}")
    only = _answers.fails_only(document).get(config_id)
    if only:
        lines += ["", "Fails only here (every other configuration of its kind passes):"]
        lines += [f"  {one_line(item['title'])} ({one_line(item['id'])})" for item in only]
    if config.get("log_tail") and config.get("status") != "measured":
        lines += ["", "log tail:", terminal_safe(config["log_tail"])]
    return "\n".join(lines)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")


def _md(text: Any) -> str:
    """One Markdown table cell: one line, its markup escaped (text may be a server's)."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text))


def render_markdown(document: dict[str, Any]) -> str:
    """The run as Markdown (an issue, a pull request, a CI job's summary): your app first
    and each server's answers (_answers_markdown), then what breaks apps and one row per
    configuration with its status and verdict counts."""
    configs: dict[str, Any] = document["configurations"]
    lines = _answers_markdown(document)
    lines += [f"### asgi-matrix: {len(configs)} configuration(s), run "
             f"{_md(document['run'].get('id', ''))}", ""]
    broken = _answers.breaking(document)
    if broken:
        lines.append("**Breaks apps** (resources per loop, state shared between requests):")
        lines.append("")
        lines += [f"- {_md(entry['config'])}: "
                  + "; ".join(_md(f"{GLYPHS.get(f['status'], '')} {f['title']}")
                              for f in entry["failed"]) for entry in broken]
    else:
        lines.append("Breaks apps: no configuration here fails a property whose failure "
                     "breaks apps.")
    order = ["pass", "fail", "unsupported", "n/a", "error", "flaky"]
    lines += ["", "| configuration | status | " + " | ".join(order) + " | patterns |",
              "| --- | --- | " + " | ".join("---:" for _ in order) + " | --- |"]
    for config_id, cell in configs.items():
        counts: dict[str, int] = {}
        for verdict in (cell.get("verdicts") or {}).values():
            counts[verdict["status"]] = counts.get(verdict["status"], 0) + 1
        patterns: dict[str, int] = {}
        for pattern in (cell.get("patterns") or {}).values():
            patterns[pattern["status"]] = patterns.get(pattern["status"], 0) + 1
        status = cell["status"] + (f": {cell['reason']}" if cell.get("reason") else "")
        lines.append(f"| {_md(config_id)} | {_md(status)} | "
                     + " | ".join(str(counts.get(s, 0)) for s in order) + " | "
                     + _md(", ".join(f"{k} {v}" for k, v in sorted(patterns.items()))) + " |")
    return "\n".join(lines) + "\n"
