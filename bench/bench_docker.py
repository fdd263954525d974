"""The docker backend: image builds per Python, and the default matrix next to its floor.

1. Image builds, per image Python (3.11, 3.13, 3.14), for the uvicorn configuration's
   requirements made unique to this run (an extra ``!=0+bench.<nonce>`` on anyio changes
   the image tag and the wheelhouse key, nothing else):
     cold     nothing cached: wheelhouse download on the host, then the offline build
     rebuild  the wheelhouse cached, the image not: the docker build alone
     warm     the image exists: the content-hashed tag is found and reused
   The images this benchmark built are removed by their exact tags at the end.
2. The default matrix (or the configurations named) on the docker backend, with every
   image built first, next to the floor measured in the same run: every server start the
   matrix needs, each as a bare start (container start, first answer, SIGTERM, exit),
   plus the waits the properties need (the slow request in flight at the two stops),
   summed and divided by --jobs. Configurations that are "not run" cost nothing on
   either side. Then the same configurations on the local backend, for comparison.

    python bench/bench_docker.py [--jobs 2] [--skip-builds] [--skip-matrix] [--out DIR]
                                 [CONFIG ...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _floor import bare_start_to_exit, inherent_waits
from asgi_matrix import (
    DOCKER_BASES,
    AsgiMatrixError,
    Catalogue,
    DockerBackend,
    LocalBackend,
    NotRunnable,
    Prepared,
    build_image,
    docker_client,
    run_matrix,
    scenarios_for,
)

BUILD_REQUIREMENTS = ["uvicorn>=0.30", "websockets>=13"]


def builds(pythons: list[str]) -> list[tuple[str, float, float, float]]:
    """(python, cold, rebuild, warm) seconds; removes the images it made, by tag."""
    nonce = uuid.uuid4().hex[:10]
    rows = []
    client = docker_client()
    made: list[str] = []
    try:
        for python in pythons:
            reqs = [*BUILD_REQUIREMENTS, f"anyio>=4,!=0+bench.{nonce}"]
            cold = build_image(reqs, python)
            made.append(cold.tag)
            client.images.remove(cold.tag)  # ours: a tag no one else can have
            rebuild = build_image(reqs, python)
            warm = build_image(reqs, python)
            if not (cold.built and rebuild.built) or warm.built:
                raise SystemExit(f"unexpected cache behaviour on Python {python}")
            rows.append((python, cold.seconds, rebuild.seconds, warm.seconds))
    finally:
        for tag in made:
            with contextlib.suppress(Exception):  # already gone
                client.images.remove(tag)
        client.close()
    return rows


def matrix(config_ids: list[str], jobs: int, keep: Path | None = None) -> None:
    configs = Catalogue.load().select(config_ids)
    backend = DockerBackend()
    t0 = time.monotonic()
    prepared: dict[str, Prepared] = {}
    skipped: dict[str, str] = {}
    for config in configs:
        try:
            prepared[config.id] = backend.prepare(config)
        except (NotRunnable, AsgiMatrixError) as err:
            skipped[config.id] = f"{type(err).__name__}: {err}".splitlines()[0][:100]
    print(f"images for {len(configs)} configurations ready in {time.monotonic() - t0:.1f} s "
          f"({len(skipped)} not runnable or not buildable here)")

    floors: dict[str, tuple[int, float, float]] = {}
    try:
        for config_id, p in prepared.items():
            floors[config_id] = (len(scenarios_for(p)), bare_start_to_exit(backend, p),
                                 inherent_waits(p))
    finally:
        backend.close()
    floor = sum(n * bare + waits for n, bare, waits in floors.values()) / jobs

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.monotonic()
        _, document = run_matrix(configs, DockerBackend(), keep or Path(tmp), jobs=jobs)
        wall = time.monotonic() - t0
    cells: dict[str, dict[str, Any]] = document["configurations"]

    print(f"\n{'configuration':28} {'python':>6} {'starts':>6} {'bare start→exit':>16} "
          f"{'inherent waits':>15} {'its floor':>10} {'measured':>9}  status")
    for config in configs:
        cell = cells.get(config.id, {})
        if config.id in floors:
            starts, bare, waits = floors[config.id]
            print(f"{config.id:28} {cell.get('python', ''):>6} {starts:>6} {bare:>15.3f}s "
                  f"{waits:>14.1f}s {starts * bare + waits:>9.2f}s "
                  f"{cell.get('seconds', 0):>8.2f}s  {cell.get('status')}")
        else:
            print(f"{config.id:28} {'':>6} {'-':>6} {'-':>16} {'-':>15} {'-':>10} {'-':>9}  "
                  f"{cell.get('status')}: {skipped.get(config.id, cell.get('reason', ''))}")
    errors = [c for c, v in cells.items() if v["status"] == "error"]
    ratio = wall / floor if floor else float("nan")
    print(f"\nmatrix wall time (docker, --jobs {jobs}, images warm): {wall:8.1f} s")
    print(f"floor (sum of starts × bare + inherent waits, / {jobs}):  {floor:8.1f} s")
    print(f"ratio: {ratio:.2f}×  (target ≤ 1.5×: {'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"machine: {os.cpu_count()} CPUs; measured {len(floors)}, not run "
          f"{sum(v['status'] == 'not-run' for v in cells.values())}; error cells: "
          f"{', '.join(errors) or 'none'}")

    # The local backend on the same configurations, in the same run (warm environments;
    # those it cannot run here, other Pythons mostly, are "not run" and cost nothing).
    with tempfile.TemporaryDirectory() as tmp:
        local = LocalBackend()
        for config in configs:
            with contextlib.suppress(AsgiMatrixError):
                local.prepare(config)
        t0 = time.monotonic()
        _, local_doc = run_matrix(configs, local, Path(tmp), jobs=jobs)
        local_wall = time.monotonic() - t0
    measured_here = sum(v["status"] != "not-run" for v in local_doc["configurations"].values())
    print(f"local backend, same configurations ({measured_here} runnable here): "
          f"{local_wall:8.1f} s  (docker, images warm: {wall:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pythons", default=",".join(sorted(DOCKER_BASES)))
    parser.add_argument("--skip-builds", action="store_true")
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--out", type=Path, help="keep the matrix's results.json here")
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args()
    if not args.skip_builds:
        print(f"{'python':>6} {'cold':>9} {'rebuild':>9} {'warm':>9}   (image builds, "
              f"{' '.join(BUILD_REQUIREMENTS)})")
        for python, cold, rebuild, warm in builds(args.pythons.split(",")):
            print(f"{python:>6} {cold:>8.1f}s {rebuild:>8.1f}s {warm:>8.2f}s")
    if not args.skip_matrix:
        matrix(args.configs, args.jobs, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
