"""What a killed run leaves behind, found by the mark its runner put on it, and ended.

A run stops its servers itself when interrupted (SIGINT, SIGTERM); a SIGKILL or a
crash of the machine's session cannot be caught. So every server process (local
backend: its environment) and container, volume and network (docker backend: a label)
carries ``runner_mark()``: this runner's pid and start time. The next run ends what
carries the mark of a runner that is no longer alive, and nothing else.

A run tagged with ``ASGI_MATRIX_RUN`` (a caller that wants to find what the run started:
the project's tests) ends only the leftovers of runs with the same tag (the servers'
environment, the ``TAG_LABEL`` of docker objects); an untagged run ends only untagged
ones. So runs side by side on one machine (a test suite beside a user's matrix, two test
suites) never end each other's servers: which run ends a killed run's servers is never
down to timing. The mark itself stays ``<pid>:<start time>``, as earlier versions read
it: one of them running beside this one judges this one's runners alive.
"""

from __future__ import annotations

import os
import signal
from functools import cache
from pathlib import Path

#: the environment variable (local servers) and label (docker objects) with the mark
MARK = "ASGI_MATRIX_RUNNER"
LABEL = "asgi-matrix.runner"
#: the caller's tag of a run (see the module's docstring): the environment variable, and
#: the label docker objects carry it in; it scopes the leftovers a run ends
TAG = "ASGI_MATRIX_RUN"
TAG_LABEL = "asgi-matrix.tag"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: a pid is reused, this is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


@cache
def runner_mark() -> str:
    """``<pid>:<start time>`` of this process."""
    return f"{os.getpid()}:{_start_time(os.getpid()) or 0}"


def runner_alive(mark: str) -> bool:
    """Whether the runner that wrote ``mark`` still runs (on this machine)."""
    pid, _, started = mark.partition(":")
    if not pid.isdigit():
        return True  # not a mark of ours: never end what we cannot judge
    return _start_time(int(pid)) == started


def run_tag() -> str:
    """This run's tag ("" when untagged)."""
    return os.environ.get(TAG, "")


def is_leftover(mark: str, tag: str) -> bool:
    """Whether this run ends what carries ``mark`` and ``tag``: the runner is gone, and the
    tag is this run's (both may be "": untagged)."""
    return tag == run_tag() and not runner_alive(mark)


def local_leftovers() -> dict[int, str]:
    """Processes carrying the mark of a runner that is gone, with this run's tag:
    {pid: mark}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        variables = dict(item.decode(errors="replace").partition("=")[::2]
                         for item in environ.split(b"\0") if item)
        mark = variables.get(MARK)
        if mark is not None and is_leftover(mark, variables.get(TAG, "")):
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
