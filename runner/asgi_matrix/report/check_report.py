"""The answers of ``asgi-matrix check``: words first, in the terminal, Markdown, JSON
and one HTML page in the dashboard's style.

Every string that came from a server or the app (errors, log lines, bodies) is escaped
for where it goes: control characters shown as escapes in the terminal, HTML escaped
by the template engine, Markdown's table characters neutralised.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import jinja2
from markupsafe import Markup

from asgi_matrix.report.words import one_line, terminal_safe
from asgi_matrix.resources import DASHBOARD_DIR, VERSION
from asgi_matrix.verdicts.check_answer import WORDS

GLYPH = {"works": "✓", "caveats": "~", "breaks": "✗", "not run": "·", "error": "!"}
#: the dashboard's status classes (site.css)
CLASS = {"works": "pass", "caveats": "partly", "breaks": "fail", "not run": "unsup",
         "error": "error"}
COLOURS = {"works": "32", "caveats": "33", "breaks": "31;1", "not run": "2", "error": "35"}
ORDER = ("breaks", "caveats", "works", "error", "not run")


def document(app: str, backend: str, traffic: list[str], counts: dict[str, int],
             requirements_from: str, records: list[dict[str, Any]],
             answers: list[dict[str, Any]], notes: list[str]) -> dict[str, Any]:
    """The JSON document: the answers (words first), each with its command, versions,
    server log and the raw record it was judged from."""
    checked = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    joined = []
    for record, answer in zip(records, answers, strict=True):
        joined.append({**answer, "server": record.get("server"),
                       "command": record.get("command", []),
                       "versions": record.get("versions", {}),
                       "seconds": record.get("seconds"),
                       "log": str(record.get("log") or record.get("log_tail") or "")[-6000:],
                       "record": {k: v for k, v in record.items() if k not in ("log",)}})
    return {"tool": "asgi-matrix check", "version": VERSION, "checked_at": checked,
            "app": app, "backend": backend, "traffic": traffic, "counts": counts,
            "requirements_from": requirements_from, "notes": notes,
            "summary": {s: sum(a["status"] == s for a in answers) for s in ORDER},
            "answers": joined}


def import_failure(doc: dict[str, Any]) -> str:
    """The app's import error when it failed to import under every configuration that
    ran (bad input, said in one line), else ""."""
    ran = [a for a in doc["answers"] if a["status"] not in ("not run", "error")]
    errors = {str(f["text"]) for a in ran for f in a["findings"]
              if str(f["text"]).startswith("the app did not import")}
    if ran and len(errors) == 1 and all(
            any(str(f["text"]).startswith("the app did not import") for f in a["findings"])
            for a in ran):
        return next(iter(errors)).removeprefix("the app did not import: ")
    return ""


def headline(doc: dict[str, Any]) -> str:
    """One sentence: how many servers the app works on, with caveats, breaks."""
    counts = {s: [a["config"] for a in doc["answers"] if a["status"] == s] for s in ORDER}
    parts = []
    for status in ORDER:
        if counts[status]:
            parts.append(f"{WORDS[status]} on {len(counts[status])} "
                         f"({', '.join(counts[status])})")
    return f"{doc['app']}: " + ("; ".join(parts) if parts else "nothing was checked")


def _paint(text: str, status: str, colour: bool) -> str:
    return f"\x1b[{COLOURS[status]}m{text}\x1b[0m" if colour and status in COLOURS else text


def render_terminal(doc: dict[str, Any], colour: bool = False) -> str:
    lines = [one_line(headline(doc)), ""]
    width = max((len(a["config"]) for a in doc["answers"]), default=10)
    for answer in doc["answers"]:
        status = answer["status"]
        word = _paint(f"{GLYPH[status]} {answer['words']:18}", status, colour)
        lines.append(f"{answer['config']:{width}}  {word}  {one_line(answer['explanation'])}")
        for finding in answer["findings"]:
            if finding["level"] == "note" or finding["text"] in answer["explanation"]:
                continue
            lines.append(f"{'':{width}}    - {finding['level']}: {one_line(finding['text'])}")
    lines.append("")
    lines.append(terminal_safe(f"traffic: {', '.join(doc['traffic'])}; backend {doc['backend']}"))
    return "\n".join(lines)


def _md(text: Any) -> str:
    """A table cell: one line, pipes and backticks escaped, no HTML."""
    return re.sub(r"([|`*_<>\[\]])", r"\\\1", one_line(text))


def render_markdown(doc: dict[str, Any]) -> str:
    out = [f"## {_md(doc['app'])} under each server", "", _md(headline(doc)), "",
           "| configuration | answer | why |", "| --- | --- | --- |"]
    for answer in doc["answers"]:
        out.append(f"| {_md(answer['config'])} | {GLYPH[answer['status']]} {answer['words']} "
                   f"| {_md(answer['explanation'])} |")
    for answer in doc["answers"]:
        findings = [f for f in answer["findings"]]
        if not findings:
            continue
        out += ["", f"### {_md(answer['config'])}: {answer['words']}", ""]
        out += [f"- **{f['level']}**: {_md(f['text'])}" for f in findings]
    out += ["", f"Traffic: {', '.join(_md(t) for t in doc['traffic'])}; backend "
            f"{_md(doc['backend'])}."]
    return "\n".join(out) + "\n"


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False, default=repr) + "\n"


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False, default=repr)


def render_html(doc: dict[str, Any]) -> str:
    """One self-contained page (the dashboard's stylesheet inlined), every value escaped."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(DASHBOARD_DIR / "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters["pretty"] = _pretty
    css = (DASHBOARD_DIR / "static" / "site.css").read_text(encoding="utf-8")
    answers = [{**a, "anchor": "c-" + re.sub(r"[^a-z0-9-]", "-", a["config"].lower()),
                "command": a.get("command", []), "versions": a.get("versions", {}),
                "log": a.get("log", "")} for a in doc["answers"]]
    return environment.get_template("check.html").render(
        doc={**doc, "answers": answers}, headline=headline(doc),
        css=Markup(css.replace("</", "<\\/")), CLASS=CLASS, GLYPH=GLYPH)
