"""check's answers in each format: words first, and every string from a server or an app
escaped for where it goes (HTML, terminal, Markdown)."""

from __future__ import annotations

import json
from typing import Any

from asgi_matrix.report import check_report as _report
from asgi_matrix.verdicts.check_answer import judge

HOSTILE = "<script>alert(1)</script> \x1b[31mred\x1b[0m | `tick`"


def record(config: str, status: int, error: str = "") -> dict[str, Any]:
    where = {"pid": 1, "interpreter": 0, "loop_id": "a", "thread_name": "MainThread"}
    lifespan = [{"event": "check.lifespan", "received": "lifespan.startup", **where},
                {"event": "check.lifespan", "sent": "lifespan.startup.complete", **where},
                {"event": "check.lifespan", "received": "lifespan.shutdown", **where},
                {"event": "check.lifespan", "sent": "lifespan.shutdown.complete", **where}]
    request = {"event": "check.request", "tag": "t", "method": "GET", "path": "/x",
               "status": status, **({"error": error} if error else {}), **where}
    return {"config": config, "server": config, "ready": {"ok": True},
            "events": [{"event": "check.import", "ok": True, **where}, *lifespan, request],
            "requests": [{"tag": "t", "method": "GET", "path": "/x", "carrier": "new",
                          "status": status}],
            "stop": {"exit_code": 0, "seconds": 0.1, "killed": False}, "held": {"status": 200},
            "log": HOSTILE, "command": ["srv", "app"], "versions": {"srv": "1.0"}}


def doc() -> dict[str, Any]:
    records = [record("good", 200), record("bad", 500, error=f"RuntimeError: {HOSTILE}")]
    answers = [judge(r).to_json() for r in records]
    return _report.document("main:app", "local", ["GET /x"],
                            {"fresh": 3, "kept": 3, "concurrent": 6}, "", records, answers, [])


def test_the_headline_says_each_answer_in_words_with_the_configurations() -> None:
    assert _report.headline(doc()) == ("main:app: breaks on 1 (bad); works on 1 "
                                       "(good)")


def test_html_escapes_what_servers_and_apps_said() -> None:
    page = _report.render_html(doc())
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="st fail"' in page  # the dashboard's status classes
    assert "site.css" not in page  # the stylesheet inlined
    assert ".st {" in page


def test_terminal_shows_control_characters_as_escapes() -> None:
    text = _report.render_terminal(doc())
    assert "\x1b" not in text
    assert "\\e[31m" in text
    painted = _report.render_terminal(doc(), colour=True)
    assert "\x1b[31;1m✗ breaks" in painted  # our own colour only


def test_markdown_keeps_the_table_whole() -> None:
    text = _report.render_markdown(doc())
    rows = [line for line in text.splitlines() if line.startswith("| bad ")]
    assert len(rows) == 1
    assert rows[0].count(" | ") == 2  # the server's | is escaped, not a column
    assert "\\<script\\>" in text


def test_json_carries_answers_findings_and_records() -> None:
    data = json.loads(_report.render_json(doc()))
    assert data["summary"] == {"breaks": 1, "caveats": 0, "works": 1, "error": 0, "not run": 0}
    bad = next(a for a in data["answers"] if a["config"] == "bad")
    assert bad["words"] == "breaks"
    assert bad["findings"][0]["level"] == "breaks"
    assert bad["record"]["requests"][0]["status"] == 500
    assert bad["command"] == ["srv", "app"]


def test_an_import_failure_everywhere_is_said_once() -> None:
    failed = {"config": "x", "ready": {"ok": True}, "events": [
        {"event": "check.import", "ok": False, "error": "ImportError: nope"}]}
    answers = [judge({**failed, "config": c}).to_json() for c in ("a", "b")]
    data = _report.document("m:app", "local", [], {}, "", [failed, failed], answers, [])
    assert _report.import_failure(data) == "ImportError: nope"
    assert _report.import_failure(doc()) == ""
