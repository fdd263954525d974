"""Documents are checked when read for what their readers assume, and show/site say which
document they read: bad input is one line naming the file and the place in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.results import document as _results
from helpers.results_docs import sample


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "asgi_matrix", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ})


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document))  # ensure_ascii: a lone surrogate as \\udc80
    return path


def _loop_kinds(d: dict[str, Any]) -> None:
    d["configurations"]["uvicorn"]["facts"]["loop_kinds"] = ["asyncio", 3]


def _surrogate(d: dict[str, Any]) -> None:
    d["configurations"]["uvicorn"]["log_tail"] = "bytes \udc80 from a server"


def _timestamp(d: dict[str, Any]) -> None:
    d["run"]["started"] = "last tuesday"


def _measured_at(d: dict[str, Any]) -> None:
    d["configurations"]["uvicorn"]["measured_at"] = "2026-13-45"


@pytest.mark.parametrize(("command", "edit", "where"), [
    pytest.param("show", _loop_kinds, "configurations/uvicorn/facts/loop_kinds/1: 3 is not "
                 "of type 'string'", id="show-loop-kinds"),
    pytest.param("show", _surrogate, "configurations/uvicorn/log_tail: text with a lone "
                 "surrogate (not Unicode text)", id="show-surrogate"),
    pytest.param("site", _surrogate, "configurations/uvicorn/log_tail: text with a lone "
                 "surrogate (not Unicode text)", id="site-surrogate"),
    pytest.param("show", _timestamp, "run/started: 'last tuesday' is not an ISO 8601 time",
                 id="show-timestamp"),
    pytest.param("site", _measured_at, "configurations/uvicorn/measured_at: '2026-13-45' is "
                 "not an ISO 8601 time", id="site-measured-at"),
])
def test_a_document_readers_would_trip_on_is_one_line(tmp_path: Path, command: str,
                                                      edit: Any, where: str) -> None:
    document = sample()
    edit(document)
    path = _write(tmp_path / "bad.json", document)
    args = [command, str(path)] + (["--out", str(tmp_path / "site")] if command == "site" else [])
    done = cli(*args)
    assert done.returncode == 1
    assert done.stderr == f"asgi-matrix: {path}: not valid results at {where}\n"
    assert not (tmp_path / "site").exists()


def test_writing_a_lone_surrogate_keeps_the_rest_readable(tmp_path: Path) -> None:
    document = sample()
    _surrogate(document)
    path = tmp_path / "results.json"
    _results.write_atomic(path, document)
    back = _results.load(path)
    assert back["configurations"]["uvicorn"]["log_tail"] == "bytes \ufffd from a server"


def test_show_and_site_say_which_document_they_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    complete, partial = sample(), sample()
    partial["run"].update(id="partial00000", finished=None)
    _write(out / "results.json", complete)
    _write(out / "results.partial.json", partial)
    done = cli("show", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stderr == (f"reading {out}/results.json, the last complete run "
                           f"({out}/results.partial.json holds a run that did not finish): "
                           f"run {complete['run']['id']}, complete\n")
    (out / "results.json").unlink()
    done = cli("site", str(out), "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stderr
    assert (f"reading {out}/results.partial.json: a run that did not finish (no complete "
            "run here): run partial00000, did not finish") in done.stderr
