"""The harness never lies, never hangs and never loses a result: fault injection.

Fault controls are servers of our own that misbehave on purpose; each must become an
error cell with a clear reason and its log tail, in bounded time, while the rest of
the run is kept.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.exceptions import ResultsError
from asgi_matrix.measure.backends import leftovers as _leftovers
from asgi_matrix.results import document as _results
from asgi_matrix.verdicts import PROPERTIES
from helpers import cli, cmdline, no_processes_tagged, processes_tagged, wait_for

# at least the inner timeouts (two 300 s runs one after the other in a test; the fault
# run's 600 s)
pytestmark = [pytest.mark.servers, pytest.mark.timeout(660)]

FAULTS = {
    "fault-never-ready": "did not answer within",
    "fault-exit-before-bind": "exited before it answered",
    "fault-crash-after-first": "had already exited (status 1) before the stop signal",
    "fault-ignore-sigterm": "ignored SIGTERM",
    "fault-garbage-observations": "not probe records",
}
LOG_TAILS = {
    "fault-never-ready": "never listening",
    "fault-exit-before-bind": "exiting before binding",
    "fault-crash-after-first": "crashing after the first request",
    "fault-ignore-sigterm": "ignoring it",
    "fault-garbage-observations": "wrote garbage",
}


#: Room for a real server to answer on a loaded 2-core machine (control-multiloop beside
#: the faults; at 3 s it was not ready in time under a load of 25). Only fault-never-ready
#: waits it out, once (its other scenarios are not run).
READY_S = 30
#: fault-ignore-sigterm waits this out at every stop; control-multiloop exits well within
STOP_S = 2


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], float, str]:
    out = tmp_path_factory.mktemp("faults")
    tag = f"faults-{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    # the servers only: the app patterns (tested on their own) would add starts, not faults
    done = cli("run", *FAULTS, "control-multiloop", "--no-patterns", "--out", str(out),
               "--jobs", "3", "--ready-timeout", str(READY_S), "--stop-timeout", str(STOP_S),
               env={"ASGI_MATRIX_RUN": tag}, timeout=600)
    assert done.returncode == 0, done.stderr
    return _results.load(out), time.monotonic() - start, tag


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_an_error_cell_with_reason_and_log_tail(faulty_run, fault):
    document, _, _ = faulty_run
    config = document["configurations"][fault]
    shutdown = config["verdicts"]["shutdown.delivered.sigterm-main"]
    assert shutdown["status"] == "error"
    assert FAULTS[fault] in shutdown["explanation"]
    tails = json.dumps(config)
    assert LOG_TAILS[fault] in tails


def test_faults_cost_bounded_time_and_lose_nothing_else(faulty_run):
    document, seconds, tag = faulty_run
    # The waits end at the timeouts given, not by luck: never-ready's wait for an answer
    # took the ready timeout (the option took effect) and no more than a last poll after it
    ready = document["configurations"]["fault-never-ready"]["attempts"][-1]["scenarios"][
        "main"]["ready"]
    assert (ready["ok"], ready["exited"]) == (False, False), ready
    assert READY_S <= ready["seconds"] < READY_S + 15, ready
    # and the whole run is bounded, with room for a loaded 2-core machine: 92 s at a load
    # of 20; 255 s as one of ten niced flake-finder rounds beside a load of 32
    assert seconds < 480, seconds
    good = document["configurations"]["control-multiloop"]["verdicts"]
    # measured in full beside the faults: no cell of it the harness could not observe
    # (it fails lifespan.app-object-resources by design: it serves from several loops)
    assert {k: v["explanation"] for k, v in good.items() if v["status"] == "error"} == {}
    assert document["configurations"]["control-multiloop"]["status"] == "measured"
    assert no_processes_tagged(tag) == []


def test_an_uninstallable_requirement_is_an_error_cell_and_the_run_goes_on(tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text('[[config]]\nid = "no-such-server"\nserver = "nothing"\n'
                     'requires = ["asgi-matrix-no-such-package-exists==0.0.1"]\n'
                     'argv = ["{python}", "-m", "nothing", "--port", "{port}", "{app}"]\n')
    done = cli("run", "no-such-server", "control-nolifespan", "--catalogue", str(extra),
                       "--out", str(tmp_path / "out"),
                       env={"ASGI_MATRIX_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 0, done.stderr
    document = _results.load(tmp_path / "out")
    bad = document["configurations"]["no-such-server"]
    assert bad["status"] == "error"
    assert "asgi-matrix-no-such-package-exists" in bad["reason"]
    assert document["configurations"]["control-nolifespan"]["status"] == "measured"


def _never_ready_server(tag: str, runner: int) -> list[int]:
    """The server of fault-never-ready in the run tagged ``tag``, found by its argv."""
    return [pid for pid in processes_tagged(tag) if pid != runner
            and "never-ready" in cmdline(pid)
            and any(a.endswith("faulty_server.py") for a in cmdline(pid))]


def _on_record(partial: Path, config_id: str) -> bool:
    try:
        return config_id in _results.load(partial)["configurations"]
    except ResultsError:  # not written yet (a write is atomic: never half a document)
        return False


def _run_stopped_while_waiting(out: Path, tag: str, *more: str) -> subprocess.Popen[str]:
    """A run of control-nolifespan, then fault-never-ready (then ``more``), one at a time,
    in the order given (the schedule's estimates tie, and a tie keeps it; a changed order
    fails the waits below by name): once the first is on record, the second runs. Its
    server never listens and never exits by itself, and its ready timeout (600 s)
    outlasts the test, so while the test looks, only the runner could end it."""
    return subprocess.Popen(
        [sys.executable, "-m", "asgi_matrix", "run", "control-nolifespan", "fault-never-ready",
         *more, "--jobs", "1", "--no-patterns", "--ready-timeout", "600", "--out", str(out)],
        env={**os.environ, "ASGI_MATRIX_RUN": tag}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


#: Bounds for a run starved of CPU (a niced test beside a load of 30 on two cores took
#: 100 s for what takes 5 s idle), each well under the 600 s ready timeout a hang
#: would wait out
STARVED_S = 300


def _second_running(proc: subprocess.Popen[str], tag: str, partial: Path) -> int:
    """Wait (bounded) until the first configuration is on record and the second's server
    runs; its pid."""
    wait_for("control-nolifespan in the partial document",
             lambda: _on_record(partial, "control-nolifespan"), STARVED_S)
    [server] = wait_for("fault-never-ready's server",
                        lambda: _never_ready_server(tag, proc.pid), STARVED_S)
    assert proc.poll() is None, "the runner ended by itself"
    return server


@pytest.mark.timeout(1000)  # the bounded waits inside, added up
def test_interrupting_a_run_keeps_what_was_measured_and_stops_every_server(tmp_path):
    tag = f"interrupt-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    proc = _run_stopped_while_waiting(out, tag, "uvicorn")
    try:
        _second_running(proc, tag, out / "results.partial.json")
        proc.send_signal(signal.SIGINT)
        # it was waiting 600 s for a server that never answers: the SIGINT ends that
        _, stderr = proc.communicate(timeout=STARVED_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr.splitlines()[-1]
    assert not (out / "results.json").exists()  # only a finished run is "the last complete"
    document = _results.load(out)  # the folder: its partial document, as no complete one
    assert list(document["configurations"]) == ["control-nolifespan"]
    assert document["run"]["interrupted"] is True
    # the one interrupted and the one never started
    assert [n["id"] for n in document["run"]["not_run"]] == ["fault-never-ready", "uvicorn"]
    # what it printed agrees with what it kept: no "measured" line for a cell not kept
    for config_id in ("fault-never-ready", "uvicorn"):
        finished = [line for line in stderr.splitlines() if f"] {config_id}: " in line]
        assert all("not run (interrupted)" in line for line in finished), finished
    assert no_processes_tagged(tag) == []  # its server was stopped, not left running


@pytest.mark.timeout(1000)  # the bounded waits inside, added up
def test_a_killed_run_keeps_its_records_and_the_next_run_ends_its_servers(tmp_path):
    """SIGKILL cannot be caught: the runner's servers survive it. The partial document
    keeps what was measured; the next run ends those servers (found by the runner's
    mark) and keeps the killed run's document beside its own. The state looked at is
    made to hold, not hoped for (see _run_stopped_while_waiting)."""
    tag = f"killed-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    partial = out / "results.partial.json"
    proc = _run_stopped_while_waiting(out, tag)
    try:
        server = _second_running(proc, tag, partial)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert _never_ready_server(tag, proc.pid) == [server], (
        "a SIGKILL leaves the runner's server running")
    killed = _results.load(partial)
    assert killed["run"]["finished"] is None  # says it did not finish
    measured = set(killed["configurations"])
    assert measured == {"control-nolifespan"}
    left = processes_tagged(tag)  # the server (and any process it started), nothing else
    assert server in left

    # the next run with the same tag (a run with another tag, or none, leaves them alone)
    done = cli("run", "control-nolifespan", "--no-patterns", "--out", str(out),
               env={"ASGI_MATRIX_RUN": tag})
    assert done.returncode == 0, done.stderr
    assert f"ended {len(left)} leftover(s) of an earlier run that was killed" in done.stderr
    assert no_processes_tagged(tag) == []
    kept = _results.load(out / "results.interrupted.json")
    assert set(kept["configurations"]) == measured  # no record of the killed run lost
    assert _results.load(out)["run"]["finished"] is not None
    assert not partial.exists()


@pytest.mark.parametrize(("own", "marked", "ends"), [
    pytest.param("", "", True, id="untagged-ends-untagged"),
    pytest.param("t1", "t1", True, id="tagged-ends-same-tag"),
    pytest.param("t1", "t2", False, id="tagged-spares-other-tag"),
    pytest.param("t1", "", False, id="tagged-spares-untagged"),
    pytest.param("", "t1", False, id="untagged-spares-tagged"),
])
def test_a_run_ends_only_leftovers_of_its_own_tag(monkeypatch, own, marked, ends):
    """Runs side by side (a test suite beside a user's matrix) never end each other's
    servers: a killed run's leftovers are ended by a run with the same ASGI_MATRIX_RUN."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # a runner that is gone: its pid names no live process with its start
    monkeypatch.delenv("ASGI_MATRIX_RUN", raising=False)
    if own:
        monkeypatch.setenv("ASGI_MATRIX_RUN", own)
    assert _leftovers.is_leftover(f"{gone.pid}:1", marked) is ends
    # a live runner's servers: never (the mark is read as earlier versions read it)
    assert _leftovers.is_leftover(_leftovers.runner_mark(), marked) is False


def test_two_runs_at_once_do_not_collide(tmp_path):
    cache = str(tmp_path / "cache")  # both must create the same environment at once
    procs = [subprocess.Popen(
        [sys.executable, "-m", "asgi_matrix", "run", "control-multiloop", "--out",
         str(tmp_path / f"out{i}")], env={**os.environ, "ASGI_MATRIX_CACHE": cache},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
    for i in range(2):
        got = _results.load(tmp_path / f"out{i}")["configurations"]["control-multiloop"]
        assert got["status"] == "measured"
        assert "error" not in {v["status"] for v in got["verdicts"].values()}


def test_repeat_records_every_attempt(tmp_path):
    done = cli("run", "control-broken", "--repeat", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    config = _results.load(tmp_path)["configurations"]["control-broken"]
    assert len(config["attempts"]) == 2
    assert set(config["verdicts"]) == {p.id for p in PROPERTIES}


@pytest.mark.parametrize(("args", "message"), [
    pytest.param(["run", "nope"], "unknown configuration 'nope'; known: uvicorn", id="unknown-id"),
    pytest.param(["run", "--server", "nope"], "unknown server 'nope'", id="unknown-server"),
    pytest.param(["run", "uvicorn", "--out", "/proc/asgi-matrix"], "cannot write results",
                 id="unwritable-out"),
    pytest.param(["run", "--shard", "5/3"], "I must be between 1 and N", id="bad-shard"),
    pytest.param(["show", "/nonexistent/results.json"], "no such results file", id="no-results"),
    pytest.param(["images", "--config", "uvicorn", "--runner-wheels", "/proc/asgi-matrix-wheels"],
                 "--runner-wheels /proc/asgi-matrix-wheels: ", id="runner-wheels"),
])
def test_bad_input_is_one_line_and_a_nonzero_exit(args, message):
    done = cli(*args, timeout=60)
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_catalogue_that_is_not_utf8_is_named_in_one_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes("# Serveur\n# caf\u00e9\n".encode("latin-1"))
    done = cli("list", "--catalogue", str(path), timeout=60)
    assert done.returncode == 2
    assert done.stderr == (f"asgi-matrix: {path}:2: not UTF-8 text (byte 0xe9); "
                           "TOML files are UTF-8\n")


@pytest.mark.parametrize(("content", "message"), [
    pytest.param("[[config]]\nid = 'x'\nserver = 'x'\nargv = ['{python}']\n", "has no {port}",
                 id="no-port"),
    pytest.param("[[config]]\nid = 'x'\ncolour = 1\n", "unknown key 'colour'", id="unknown-key"),
    pytest.param("[[config]\n", "not valid TOML", id="syntax"),
    pytest.param("[[config]]\nid = 'x'\nserver = 'x'\nargv = ['{python}', '{}', '{port}']\n",
                 "argv item '{}' has a brace that is not a placeholder", id="empty-braces"),
    pytest.param("[[config]]\nid = 'x'\nserver = 'x'\n"
                 "argv = ['{python.__class__}', '{port}']\n",
                 "argv item '{python.__class__}' has a brace", id="attribute-placeholder"),
    pytest.param("[[config]]\nid = 'x'\nserver = 'x'\nargv = ['{port}']\n"
                 "requires = ['--index-url=http://evil.example/']\n",
                 "starts with '-': an installer option", id="requirement-option"),
    pytest.param("[[config]]\nid = 'x'\nserver = 'x'\nargv = ['{port}']\n"
                 "requires = ['uvicorn >= = 1']\n",
                 "requires item 'uvicorn >= = 1' is not a requirement (PEP 508)",
                 id="requirement-syntax"),
])
def test_a_bad_catalogue_is_named_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    done = cli("list", "--catalogue", str(path), timeout=60)
    assert done.returncode == 2
    assert f"{path}:" in done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize(("content", "message"), [
    pytest.param('{"schema_version": 1, "suite"', "not JSON (truncated or corrupt?)",
                 id="truncated"),
    pytest.param('{"schema_version": 99}', "results schema version 99", id="wrong-version"),
    pytest.param('[1, 2]', "not an asgi-matrix results document", id="not-results"),
])
def test_files_that_are_not_results_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "results.json"
    path.write_text(content)
    done = cli("show", str(path), timeout=60)
    assert done.returncode == 1
    assert message in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr


def test_results_are_never_left_truncated(tmp_path, monkeypatch):
    """A write interrupted half-way (the disk fills up) leaves the previous document whole
    and no temporary file."""
    from asgi_matrix import files as _files

    path = tmp_path / "results.json"
    before = {"a": 1, "b": "x" * 100_000}
    _results.write_atomic(path, before)
    real_write, calls = os.write, []

    def half_then_fail(fd: int, data: bytes | memoryview) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))  # a short write
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(_files.os, "write", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        _results.write_atomic(path, {"a": 2, "b": "y" * 200_000})
    monkeypatch.undo()
    assert len(calls) == 2  # it really was interrupted part-way
    assert json.loads(path.read_text()) == before
    assert [p.name for p in Path(tmp_path).iterdir()] == ["results.json"]


def test_a_configuration_needing_an_absent_python_is_not_run_with_the_reason(tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text('[[config]]\nid = "needs-py99"\nserver = "uvicorn"\nrequires = []\n'
                     'python = ">=3.99"\n'
                     'argv = ["{python}", "-m", "uvicorn", "--port", "{port}", "{app}"]\n')
    done = cli("run", "needs-py99", "--catalogue", str(extra), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    config = _results.load(tmp_path)["configurations"]["needs-py99"]
    assert config["status"] == "not-run"
    assert "no Python interpreter matching '>=3.99'" in config["reason"]
    assert config["try"] == "asgi-matrix run --config needs-py99 --backend docker"
