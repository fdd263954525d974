"""``asgi-matrix show``: the answer first, whole words, colour only on a terminal, and
nothing from a server reaches the terminal as a control sequence."""

from __future__ import annotations

import re
from pathlib import Path

from asgi_matrix.cli import cli
from asgi_matrix.report import answers, apps
from asgi_matrix.report.show import render_config, render_markdown, render_matrix
from click.testing import CliRunner
from helpers.results_docs import Document, sample, set_status, write
from helpers.site_docs import with_caveat

#: what we send on purpose: Select Graphic Rendition only
SGR = re.compile(r"\x1b\[[0-9;]*m")
EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def _evil() -> Document:
    document = sample()
    config = document["configurations"].pop("daphne")
    config["id"] = "daphne" + EVIL
    config["status"] = "error"
    config["reason"] = "crashed " + EVIL
    config["log_tail"] = "line one\n" + EVIL + "\nline three"
    config["command"] = ["daphne", EVIL]
    config["verdicts"]["lifespan.supported"]["explanation"] = "said " + EVIL
    document["configurations"][config["id"]] = config
    document["run"]["id"] = "run" + EVIL
    return document


def _controls(text: str) -> list[str]:
    return re.findall(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text)


def test_the_answer_comes_before_the_matrix_in_whole_words() -> None:
    text = render_matrix(sample())
    assert text.index("Your app: which server runs it") < text.index("Server by server") \
        < text.index("Runs the lifespan once per event loop") \
        < text.index("Every configuration and property")
    assert "✓ pass" in text
    assert "○ no" in text  # a failure of a property the spec does not require
    assert "– unsupported" in text
    assert not re.search(r"✓ pas\b|✗ fai\b|– uns\b", text)
    assert "\x1b" not in text


def test_the_summary_row_per_question_has_each_server() -> None:
    lines = render_matrix(sample(), width=200).splitlines()
    header = next(line for line in lines if line.lstrip().startswith("uvicorn"))
    rows = answers.summary(sample())
    servers = [row["server"] for row in rows]
    assert header.split() == servers
    drains = next(line for line in lines if line.startswith("Drains in-flight"))
    words = {"pass": ["✓", "pass"], "no": ["○", "no"], "partly": ["◐", "partly"],
             "fail": ["✗", "fail"], "unsupported": ["–", "unsupported"],
             "error": ["!", "error"], "n/a": ["·", "n/a"], "flaky": ["~", "flaky"]}
    keys = [q.key for q in answers.questions(sample())]
    expected = [w for row in rows for w in words[row["answers"][keys.index("drain")]["status"]]]
    assert drains.split()[-len(expected):] == expected


def test_colour_only_when_asked_and_only_sgr() -> None:
    document = sample()
    set_status(document, "uvicorn", "state.shallow-copy", "fail")
    coloured = render_matrix(document, colour=True)
    assert "\x1b[32m✓ pass" in coloured
    assert "\x1b[31;1m✗ fail" in coloured
    assert _controls(SGR.sub("", coloured)) == []
    assert SGR.sub("", coloured) == render_matrix(document, colour=False)


def test_control_characters_from_results_are_escaped() -> None:
    document = _evil()
    for colour in (False, True):
        matrix = render_matrix(document, colour=colour)
        one = render_config(document, "daphne" + EVIL, colour=colour)
        for text in (matrix, one):
            assert _controls(SGR.sub("", text)) == [], text
        assert "\\e]0;pwned\\x07\\e[2J\\x9b31m\\u202e" in one
        assert "line one\n" in one  # the log tail keeps its lines
        assert "crashed \\e]0;pwned" in matrix


def test_wide_tables_are_cut_to_the_width() -> None:
    text = render_matrix(sample(), width=80)
    rows = [line for line in text.splitlines() if re.search("[✓✗○–·!~◐] ", line)
            and not line.startswith("  ")]
    assert rows
    assert max(len(line) for line in rows) <= 80


def test_the_command_is_plain_when_not_a_terminal(tmp_path: Path) -> None:
    results = write(tmp_path / "results.json", sample())
    plain = CliRunner().invoke(cli, ["show", str(results)])
    assert plain.exit_code == 0, plain.output
    assert "✓ pass" in plain.output
    assert "\x1b" not in plain.output
    forced = CliRunner().invoke(cli, ["show", "--colour", str(results), "uvicorn"])
    assert forced.exit_code == 0, forced.output
    assert "\x1b[32m✓ pass" in forced.output


