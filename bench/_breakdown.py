"""Where a run's wall time and CPU went, from what the run recorded and what the OS counted.

Wall time, per configuration: the runner's own timings of the cell (``timings``: the
environment check, with the pattern starts' own checks of their frameworks'
environments; the scenarios' starts in turn, pattern starts still running after them,
judging). Per scenario start: its ``wall_s``, split by the waits its record
times: until ready (interpreter start, imports, bind, first answer), the stop (signal
to exit or kill), the bounded observations (a failed startup watched, the signals a
hung startup got, a harness driving itself), and the rest (spawning, traffic, reading
the observations). Pattern starts run beside the scenarios: their seconds overlap them.

CPU: ``getrusage`` of the runner's process (every thread) plus its reaped children
(server processes, their workers once the server reaped them, uv, interpreters), taken
around the run: what the run made the machine compute. Processes orphaned and reaped by
init, and docker containers, are not counted. Its floor: that CPU / the cores.

    python bench/_breakdown.py out/results.json [--detail]   # a recorded run's wall time
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from asgi_matrix import load_results

PHASES = ("ready", "stop", "observe", "other")


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds so far: this process (all threads), and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def start_phases(name: str, record: dict[str, Any]) -> dict[str, float]:
    """One start's wall time by what it waited for (``PHASES``), from its record."""
    wall = float(record.get("wall_s") or record.get("seconds") or 0.0)
    ready = float((record.get("ready") or {}).get("seconds") or 0.0) \
        if isinstance(record.get("ready"), dict) else 0.0
    stop = float((record.get("stop") or {}).get("seconds") or 0.0)
    if name == "startup-hang":  # each signal's wait for the startup to end
        observe = sum(float(s.get("seconds") or 0.0) for s in record.get("signals") or [])
    elif name == "startup-fail" or "client" in record:  # watched to its bound; a harness
        observe = float(record.get("seconds") or 0.0)
    else:
        observe = 0.0
    return {"ready": ready, "stop": stop, "observe": observe,
            "other": max(0.0, wall - ready - stop - observe)}


def breakdown(document: dict[str, Any], detail: bool = False) -> list[str]:
    """The lines of the wall-time breakdown of ``document``."""
    cells = {k: v for k, v in document["configurations"].items() if v.get("attempts")}
    lines = [f"{'configuration':28} {'wall':>7} {'env':>6} {'starts':>6} {'ready':>7} "
             f"{'stop':>7} {'observe':>7} {'other':>7} {'patterns':>14} {'after':>6} "
             f"{'judge':>6}"]
    per_scenario: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    detail_lines: list[str] = []
    for config_id, cell in cells.items():
        sums: dict[str, float] = defaultdict(float)
        starts = 0
        for attempt in cell["attempts"]:
            for name, record in attempt["scenarios"].items():
                if "wall_s" not in record:  # not started (interrupted, never ready)
                    continue
                starts += 1
                phases = start_phases(name, record)
                per_scenario[name]["starts"] += 1
                per_scenario[name]["wall"] += float(record["wall_s"])
                for phase, seconds in phases.items():
                    sums[phase] += seconds
                    per_scenario[name][phase] += seconds
                if detail:
                    detail_lines.append(
                        f"  {config_id:26} {name:16} {float(record['wall_s']):7.2f} s: "
                        + ", ".join(f"{p} {s:.2f}" for p, s in phases.items()))
        pattern_starts = _pattern_starts(cell)
        for name, record in pattern_starts:
            per_scenario["pattern start"]["starts"] += 1
            per_scenario["pattern start"]["wall"] += float(record.get("seconds") or 0.0)
            for phase, seconds in start_phases(name, record).items():
                per_scenario["pattern start"][phase] += seconds
            if detail:
                detail_lines.append(f"  {config_id:26} {'pattern ' + name:16} "
                                    f"{float(record.get('seconds') or 0.0):7.2f} s (beside)")
        timings = cell.get("timings") or {}
        patterns_s = sum(float(r.get("seconds") or 0.0) for _, r in pattern_starts)
        env_s = float(timings.get("prepare_s") or 0.0) + sum(
            float(r.get("prepare_s") or 0.0) for _, r in pattern_starts)
        lines.append(
            f"{config_id:28} {float(cell.get('seconds') or 0):6.1f}s "
            f"{(f'{env_s:5.2f}s' if 'prepare_s' in timings else '-'):>6} {starts:>6} "
            + " ".join(f"{sums[p]:6.1f}s" for p in PHASES)
            + f" {len(pattern_starts):>3} × {patterns_s:6.1f}s "
            f"{_opt(timings, 'patterns_after_s'):>6} {_opt(timings, 'judge_s'):>6}")
    lines.append("")
    lines.append(f"{'per scenario (all configurations)':34} {'starts':>6} {'wall':>8} "
                 + " ".join(f"{p:>8}" for p in PHASES))
    for name, sums in sorted(per_scenario.items(), key=lambda kv: -kv[1]["wall"]):
        lines.append(f"{name:34} {int(sums['starts']):>6} {sums['wall']:7.1f}s "
                     + " ".join(f"{sums[p]:7.1f}s" for p in PHASES))
    return lines + (["", *detail_lines] if detail_lines else [])


def _opt(timings: dict[str, Any], key: str) -> str:
    """A timing the runner recorded, or "-" (a document from before it recorded them)."""
    return f"{float(timings[key]):5.2f}s" if key in timings else "-"


def _pattern_starts(cell: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every pattern start of a cell with its record (the shapes the runner writes)."""
    starts = cell.get("pattern_starts") or {}
    items = starts.items() if isinstance(starts, dict) else enumerate(starts)
    return [(str(name), record) for name, record in items
            if isinstance(record, dict) and "seconds" in record]


def cpu_lines(wall: float, own: float, children: float, cpus: int | None = None) -> list[str]:
    """The run's CPU, its floor on this machine's cores, beside its wall time."""
    cpus = cpus or os.cpu_count() or 1
    total = own + children
    floor = total / cpus
    return [f"CPU: {total:.1f} s = runner {own:.1f} s + reaped children {children:.1f} s "
            "(getrusage SELF + CHILDREN around the run; orphans reaped by init and docker "
            "containers not counted)",
            f"CPU floor: {total:.1f} s / {cpus} cores = {floor:.1f} s; wall {wall:.1f} s = "
            f"{wall / floor if floor else float('inf'):.2f}× its CPU floor (target ≤ 1.3×)"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path)
    parser.add_argument("--detail", action="store_true", help="every start on its own line")
    args = parser.parse_args()
    print("\n".join(breakdown(load_results(args.results), args.detail)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
