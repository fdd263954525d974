"""``asgi-matrix check`` on real servers: its answers agree with the matrix's pattern
cells.

One warm run per fixture, on uvicorn (one loop), granian-mt2 (a multi-threaded runtime)
and control-multiloop (three event loops in one process, a lifespan each, on one app
object): each of the project's framework apps built on asyncio (probes/frameworks/:
Starlette, FastAPI, Litestar, Quart, Django) checked with traffic to each of its pattern
paths, its answer compared with the worst of its patterns' cells, and a FastAPI app
written as users write one (tests/data/check_apps/fastapi_pool_taskgroup.py: a pool and
a task group kept on app.state). The matrix's cells for the same patterns are measured
live, on the same configurations, by the pattern axis itself (``measure_patterns``).
Agreement: a pattern
that works in the matrix works (with caveats at most) under check; one that breaks,
breaks, with the evidence (the pool's "bound to a different event loop").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue as _patterns
from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.measure.backends.protocol import get_backend
from asgi_matrix.measure.drive.pattern_starts import TAG_HEADER, measure_patterns
from asgi_matrix.measure.drive.scenarios import LIMITS as DEFAULT_LIMITS
from asgi_matrix.resources import PROBES_DIR

pytestmark = pytest.mark.servers

APPS = Path(__file__).resolve().parents[1] / "data" / "check_apps"
CONFIGS = ["uvicorn", "granian-mt2", "control-multiloop"]
#: the user-style app keeps a pool on app.state and a task group on the app object
USER_APP_PATTERNS = ["fastapi-app-state", "taskgroup-on-instance"]
#: a start of every framework app at once takes 20 s on this machine under load (its
#: imports); the default 20 s to the first answer is too tight for both sides here
READY_S = 90.0
LIMITS = replace(DEFAULT_LIMITS, ready_s=READY_S)


def check(*args: str, cwd: Path = APPS) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [sys.executable, "-m", "asgi_matrix", "check", *args, "--format", "json",
         "--ready-timeout", str(READY_S)],
        capture_output=True, text=True, timeout=600, cwd=cwd, env=dict(os.environ))
    try:
        doc = json.loads(done.stdout) if done.stdout.strip() else {}
    except ValueError:
        pytest.fail(f"not JSON on stdout: {done.stdout[:500]} / {done.stderr[-500:]}")
    return done.returncode, doc, done.stderr


def answers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["config"]: a for a in doc["answers"]}


def framework_apps() -> dict[str, list[Any]]:
    """Framework app (module:attr) -> its patterns, for the apps built on asyncio (every
    configuration here runs asyncio; quart-trio's cells there are n/a)."""
    out: dict[str, list[Any]] = {}
    for pattern in _patterns.load():
        if pattern.kind == "framework" and pattern.library != "trio":
            out.setdefault(pattern.app, []).append(pattern)
    return out


FRAMEWORK_APPS = framework_apps()


@pytest.fixture(scope="module")
def matrix_cells() -> dict[str, dict[str, dict[str, Any]]]:
    """config -> pattern -> the matrix's cell, measured now by the pattern axis."""
    every = {p.id: p for p in _patterns.load()}
    chosen = [*(p for group in FRAMEWORK_APPS.values() for p in group),
              *(every[i] for i in USER_APP_PATTERNS if every[i].raw)]
    backend = get_backend("local")
    catalogue = Catalogue.load()
    out = {}
    for config in CONFIGS:
        prepared = backend.prepare(catalogue.get(config))
        out[config] = measure_patterns(backend, prepared, chosen, LIMITS)
    return out


@pytest.fixture(scope="module")
def framework_checks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """framework app -> check's document for it, with traffic to each of its patterns'
    paths (a GET, and a POST with a JSON body)."""
    folder = tmp_path_factory.mktemp("framework")
    out = {}
    for app, patterns in FRAMEWORK_APPS.items():
        requirements = folder / f"{app.replace(':', '-')}.txt"
        requirements.write_text("\n".join(sorted({r for p in patterns for r in p.requires}))
                                + "\n")
        # The pattern apps check that a handler reads its own request's headers: each
        # request carries its tag in the query and in the kit's header (one tag for all
        # here; the matrix's own traffic tells them apart).
        traffic = [a for p in patterns for a in ("--get", f"{p.path}?tag=t", "--post",
                                                 f"{p.path}?tag=t", '{"a": 1}')]
        code, doc, stderr = check(app, "--app-dir", str(PROBES_DIR), "-r", str(requirements),
                                  *[a for c in CONFIGS for a in ("-c", c)], *traffic,
                                  "--header", f"{TAG_HEADER}: t")
        assert doc, stderr
        out[app] = {"code": code, "doc": doc}
    return out


@pytest.fixture(scope="module")
def user_check() -> tuple[int, dict[str, Any], str]:
    return check("fastapi_pool_taskgroup:app", "-r", "requirements.txt",
                 *[a for c in CONFIGS for a in ("-c", c)],
                 "--get", "/items", "--post", "/items", "@body.json")


def agrees(check_status: str, matrix_status: str) -> bool:
    return {"works": check_status in ("works", "caveats"),
            "breaks": check_status == "breaks"}.get(matrix_status, False)


def worst(cells: list[dict[str, Any]]) -> str:
    assert all(c["status"] in ("works", "breaks") for c in cells), cells  # comparable
    return "breaks" if any(c["status"] == "breaks" for c in cells) else "works"


def test_every_asyncio_framework_app_is_checked() -> None:
    modules = {app.split(":")[0] for app in FRAMEWORK_APPS}
    assert {"frameworks.fastapi_app", "frameworks.starlette_app", "frameworks.litestar_app",
            "frameworks.quart_app", "frameworks.django_app"} <= modules


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("app", sorted(FRAMEWORK_APPS))
def test_framework_app_answers_agree_with_its_pattern_cells(
        framework_checks: dict[str, dict[str, Any]],
        matrix_cells: dict[str, dict[str, dict[str, Any]]], app: str, config: str) -> None:
    cells = [matrix_cells[config][p.id] for p in FRAMEWORK_APPS[app]]
    answer = answers(framework_checks[app]["doc"])[config]
    assert agrees(answer["status"], worst(cells)), (answer, [c["explanation"] for c in cells])


def test_framework_app_state_breaks_on_several_loops_with_the_pools_error(
        framework_checks: dict[str, dict[str, Any]]) -> None:
    result = framework_checks["frameworks.fastapi_app:app"]
    answer = answers(result["doc"])["control-multiloop"]
    assert answer["status"] == "breaks"
    assert "bound to a different event loop" in answer["explanation"]
    assert result["code"] == 1  # a break fails the user's CI
    assert answers(result["doc"])["uvicorn"]["status"] in ("works", "caveats")


@pytest.mark.parametrize("config", CONFIGS)
def test_user_fastapi_app_gets_the_matrix_answer_for_its_pattern(
        user_check: tuple[int, dict[str, Any], str],
        matrix_cells: dict[str, dict[str, dict[str, Any]]], config: str) -> None:
    _, doc, _ = user_check
    answer = answers(doc)[config]
    cells = [matrix_cells[config][p] for p in USER_APP_PATTERNS]
    expected = worst(cells)
    assert agrees(answer["status"], expected), (answer, [c["explanation"] for c in cells])
    if expected == "breaks":  # the evidence: the pool's own error, where it happened
        assert "is bound to a different event loop" in answer["explanation"]
        assert "thread" in answer["explanation"]
        assert "loop" in answer["explanation"]
    else:
        facts = answer["facts"]
        assert facts["answered"] == {"200": facts["requests_sent"]}, facts
        assert facts["stop"]["killed"] is False


def test_user_check_records_the_lifespans_and_the_stop(
        user_check: tuple[int, dict[str, Any], str]) -> None:
    code, doc, stderr = user_check
    by = answers(doc)
    assert by["control-multiloop"]["facts"]["lifespans"] == 3  # one per event loop
    assert by["uvicorn"]["facts"]["lifespans"] == 1
    # The jobs requests handed to the task group: on one loop all finish before the
    # lifespan's task group closes; on three loops sharing app.state, jobs started from
    # the other loops in the last lifespan's task group do not (taskgroup-on-instance)
    uvicorn_tasks = by["uvicorn"]["facts"]["background_tasks"]
    assert set(uvicorn_tasks) == {"finished"}, uvicorn_tasks
    assert uvicorn_tasks["finished"] >= 12, uvicorn_tasks  # at least every POST's job
    multiloop_tasks = by["control-multiloop"]["facts"]["background_tasks"]
    assert set(multiloop_tasks) - {"finished"}, multiloop_tasks  # cancelled or never ended
    held = by["uvicorn"]["record"]["held"]
    assert held["status"] == 200, held
    assert held["done_after_signal_s"] > 0, held  # answered after the signal: drained
    assert code == 1
    assert "control-multiloop: breaks" in stderr


def test_bad_input_is_a_line_or_a_finding_never_a_traceback(tmp_path: Path) -> None:
    code, doc, stderr = check("does_not_import:app", "-c", "uvicorn", "--get", "/")
    assert code == 1
    assert answers(doc)["uvicorn"]["status"] == "breaks"
    assert ("asgi-matrix: does_not_import:app does not import: ModuleNotFoundError: No module "
            "named 'a_package_nobody_installed'") in stderr
    assert "Traceback" not in stderr

    code, doc, stderr = check("raw_no_lifespan:app", "-c", "uvicorn", "--get", "/ok",
                              "--get", "/missing")
    answer = answers(doc)["uvicorn"]
    assert (code, answer["status"]) == (0, "caveats"), answer
    assert "GET /missing answered 404 on 12 request(s)" in answer["explanation"]
    assert any(f["level"] == "note" and "has no lifespan" in f["text"]
               for f in answer["findings"]), answer["findings"]
    assert "Traceback" not in stderr

    for args, line in [
        (["not an app"], "asgi-matrix: 'not an app' is not an app reference"),
        (["raw_no_lifespan:app", "--post", "/x", "@nothing.json"],
         "asgi-matrix: --post /x @nothing.json: cannot read nothing.json"),
        (["raw_no_lifespan:app", "-c", "no-such-server"],
         "asgi-matrix: unknown configuration 'no-such-server'"),
        (["raw_no_lifespan:app", "-c", "starlette-testclient"],
         "asgi-matrix: --config starlette-testclient: a test-client harness"),
        (["raw_no_lifespan:app", "--get", "health"], "a path starts with /"),
    ]:
        code, doc, stderr = check(*args)
        assert code == 2, (args, stderr)
        assert line in stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
