"""The pattern axis's cost: patterns x configurations next to the server-only matrix,
both measured in this run, on the same configurations with warm environments.

Patterns that cannot interfere share one server start (patterns.dispatch mounts
each under /p/<id>/): the raw patterns one (the RunVar one its own), the frameworks
one in one environment with all their requirements, Django its own; a configuration's
starts run side by side. Environments (the frameworks' too) are made before either
side is timed. Printed: the server-only matrix's wall time, the same matrix with every
default pattern, their ratio (target ≤ 1.5x), and the starts each way.

    python bench/bench_patterns.py [--jobs 2] [CONFIG ...]   (none: the default matrix)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from asgi_matrix import (
    AsgiMatrixError,
    Catalogue,
    LocalBackend,
    NotRunnable,
    load_patterns,
    pattern_groups,
    pattern_requirements,
    run_matrix,
    select_patterns,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args()
    configs = Catalogue.load().select(args.configs)
    patterns = select_patterns(load_patterns(), [])
    backend = LocalBackend()
    t0 = time.monotonic()
    runnable = []
    extras = {pattern_requirements(group) for _, group in pattern_groups(patterns)} - {()}
    for config in configs:
        try:
            backend.prepare(config)
            runnable.append(config)
        except NotRunnable as err:  # "not run" on both sides: costs nothing there
            print(f"not run here, left out of both sides: {config.id}: {err}")
            continue
        for extra in extras:  # the frameworks' environments too: warm on both sides
            try:
                backend.prepare(replace(config, requires=(*config.requires, *extra)))
            except AsgiMatrixError as err:  # the pattern run says so in its cells
                print(f"frameworks' environment for {config.id}: {err}")
    print(f"warm environments for {len(runnable)} configurations "
          f"(+{len(extras)} with frameworks each): {time.monotonic() - t0:.1f} s")

    walls: dict[str, float] = {}
    documents = {}
    for name, selected in (("servers only", ()), ("servers + patterns", patterns)):
        with tempfile.TemporaryDirectory() as out:
            t0 = time.monotonic()
            _, documents[name] = run_matrix(runnable, backend, Path(out), jobs=args.jobs,
                                            patterns=selected)
            walls[name] = time.monotonic() - t0
        print(f"{name}: {walls[name]:.1f} s")

    cells = documents["servers + patterns"]["configurations"]
    per_start = [{c["start"]: c["seconds"] or 0 for c in cell.get("patterns", {}).values()}
                 for cell in cells.values()]
    pattern_seconds = sum(sum(starts.values()) for starts in per_start)
    side_by_side = sum(max(starts.values(), default=0) for starts in per_start)
    starts = len(pattern_groups(patterns))
    ratio = walls["servers + patterns"] / walls["servers only"]
    print(f"\n{len(runnable)} configurations × {len(patterns)} patterns "
          f"({starts} server starts per configuration for the patterns, "
          f"instead of {len(patterns)} with a start per pattern)")
    print(f"server-only matrix wall time (--jobs {args.jobs}, warm): "
          f"{walls['servers only']:8.1f} s")
    print(f"with the pattern axis:                         {walls['servers + patterns']:8.1f} s")
    print(f"pattern starts, summed over configurations:    {pattern_seconds:8.1f} s "
          f"(side by side per configuration: {side_by_side:.1f} s, "
          f"≈ {side_by_side / args.jobs:.1f} s of wall at --jobs {args.jobs})")
    slowest = sorted(zip(cells, per_start, strict=True),
                     key=lambda item: -max(item[1].values(), default=0))[:6]
    print("slowest pattern phases (each start's seconds): " + "; ".join(
        f"{cid} " + " ".join(f"{name}={secs:.1f}" for name, secs in starts.items())
        for cid, starts in slowest))
    print(f"ratio: {ratio:.2f}×  (target ≤ 1.5×: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
