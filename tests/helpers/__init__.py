"""What several test modules share, in one place; test modules import from here, never
from one another.

    helpers                  the command line as a user runs it, processes by run tag,
                             waiting on an observation with a deadline, fakes of a
                             backend for the runner's own logic
    helpers.results_docs     results documents derived from the recorded run
    helpers.history_docs     ... with release cells and their history section
    helpers.site_docs        ... as the dashboard's tests need them
    helpers.observations     observation records for the verdicts' unit tests
    helpers.prerequisites    Docker and Chromium: skipped, or failed where CI requires them
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import NotRunnable
from asgi_matrix.results import document as _results

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def cli(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m asgi_matrix ARGS`` in a child process: exit code, stdout, stderr."""
    return subprocess.run([sys.executable, "-m", "asgi_matrix", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env={**os.environ, **(env or {})})


def tagged_run(out: Path, tag: str, *args: str) -> dict[str, Any]:
    """``asgi-matrix run ARGS --out OUT`` with its servers tagged ``tag`` (up to 900 s on
    a loaded machine): it must exit 0; the results document it wrote."""
    done = cli("run", *args, "--out", out, env={"ASGI_MATRIX_RUN": tag}, timeout=900)
    assert done.returncode == 0, done.stderr
    loaded: dict[str, Any] = _results.load(out / "results.json")
    return loaded


def assert_started_answered_stopped(cell: dict[str, Any], package: str,
                                    stop_timeout: float) -> None:
    """A smoke test of one measured cell: ready, answered, stopped (by itself or killed)
    in bounded time, with its command and the version of ``package`` on record."""
    assert cell["status"] == "measured", cell.get("reason")
    main = cell["attempts"][-1]["scenarios"]["main"]
    assert main["ready"]["ok"] is True
    assert cell["facts"]["requests_recorded"] >= 1
    assert main["stop"]["seconds"] <= stop_timeout + 10
    assert cell["command"]
    assert package in cell["versions"]


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The one ``asgi-matrix: ...`` line a failing command printed (no traceback)."""
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert lines, done
    assert lines[-1].startswith("asgi-matrix: "), done.stderr
    return lines[-1]


def processes_tagged(tag: str) -> list[int]:
    """Live processes whose environment carries ``ASGI_MATRIX_RUN=tag``: only servers a
    run with that tag started (read from /proc; others' processes are never touched)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if f"ASGI_MATRIX_RUN={tag}".encode() in Path(f"/proc/{entry}/environ").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


def cmdline(pid: int) -> list[str]:
    """A process's argv, read from /proc; [] once it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def wait_for(what: str, observed: Callable[[], T], seconds: float) -> T:
    """Poll ``observed`` until it returns something truthy, and return that; fail naming
    ``what`` and the last value seen once ``seconds`` have passed. Every wait of a test
    on something outside it (a process, a file, a server) goes through here."""
    deadline = time.monotonic() + seconds
    while not (seen := observed()):
        assert time.monotonic() < deadline, f"{what}: not seen within {seconds:g} s ({seen!r})"
        time.sleep(0.05)
    return seen


def no_processes_tagged(tag: str, seconds: float = 30) -> list[int]:
    """Wait until no process carries ``tag`` (a SIGKILLed process is gone only once the
    kernel has ended it: a moment after the signal); returns what is left at the end."""
    deadline = time.monotonic() + seconds
    while (left := processes_tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


# -- fakes of a backend, for the runner's own logic (never standing in for a server) -----

class NoBackend:
    """A backend for cells that must never reach it, or that it cannot run."""

    kind = "local"

    def __init__(self, not_runnable: str = "") -> None:
        self.not_runnable = not_runnable
        self.prepared: list[str] = []

    def prepare(self, config: ServerConfig) -> Any:
        self.prepared.append(config.id)
        if self.not_runnable:
            raise NotRunnable(self.not_runnable)
        raise AssertionError(f"{config.id} should have come from the cache")

    def start(self, *args: Any) -> Any:
        raise AssertionError("no server may start")

    def stop_all(self) -> None:
        pass

    def close(self) -> None:
        pass

    def end_leftovers(self) -> int:
        return 0


class FailingBackend(NoBackend):
    """A backend whose prepare raises ``error`` (or returns a stand-in when it is None)."""

    def __init__(self, error: Exception | None) -> None:
        super().__init__()
        self.error = error

    def prepare(self, config: ServerConfig) -> Any:
        self.prepared.append(config.id)
        if self.error is not None:
            raise self.error
        return "prepared"
