"""The default matrix's wall time, next to the floor it cannot beat, measured in one run.

Floor: every server start the matrix needs, each as a bare server (start, first answer,
SIGTERM, exit; no traffic), plus the waits the properties inherently need (the slow
request in flight at each of the two stops), plus the grace periods a server forces by
not exiting (concluding "it did not exit" needs the whole period: read from the run's
observations), summed and divided by --jobs. Environments are made warm first, so neither
side pays for installs. Target: the matrix within 1.3x that floor.

    python bench/bench_matrix.py [--jobs 2] [CONFIG ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from _floor import SLOW_S, bare_start_to_exit, forced_grace, inherent_waits
from asgi_matrix import LIMITS, Catalogue, LocalBackend, NotRunnable, run_matrix, scenarios_for


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args()
    configs = Catalogue.load().select(args.configs)
    backend = LocalBackend()

    t0 = time.monotonic()
    prepared = {}
    for config in configs:
        try:
            prepared[config.id] = backend.prepare(config)
        except NotRunnable as err:  # "not run" in the matrix too: it costs nothing there
            print(f"not run here, left out of both sides: {config.id}: {err}")
    configs = [c for c in configs if c.id in prepared]
    print(f"warm environments for {len(configs)} configurations: {time.monotonic() - t0:.1f} s")

    floors: dict[str, tuple[int, float, float]] = {}
    for config in configs:
        p = prepared[config.id]
        floors[config.id] = (len(scenarios_for(p)), bare_start_to_exit(backend, p),
                             inherent_waits(p))
    bare_floor = sum(n * bare + waits for n, bare, waits in floors.values()) / args.jobs

    with tempfile.TemporaryDirectory() as out:
        t0 = time.monotonic()
        _, document = run_matrix(configs, backend, Path(out), jobs=args.jobs)
        wall = time.monotonic() - t0
    cells = document["configurations"]
    errors = [c for c, v in cells.items() if v["status"] == "error"]
    grace = {c: forced_grace(cells[c], LIMITS.stop_s, LIMITS.startup_fail_s) for c in floors}
    floor = bare_floor + sum(grace.values()) / args.jobs

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
                for name, s in a["scenarios"].items() if name in edges) / args.jobs
    edge_floor = sum(bare + (SLOW_S if name == "open-stop" else 0.0)
                     for cid, (_, bare, _) in floors.items()
                     for name in scenarios_for(prepared[cid]) if name in edges) / args.jobs
    print(f"\nlifecycle scenarios ({', '.join(edges)}): {added:8.1f} s of the wall time "
          f"(/ {args.jobs}) beside their floor share {edge_floor:.1f} s; the rest is servers "
          "that hang on an open stream or a hung startup until killed, and recycle traffic")

    ratio = wall / floor
    print(f"\nmatrix wall time (--jobs {args.jobs}, warm): {wall:8.1f} s")
    print(f"floor without forced grace (starts × bare + inherent waits, / {args.jobs}): "
          f"{bare_floor:8.1f} s")
    print(f"floor (+ grace periods servers forced by not exiting, / {args.jobs}): {floor:8.1f} s")
    print(f"ratio: {ratio:.2f}×  (target ≤ 1.3×: {'met' if ratio <= 1.3 else 'NOT met'})")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; "
          f"error cells: {', '.join(errors) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
