"""Proof from the outside: the built wheel, installed into a fresh virtualenv, works from a
folder that is not the checkout, as ``pipx install``/``uvx`` and the CI workflows use it.

One module-scoped install: the wheel is built from a copy of the checkout's files (so
the build leaves nothing in the checkout), installed with uv into a new virtualenv, and
every command then runs with that virtualenv's ``asgi-matrix`` and ``python`` in a
temporary folder, with no path leading back to the checkout. The workflows' own shell
steps are read from their YAML and run as written after their ``pip install``; the one
change is the shard job's ``run --backend docker [--history]`` of the whole matrix,
replayed on the local backend with one control and without ``--history`` (the whole
docker matrix and every release set take far longer than a test may; the docker
backend's files are checked to be in the wheel instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO

pytestmark = [pytest.mark.wheel, pytest.mark.servers]

UV = Path(sys.executable).parent / "uv"
CONTROLS = ["control-multiloop", "control-broken"]
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "out", "build", "dist", "wheels", "*.egg-info",
                                  "__pycache__", ".*_cache", "artifacts")


class Installed:
    """The installed wheel, and a folder outside the checkout to run it in."""

    def __init__(self, root: Path, venv: Path, work: Path) -> None:
        self.root, self.venv, self.work = root, venv, work
        bin_dir = venv / "bin"
        # Only the new virtualenv and the system's tools on PATH; nothing of the checkout.
        self.env = {**{k: v for k, v in os.environ.items()
                       if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")},
                    "PATH": f"{bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
                    "VIRTUAL_ENV": str(venv), "UV_PYTHON_DOWNLOADS": "never"}

    def run(self, *argv: str | Path, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(a) for a in argv], cwd=self.work, capture_output=True,
                              text=True, timeout=timeout, env={**self.env, **(env or {})})
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def ok(self, *argv: str | Path, env: dict[str, str] | None = None,
           timeout: float = 120) -> str:
        done = self.run(*argv, env=env, timeout=timeout)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
        return done.stdout

    def bash(self, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """A workflow step's ``run:`` script, as GitHub runs it (bash -e)."""
        return self.run("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script,
                        env=env, timeout=300)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if not UV.exists():
        pytest.skip(f"uv is not installed next to {sys.executable}")
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=LEFT_OUT)
    uv_env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    built = subprocess.run([str(UV), "build", "--wheel", "--out-dir", str(root / "dist"),
                            str(source)], capture_output=True, text=True, timeout=300,
                           env=uv_env)
    assert built.returncode == 0, built.stderr
    [wheel] = (root / "dist").glob("asgi_matrix-*.whl")
    venv = root / "venv"
    for argv in ([str(UV), "venv", "-q", "--python", sys.executable, str(venv)],
                 [str(UV), "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
                  str(wheel)]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=uv_env)
        assert done.returncode == 0, done.stderr
    shutil.rmtree(source)  # nothing of the checkout's copy may be what makes it work
    work = root / "work"
    work.mkdir()
    return Installed(root, venv, work)


@pytest.fixture(scope="module")
def results(installed: Installed) -> Path:
    """One run of the two controls with the installed command."""
    installed.ok("asgi-matrix", "run", *CONTROLS, "--out", "out", "--jobs", "2", timeout=300)
    return installed.work / "out" / "results.json"


def test_the_package_is_imported_from_the_virtualenv_not_the_checkout(installed: Installed
                                                                     ) -> None:
    code = ("import asgi_matrix, asgi_matrix.resources as r; print(asgi_matrix.__file__); "
            "print(all(p.is_file() for p in [r.PROBE_FILE, r.DOCKERFILE, r.MATRIX_DOCKERFILE, "
            "r.BUILD_BASE, r.CATALOGUE_FILE, r.RESULTS_SCHEMA, r.CONTROLS_DIR / "
            "'reference_server.py', r.DASHBOARD_DIR / 'templates' / 'index.html']))")
    where, files = installed.ok("python", "-c", code).split()
    assert Path(where).is_relative_to(installed.venv), where
    assert not Path(where).is_relative_to(REPO)
    assert files == "True"


def test_the_wheel_carries_every_file_the_commands_read(installed: Installed) -> None:
    [wheel] = (installed.root / "dist").glob("asgi_matrix-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {"runner/asgi_matrix": "asgi_matrix", "probes": "asgi_matrix/probes",
               "dashboard": "asgi_matrix/dashboard"}
    missing = []
    for folder, package in shipped.items():
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                inside = f"{package}/{path.relative_to(REPO / folder).as_posix()}"
                if inside not in names:
                    missing.append(inside)
    assert missing == []


def test_list(installed: Installed) -> None:
    listed = installed.ok("asgi-matrix", "list")
    assert all(f" {c} " in listed for c in CONTROLS)


def test_run_show_site_merge_diff(installed: Installed, results: Path) -> None:
    document = json.loads(results.read_text())
    cells = document["configurations"]
    assert sorted(cells) == sorted(CONTROLS)
    assert cells["control-multiloop"]["status"] == "measured", cells["control-multiloop"]
    # The probe and the controls came from the installed package, not from a checkout.
    assert str(installed.venv) in " ".join(cells["control-multiloop"]["command"])
    assert "control-multiloop" in installed.ok("asgi-matrix", "show", results)
    installed.ok("asgi-matrix", "site", results, "--out", "site")
    assert (installed.work / "site" / "index.html").is_file()
    installed.ok("asgi-matrix", "merge", results, "--out", "merged.json")
    assert "no changes" in installed.ok("asgi-matrix", "diff", results, "merged.json")


