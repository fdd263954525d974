"""The default matrix's wall time, next to the floor it cannot beat, measured in one run.

Floor: every server start the matrix needs, each as a bare server (start, first answer,
SIGTERM, exit; no traffic), plus the waits the properties inherently need (the slow
request in flight at each of the two stops), plus the grace periods a server forces by
not exiting (concluding "it did not exit" needs the whole period: read from the run's
observations), summed and divided by --jobs. Environments are made warm first (in a
process of their own, so the run checks them as a fresh `asgi-matrix run` does), so
neither side pays for installs. Target: the matrix within 1.3x that floor.

Then where the run's wall time went (bench/_breakdown.py: per configuration, per
scenario and start, per phase, as the runner timed them) and its CPU floor: the CPU
seconds of the runner and every process it started, / the cores (getrusage around the
run), beside the wall time; target: wall within 1.3x that floor too.

    python bench/bench_matrix.py [--jobs 2|auto] [--detail] [CONFIG ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _breakdown import breakdown, cpu_lines, cpu_seconds
from _floor import SLOW_S, bare_start_to_exit, forced_grace, inherent_waits
from asgi_matrix import (
    LIMITS,
    Catalogue,
    LocalBackend,
    NotRunnable,
    ServerConfig,
    auto_jobs,
    run_matrix,
    scenarios_for,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", default="2", help="a number, or auto (as `run --jobs`)")
    parser.add_argument("--detail", action="store_true", help="every start on its own line")
    parser.add_argument("--warm-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args()
    configs = Catalogue.load().select(args.configs)
    backend = LocalBackend()
    if args.warm_only:  # the child of the warm step below: the runnable ids, as JSON
        print(json.dumps(_warm(backend, configs)))
        return 0

    t0 = time.monotonic()
    warm = subprocess.run([sys.executable, __file__, "--warm-only", *args.configs],
                          stdout=subprocess.PIPE, text=True, check=True)
    runnable = set(json.loads(warm.stdout.splitlines()[-1]))
    configs = [c for c in configs if c.id in runnable]
    print(f"warm environments for {len(configs)} configurations: {time.monotonic() - t0:.1f} s")
    jobs = auto_jobs() if args.jobs == "auto" else int(args.jobs)
    load = os.getloadavg()[0]

    # the run first, in a process that has checked no environment yet (as a CLI run)
    with tempfile.TemporaryDirectory() as out:
        own0, children0 = cpu_seconds()
        t0 = time.monotonic()
        _, document = run_matrix(configs, backend, Path(out), jobs=jobs)
        wall = time.monotonic() - t0
        own1, children1 = cpu_seconds()
    cells = document["configurations"]

    prepared = {c.id: backend.prepare(c) for c in configs}
    floors: dict[str, tuple[int, float, float]] = {}
    for config in configs:
        p = prepared[config.id]
        floors[config.id] = (len(scenarios_for(p)), bare_start_to_exit(backend, p),
                             inherent_waits(p))
    bare_floor = sum(n * bare + waits for n, bare, waits in floors.values()) / jobs
    errors = [c for c, v in cells.items() if v["status"] == "error"]
    grace = {c: forced_grace(cells[c], LIMITS.stop_s, LIMITS.startup_fail_s) for c in floors}
    floor = bare_floor + sum(grace.values()) / jobs

    print(f"\n{'configuration':28} {'starts':>6} {'bare start→exit':>16} {'inherent waits':>15}"
          f" {'forced grace':>13} {'its floor':>10} {'measured':>9}")
    for config_id, (starts, bare, waits) in floors.items():
        print(f"{config_id:28} {starts:>6} {bare:>15.3f}s {waits:>14.1f}s "
              f"{grace[config_id]:>12.1f}s {starts * bare + waits + grace[config_id]:>9.2f}s "
              f"{cells[config_id]['seconds']:>8.2f}s")

    # The lifecycle edges (issue #17): what their scenarios added, beside their floor share:
    # a start each, plus the slow request in flight at the open stop.
    edges = ("open-stop", "startup-hang", "recycle")
    added = sum(s.get("wall_s", 0.0) for c in cells.values() for a in c.get("attempts", [])
                for name, s in a["scenarios"].items() if name in edges) / jobs
    edge_floor = sum(bare + (SLOW_S if name == "open-stop" else 0.0)
                     for cid, (_, bare, _) in floors.items()
                     for name in scenarios_for(prepared[cid]) if name in edges) / jobs
    print(f"\nlifecycle scenarios ({', '.join(edges)}): {added:8.1f} s of the wall time "
          f"(/ {jobs}) beside their floor share {edge_floor:.1f} s; the rest is servers "
          "that hang on an open stream or a hung startup until killed, and recycle traffic")

    ratio = wall / floor
    print(f"\nmatrix wall time (--jobs {jobs}, warm): {wall:8.1f} s")
    print(f"floor without forced grace (starts × bare + inherent waits, / {jobs}): "
          f"{bare_floor:8.1f} s")
    print(f"floor (+ grace periods servers forced by not exiting, / {jobs}): {floor:8.1f} s")
    print(f"ratio: {ratio:.2f}×  (target ≤ 1.3×: {'met' if ratio <= 1.3 else 'NOT met'})")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start, "
          f"Python {sys.version.split()[0]}; error cells: {', '.join(errors) or 'none'}")

    print("\nwhere the wall time went (seconds; per configuration its own wall, the phases "
          "of its starts summed; pattern starts run beside them):")
    print("\n".join(breakdown(document, args.detail)))
    print()
    print("\n".join(cpu_lines(wall, own1 - own0, children1 - children0)))
    return 0


def _warm(backend: LocalBackend, configs: list[ServerConfig]) -> list[str]:
    """Make every environment; the ids that can run here."""
    runnable = []
    for config in configs:
        try:
            backend.prepare(config)
            runnable.append(config.id)
        except NotRunnable as err:  # "not run" in the matrix too: it costs nothing there
            print(f"not run here, left out of both sides: {config.id}: {err}", file=sys.stderr)
    return runnable


if __name__ == "__main__":
    sys.exit(main())
