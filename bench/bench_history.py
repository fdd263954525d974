"""A cold history run's wall time, next to its 15-minute bound; then the same run warm.

    python bench/bench_history.py [--jobs 2] [--cold-uv] [SET ...]

Runs every release set of the catalogue (or the ones named, e.g. uvicorn-history) through
the real command line with a fresh ASGI_MATRIX_CACHE, so no environment and no cached
cell exists: every release gets its environment made and is measured. ``--cold-uv``
also gives uv an empty cache, so every wheel is downloaded again. Then it runs the same
selection again, where every release comes from the history cache.

Per configuration it splits the time into environment creation (the cell's time before
its first attempt) and measuring (its attempts), and prints the releases each set
resolved to and what changed across them.
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
from typing import Any

from asgi_matrix import Catalogue

REPO = Path(__file__).resolve().parents[1]

BOUND_S = 15 * 60


def run(ids: list[str], out: Path, jobs: int, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "asgi_matrix", "run", *ids, "--out", str(out),
                           "--jobs", str(jobs)], capture_output=True, text=True, env=env,
                          timeout=2 * BOUND_S)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"asgi-matrix run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    return seconds, document


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cold-uv", action="store_true",
                        help="also an empty uv cache: every wheel downloaded again")
    parser.add_argument("sets", nargs="*", help="release set ids (default: all of them)")
    args = parser.parse_args()
    ids = args.sets or [c.id for c in Catalogue.load().configs if c.releases is not None]

    with tempfile.TemporaryDirectory(prefix="asgi-matrix-bench-history-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "ASGI_MATRIX_CACHE": str(root / "cache")}
        if args.cold_uv:
            env["UV_CACHE_DIR"] = str(root / "uv-cache")
        print(f"release sets: {', '.join(ids)}; jobs {args.jobs}; fresh ASGI_MATRIX_CACHE"
              + (" and uv cache" if args.cold_uv else " (uv's download cache as it is)"))
        cold_s, document = run(ids, root / "cold", args.jobs, env)
        configs = document["configurations"]
        measured = [c for c in configs.values() if c["status"] == "measured"]
        envs = [c["seconds"] - sum(a["seconds"] for a in c.get("attempts", []))
                for c in measured]
        attempts = [sum(a["seconds"] for a in c.get("attempts", [])) for c in measured]
        for series, entry in document.get("history", {}).get("series", {}).items():
            versions = [r["version"] for r in entry["releases"]]
            print(f"\n{series} ({entry['rule']}): {len(versions)} release(s): "
                  + " ".join(versions))
            for release in entry["releases"]:
                if release["status"] != "measured":
                    print(f"  {release['version']}: {release['status']}: {release['reason']}")
            for prop, item in entry["properties"].items():
                if item["changes"]:
                    print(f"  {prop}: {item['summary']}")
        statuses: dict[str, int] = {}
        for config in configs.values():
            statuses[config["status"]] = statuses.get(config["status"], 0) + 1
        print(f"\nconfigurations: {len(configs)} ("
              + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ")")
        if measured:
            print(f"per measured configuration: environment {sum(envs) / len(envs):.1f} s mean "
                  f"(max {max(envs):.1f}), measuring {sum(attempts) / len(attempts):.1f} s mean "
                  f"(max {max(attempts):.1f})")
        verdict = "within" if cold_s <= BOUND_S else "OVER"
        print(f"cold history run:  {cold_s:7.1f} s   bound {BOUND_S} s (15 min): {verdict} "
              f"({cold_s / BOUND_S:.0%} of it)")
        warm_s, again = run(ids, root / "warm", args.jobs, env)
        cached = sum(bool(c.get("cached")) for c in again["configurations"].values())
        print(f"same run, cached:  {warm_s:7.1f} s   ({cached} of "
              f"{len(again['configurations'])} configurations from the history cache)")
        return 0 if cold_s <= BOUND_S else 1


if __name__ == "__main__":
    sys.exit(main())
