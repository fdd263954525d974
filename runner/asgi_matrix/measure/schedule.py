"""The order configurations are measured in, and how many at once.

Longest first: the run ends when its last configuration does, so the long ones (several
workers or loop threads, many app patterns) start first and the short ones fill the gaps
at the end. A configuration's length is what the previous run in the same folder
recorded for it (``seconds`` of its cell, when it was measured then and not taken from
the cache), else an estimate from the catalogue.

``--jobs auto``: as many configurations at once as the CPU has room for. A configuration
keeps about half a core busy while it is measured (the default run took 439 s of CPU for
492 s of wall time at two at once: 0.45 core each); the cores the load average leaves
free, divided by that, bounded by 1 and by ``AUTO_CAP``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from asgi_matrix.catalogue.load import ServerConfig

CPU_PER_JOB = 0.5  #: cores one configuration keeps busy while measured (see above)
AUTO_CAP = 8  #: at most this many at once, however idle the machine
BASE_S = 20.0  #: one single-worker configuration with its patterns (uvicorn: 19.4 s)
PER_EXTRA_LOOP_S = 12.0  #: each further worker process or loop thread (multi-loop: 47-68 s)
PER_PATTERN_S = 0.5  #: each app pattern start
HARNESS_S = 8.0  #: a harness drives itself: three short starts, no patterns


def estimate_s(config: ServerConfig, patterns: int = 0) -> float:
    """Seconds ``config`` is expected to take, from its catalogue entry alone."""
    if config.kind == "harness":
        return HARNESS_S
    loops = max(1, config.workers) * max(1, config.threads)
    return BASE_S + PER_EXTRA_LOOP_S * (loops - 1) + PER_PATTERN_S * patterns


def previous_durations(results: Path) -> dict[str, float]:
    """The seconds each configuration took in the run that wrote ``results`` (the ones it
    measured; cached, not-run and unreadable cells say nothing), {} if there is none."""
    try:
        document = json.loads(results.read_text())
        cells = document["configurations"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    if not isinstance(cells, dict):
        return {}
    out: dict[str, float] = {}
    for config_id, cell in cells.items():
        if not isinstance(cell, dict) or cell.get("cached") or cell.get("status") == "not-run":
            continue
        seconds = cell.get("seconds")
        if isinstance(seconds, (int, float)) and seconds > 0:
            out[str(config_id)] = float(seconds)
    return out


def longest_first(configs: Sequence[ServerConfig], previous: Mapping[str, float],
                  patterns: int = 0) -> list[ServerConfig]:
    """``configs`` by expected length, longest first; ties keep the catalogue's order."""
    def length(config: ServerConfig) -> float:
        known = previous.get(config.id)
        return known if known is not None else estimate_s(
            config, 0 if config.release else patterns)

    return sorted(configs, key=length, reverse=True)  # sorted() is stable


def order(configs: Sequence[ServerConfig], previous: Mapping[str, float], patterns: int,
          jobs: int) -> list[ServerConfig]:
    """The order to start ``configs`` in: longest first where several run at once; one
    at a time, the order given (the total is the same, and a user, or a test, who names
    configurations in an order gets that order)."""
    return longest_first(configs, previous, patterns) if jobs > 1 else list(configs)


def load_now() -> float:
    """The load average of the last minute (0.0 where the system has none)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def auto_jobs(cpus: int | None = None, load: float | None = None,
              cap: int = AUTO_CAP) -> int:
    """How many configurations at once the CPU has room for now (``--jobs auto``)."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    load = load if load is not None else load_now()
    free = max(0.0, cpus - load)
    return max(1, min(cap, math.floor(free / CPU_PER_JOB)))
