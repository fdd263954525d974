"""How long ``asgi-matrix site`` takes, and how heavy the matrix page is.

    python bench/bench_site.py [RESULTS]

Builds the site for the recorded run (tests/data/results-sample.json unless RESULTS is
given) and for a synthetic run of 200 configurations x 30 properties made from it, and
prints each figure next to its target. Build time is load + validate + render + write,
as the command does it; the best of a few runs.
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from asgi_matrix import build_site, load_results, render_site, transferred_size

REPO = Path(__file__).resolve().parents[1]

SAMPLE = REPO / "tests" / "data" / "results-sample.json"
BUILD_TARGET_S = 3.0
PAGE_TARGET_BYTES = 150_000
RUNS = 3


def synthetic(document: dict[str, Any], configs: int = 200, properties: int = 30
              ) -> dict[str, Any]:
    """``configs`` x ``properties`` from the recorded run: copies with new ids."""
    doc = copy.deepcopy(document)
    base_props = list(doc["properties"].values())
    props: dict[str, Any] = {}
    for n in range(properties):
        prop = dict(base_props[n % len(base_props)])
        if n >= len(base_props):
            prop["id"] = f"{prop['id']}.v{n // len(base_props) + 1}"
            prop["title"] = f"{prop['title']} (v{n // len(base_props) + 1})"
        props[prop["id"]] = prop
    props = dict(sorted(props.items(), key=lambda kv: _group_order(base_props, kv[1])))
    base_configs = list(doc["configurations"].values())
    configurations = {}
    for n in range(configs):
        config = copy.deepcopy(base_configs[n % len(base_configs)])
        config["id"] = f"{config['id']}-{n:03d}"
        old = config["verdicts"]
        config["verdicts"] = {pid: old[pid.split(".v")[0]] for pid in props}
        configurations[config["id"]] = config
    doc["properties"] = props
    doc["configurations"] = configurations
    doc["run"]["selected"] = list(configurations)
    return doc


def _group_order(base: list[dict[str, Any]], prop: dict[str, Any]) -> int:
    groups = list(dict.fromkeys(p["group"] for p in base))
    return groups.index(prop["group"])


def measure(label: str, results: Path) -> None:
    best = {"build": float("inf"), "cpu": float("inf"), "load": float("inf"),
            "render": float("inf")}
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            started, cpu = time.perf_counter(), time.process_time()
            document = load_results(results)
            loaded = time.perf_counter()
            files = build_site(document, Path(tmp) / "site")
            built, cpu = time.perf_counter(), time.process_time() - cpu
            page = (Path(tmp) / "site" / "index.html").read_text()
        render_site(document)
        rendered = time.perf_counter()
        for phase, seconds in (("build", built - started), ("cpu", cpu), ("load", loaded - started),
                               ("render", rendered - built)):
            best[phase] = min(best[phase], seconds)
    raw = len(page.encode())
    sent = transferred_size(page)
    configs, props = len(document["configurations"]), len(document["properties"])
    print(f"{label}: {configs} configurations x {props} properties, {files} files")
    print(f"  build time            {best['build']:7.2f} s     target <= {BUILD_TARGET_S:.0f} s   "
          f"{'ok' if best['build'] <= BUILD_TARGET_S else 'OVER'}"
          f"   ({best['cpu']:.2f} s CPU; load+validate {best['load']:.2f} s, "
          f"render {best['render']:.2f} s, the rest writing files)")
    print(f"  index.html gzip       {sent / 1000:7.1f} KB    target <= "
          f"{PAGE_TARGET_BYTES / 1000:.0f} KB  {'ok' if sent <= PAGE_TARGET_BYTES else 'OVER'}"
          "   (transferred, as GitHub Pages serves it)")
    print(f"  index.html raw        {raw / 1000:7.1f} KB    (uncompressed, for reference)")


def main() -> None:
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE
    measure("recorded run", results)
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "results.json"
        big.write_text(json.dumps(synthetic(load_results(results))))
        measure(f"synthetic run ({big.stat().st_size / 1e6:.1f} MB of results)", big)


if __name__ == "__main__":
    main()
