"""Soak: the controls and a mainstream server, each ten times in a row, must give stable
verdicts. Unstable cells of real servers are reported (they are findings: a race in
the server); the controls, whose behaviour is ours, must never waver.

The whole default matrix ten times over (70 configurations, seven scenarios each) would
take hours on two cores, so CI soaks what must never waver plus one real server;
``ASGI_MATRIX_SOAK_CONFIGS=default`` soaks the whole default matrix (ids, comma-separated,
pick others). Run on its own with ``pytest -m soak``.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from asgi_matrix.results import document as _results

pytestmark = [pytest.mark.soak, pytest.mark.servers, pytest.mark.timeout(1800)]

REPEAT = int(os.environ.get("ASGI_MATRIX_SOAK_REPEAT", "10"))
CONFIGS = os.environ.get("ASGI_MATRIX_SOAK_CONFIGS",
                         "control-multiloop,control-broken,control-nolifespan,uvicorn")
#: no ids: `run` takes the whole default matrix
SELECTION = [] if CONFIGS == "default" else CONFIGS.split(",")


def test_the_default_matrix_is_stable_over_repeated_runs(tmp_path, capsys):
    # The pattern axis has its own controls and tests; here it would only add starts.
    done = subprocess.run([sys.executable, "-m", "asgi_matrix", "run", *SELECTION, "--no-patterns",
                           "--repeat", str(REPEAT), "--jobs", "2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1700)
    assert done.returncode == 0, done.stderr
    document = _results.load(tmp_path)
    unstable = {}
    for config_id, config in document["configurations"].items():
        if config["status"] == "not-run":  # needs another Python or system packages here
            continue
        if config["status"] == "error" and config["kind"] == "server":
            # a real server that cannot be measured (it crashes, its app cannot run) is a
            # finding, stable or not; ours never are
            unstable[f"{config_id} (error cell)"] = config.get("reason") or ""
            continue
        assert config["status"] == "measured", (config_id, config.get("reason"))
        assert len(config["attempts"]) == REPEAT
        for prop, verdict in config["verdicts"].items():
            if verdict["status"] == "flaky":
                unstable[f"{config_id} × {prop}"] = verdict["explanation"]
    with capsys.disabled():
        print(f"\nsoak: {REPEAT} attempts per configuration; unstable cells: {len(unstable)}")
        for cell, why in sorted(unstable.items()):
            print(f"  {cell}: {why}")
    assert not [c for c in unstable if c.startswith("control-")], unstable
