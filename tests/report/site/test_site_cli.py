"""``asgi-matrix site`` and ``asgi-matrix serve`` as a user runs them: one line per problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from asgi_matrix.report import site as _site
from helpers import REPO, cli
from helpers.site_docs import SAMPLE, sample


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return cli(*args, cwd=REPO, timeout=60)


def _one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 1, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("asgi-matrix: "), lines[0]
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_site_builds_from_a_results_file(tmp_path: Path) -> None:
    done = _cli("site", SAMPLE, "--out", tmp_path / "site")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "site" / "index.html")
    assert (tmp_path / "site" / "cells" / "daphne" / "lifespan.supported.html").is_file()
    assert json.loads((tmp_path / "site" / "data" / "results.json").read_text()) == sample()


def test_site_reads_a_results_folder(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(SAMPLE.read_text())
    assert _cli("site", tmp_path / "run", "--out", tmp_path / "site").returncode == 0


def test_missing_results_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    _one_line_error(_cli("site", missing, "--out", tmp_path / "site"), str(missing),
                    "no such results file")
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(("content", "fragment"), [
    ('{"schema_version": 1, "suite": ', "not JSON"),
    ("[1, 2]", "not an asgi-matrix results document"),
    ('{"schema_version": 1}', "not valid results"),
    ('{"schema_version": 99}', "schema version 99"),
])
def test_invalid_results_file(tmp_path: Path, content: str, fragment: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    _one_line_error(_cli("site", bad, "--out", tmp_path / "site"), fragment)


def test_out_folder_that_is_not_a_site(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    _one_line_error(_cli("site", SAMPLE, "--out", tmp_path), "not an asgi-matrix site")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_bad_base_url(tmp_path: Path) -> None:
    done = _cli("site", SAMPLE, "--out", tmp_path / "s", "--base-url", "example.org")
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "--base-url" in done.stderr


def test_serve_without_a_site(tmp_path: Path) -> None:
    _one_line_error(_cli("serve", tmp_path), "no site here")


def test_serve_previews_on_loopback(tmp_path: Path) -> None:
    _site.build(sample(), tmp_path / "site")
    proc = subprocess.Popen([sys.executable, "-m", "asgi_matrix", "serve", str(tmp_path / "site"),
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        with urllib.request.urlopen(url + "index.html", timeout=10) as response:
            assert b"<table class=\"matrix\"" in response.read()
        with urllib.request.urlopen(url + "badges/uvicorn.json", timeout=10) as response:
            verdicts = sample()["configurations"]["uvicorn"]["verdicts"].values()
            passed = sum(v["status"] == "pass" for v in verdicts)
            assert json.loads(response.read())["message"] == f"{passed}/{len(verdicts)} pass"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