def test_one_configuration_lists_what_fails_only_there() -> None:
    document = sample()
    set_status(document, "granian-mt2", "lifespan.per-loop", "fail")
    text = render_config(document, "granian-mt2")
    assert "Fails only here" in text
    assert "Lifespan per event loop (lifespan.per-loop)" in text
    assert "recommended by the spec (SHOULD)" in text


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_follows_the_terminal_and_no_color(monkeypatch) -> None:
    from asgi_matrix.report.show import terminal

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert terminal(_Stream(True), None)[0] is True
    assert terminal(_Stream(False), None) == (False, 120)
    assert terminal(_Stream(False), True)[0] is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert terminal(_Stream(True), None)[0] is False


def test_markdown_has_a_row_per_configuration_with_server_text_escaped(tmp_path: Path) -> None:
    document = sample()
    cell = document["configurations"]["uvicorn"]
    cell.update(status="error", reason="died | <script>alert(1)</script> `x`\nnext line")
    write(tmp_path / "results.json", document)
    done = CliRunner().invoke(cli, ["show", str(tmp_path / "results.json"),
                                    "--format", "markdown"])
    assert done.exit_code == 0, done.output
    # the table of every configuration, after the answers (your app first)
    table = done.stdout[done.stdout.index("| configuration | status |"):]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(document["configurations"])  # the header, then each
    [row] = [r for r in rows if r.startswith("| uvicorn |")]
    # one line: the newline is shown as \n (words.one_line), its backslash escaped
    assert ("| error: died \\| \\<script\\>alert(1)\\</script\\> \\`x\\`\\\\nnext line |"
            in row)
    assert "<script>" not in done.stdout
    passes = sum(v["status"] == "pass" for v in
                 document["configurations"]["control-multiloop"]["verdicts"].values())
    [multiloop] = [r for r in rows if r.startswith("| control-multiloop |")]
    assert multiloop.split(" | ")[2] == (
        str(passes))
    refused = CliRunner().invoke(cli, ["show", str(tmp_path / "results.json"), "uvicorn",
                                       "--format", "markdown"])
    assert refused.exit_code == 2


def test_show_prints_the_app_answers_with_caveats_and_breaks() -> None:
    document = with_caveat(sample())
    text = render_matrix(document, width=200)
    block = text[text.index("  FastAPI: lifespan= with app.state"):]
    block = block[:block.index("\n\n")]
    works = next(line for line in block.splitlines() if "✔ works" in line)
    assert [w.split()[0] for w in works.split("✔ works")[1].split(",")] == \
        apps.for_app(document, "fastapi-app-state")["recommended"]
    assert "⚠ caveat   hypercorn: every request succeeded, but the server never" in block
    contextvar = text[text.index("(contextvar-resource)"):]
    assert "✘ breaks   uvicorn: 15 of 15 requests failed, the first with LookupError" in \
        contextvar[:contextvar.index("\n\n")]
    assert "control-multiloop" not in text[:text.index("Server by server")]  # no controls


def test_show_formats_json_and_markdown(tmp_path: Path) -> None:
    import json

    from asgi_matrix.report.show import render_json

    path = write(tmp_path / "results.json", sample())
    out = CliRunner().invoke(cli, ["show", str(path), "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    fastapi = next(a for a in data["apps"] if a["id"] == "fastapi-app-state")
    assert fastapi == json.loads(json.dumps(apps.for_app(sample(), "fastapi-app-state")))
    assert set(data["vocabulary"]) >= {"works", "caveat", "breaks", "not-run"}
    out = CliRunner().invoke(cli, ["show", str(path), "--format", "markdown"])
    assert out.exit_code == 0, out.output
    assert "| uvicorn | uvicorn | " in out.stdout
    assert "\x1b" not in out.stdout
    # a caveat (a status the results schema gains with issue #23), rendered directly
    caveat = json.loads(render_json(with_caveat(sample())))
    assert next(a for a in caveat["apps"] if a["id"] == "fastapi-app-state")["caveat"] == \
        ["hypercorn"]
    assert "| ⚠ caveat |" in render_markdown(with_caveat(sample()))
    assert _controls(render_markdown(_evil())) == []


def test_no_colour_when_term_is_dumb(monkeypatch, tmp_path: Path) -> None:
    from asgi_matrix.report.show import terminal

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert terminal(Tty(), None)[0] is True  # type: ignore[arg-type]
    monkeypatch.setenv("TERM", "dumb")
    assert terminal(Tty(), None)[0] is False  # type: ignore[arg-type]
    monkeypatch.delenv("TERM")
    monkeypatch.setenv("NO_COLOR", "1")
    assert terminal(Tty(), None)[0] is False  # type: ignore[arg-type]