def test_compose(installed: Installed) -> None:
    installed.ok("asgi-matrix", "compose", "--out", "docker-compose.yml")
    text = (installed.work / "docker-compose.yml").read_text()
    assert "probes/Dockerfile" in text
    assert "\n  matrix:\n" in text


def _steps(workflow: Path, job: str | None = None) -> list[dict[str, Any]]:
    yaml = pytest.importorskip("ruamel.yaml", reason="ruamel.yaml (from check-jsonschema)")
    data = yaml.YAML(typ="safe").load(workflow.read_text())
    steps: list[dict[str, Any]] = (data["runs"]["steps"] if job is None
                                   else data["jobs"][job]["steps"])
    installs = [i for i, s in enumerate(steps) if "pip install" in s.get("run", "")]
    assert len(installs) == 1, f"{workflow.name}: one install step"
    return steps[installs[0] + 1:]


def _named(steps: list[dict[str, Any]], name: str) -> str:
    [script] = [s["run"] for s in steps if s.get("name") == name]
    return str(script)


def test_the_matrix_workflow_after_its_install(installed: Installed, results: Path) -> None:
    workflow = REPO / ".github" / "workflows" / "matrix.yml"
    summary = installed.work / "summary.md"
    github = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(summary) + ".out",
              "KEEP_RUNS": "30"}
    # shard job: the whole matrix on docker, replayed on the local backend with the controls
    measure = _named(_steps(workflow, "shard"), "Measure")
    assert measure.startswith("asgi-matrix run --backend docker ")
    assert '--shard "$SHARD/$TOTAL"' in measure
    assert "--out out" in measure
    replay = (measure.replace("--backend docker", "--backend local")
              .replace(" --history", "")  # every release set: PyPI and dozens of releases
              .replace("--out out", "--out shards/results-shard-1 " + CONTROLS[0]))
    done = installed.bash(replay, {**github, "SHARD": "1", "TOTAL": "1"})
    assert done.returncode == 0, done.stderr
    # publish job: every step after the install that runs here (no network, no Pages)
    publish = _steps(workflow, "publish")
    done = installed.bash(_named(publish, "Merge the shards"), github)
    assert done.returncode == 0, done.stderr
    merged = json.loads((installed.work / "merged.json").read_text())
    assert list(merged["configurations"]) == CONTROLS[:1]
    shutil.copy(results, installed.work / "previous.json")
    done = installed.bash(_named(publish, "Diff against the last published run"),
                          {**github, "PREVIOUS": "previous.json"})
    assert done.returncode == 0, done.stderr
    assert "could not be compared" not in summary.read_text()
    scripts = installed.work / ".github" / "scripts"
    scripts.mkdir(parents=True)
    shutil.copy(REPO / ".github" / "scripts" / "pages.py", scripts)
    (installed.work / "published").mkdir()
    done = installed.bash(_named(publish, "Build the site"),
                          {**github, "PAGES_URL": "https://example.org/asgi-matrix"})
    assert done.returncode == 0, done.stderr
    assert (installed.work / "public" / "latest" / "index.html").is_file()


def test_the_composite_action_after_its_install(installed: Installed) -> None:
    action = REPO / ".github" / "actions" / "asgi-matrix"
    steps = _steps(action / "action.yml")
    output = installed.work / "action-output"
    github = {"GITHUB_ACTION_PATH": str(action), "GITHUB_OUTPUT": str(output),
              "GITHUB_STEP_SUMMARY": str(installed.work / "action-summary.md"),
              "RUNNER_TEMP": str(installed.work)}
    output.write_text("")
    done = installed.bash(_named(steps, "Catalogue the branch's configurations"),
                          {**github, "SERVER": "anyio>=4", "CONFIGS": "control-multiloop"})
    assert done.returncode == 0, done.stderr
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert outputs["ids"].split() == ["control-multiloop+branch"]
    done = installed.bash(_named(steps, "Measure"),
                          {**github, "CATALOGUE": outputs["catalogue"], "IDS": outputs["ids"],
                           "BACKEND": "local", "OUT": "action-out", "STRICT": "true",
                           "PATTERNS": "none"})
    assert done.returncode == 0, done.stderr
    results = installed.work / "action-out" / "results.json"
    cell = json.loads(results.read_text())["configurations"]["control-multiloop+branch"]
    assert cell["status"] == "measured", cell.get("reason")
    done = installed.bash(_named(steps, "Summary"), {**github, "RESULTS": str(results)})
    assert done.returncode == 0, done.stderr
    summary = (installed.work / "action-summary.md").read_text()
    assert "| control-multiloop+branch | measured |" in summary  # show --format markdown
    assert "patterns" not in json.loads(results.read_text())["configurations"][
        "control-multiloop+branch"]  # PATTERNS=none: --no-patterns
