"""What a killed run leaves behind, found by the mark its runner put on it, and ended.

A run stops its servers itself when interrupted (SIGINT, SIGTERM); a SIGKILL or a
crash of the machine's session cannot be caught. So every server process (local
backend: its environment) and container, volume and network (docker backend: a label)
carries ``runner_mark()``: this runner's pid and start time. The next run ends what
carries the mark of a runner that is no longer alive, and nothing else.

A run tagged with ``ASGI_MATRIX_RUN`` (a caller that wants to find what the run started:
the project's tests) puts its tag in the mark, and ends only the leftovers of runs with
the same tag; an untagged run ends only untagged ones. So runs side by side on one
machine (a test suite beside a user's matrix, two test suites) never end each other's
servers: which run ends a killed run's servers is never down to timing.
"""

from __future__ import annotations

import os
import signal
from functools import cache
from pathlib import Path

#: the environment variable (local servers) and label (docker objects) with the mark
MARK = "ASGI_MATRIX_RUNNER"
LABEL = "asgi-matrix.runner"
#: the caller's tag of a run (see the module's docstring); it scopes the leftovers ended
TAG = "ASGI_MATRIX_RUN"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: a pid is reused, this is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@cache
def runner_mark() -> str:
    """``<pid>:<start time>`` of this process, then ``@<tag>`` when the run is tagged."""
    tag = os.environ.get(TAG, "")
    return f"{os.getpid()}:{_start_time(os.getpid()) or 0}" + (f"@{tag}" if tag else "")


def runner_alive(mark: str) -> bool:
    """Whether the runner that wrote ``mark`` still runs (on this machine)."""
    pid, _, started = mark.partition("@")[0].partition(":")
    if not pid.isdigit():
        return True  # not a mark of ours: never end what we cannot judge
    return _start_time(int(pid)) == started


def is_leftover(mark: str) -> bool:
    """Whether this run ends what carries ``mark``: a runner that is gone, with this run's
    tag (or, like this run, none)."""
    return (mark.partition("@")[2] == os.environ.get(TAG, "")
            and not runner_alive(mark))


def local_leftovers() -> dict[int, str]:
    """Processes carrying the mark of a runner that is gone, with this run's tag:
    {pid: mark}."""
    found = {}
    needle = f"{MARK}=".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(needle):
                mark = item[len(needle):].decode(errors="replace")
                if is_leftover(mark):
                    found[int(entry)] = mark
    return found


def end_local_leftovers() -> int:
    """Kill the process groups of leftover servers (each server leads a group of its own);
    returns how many processes were found."""
    found = local_leftovers()
    for pid in found:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
    return len(found)
