"""Where the probe, the controls and the harnesses live, for every backend."""

from __future__ import annotations

from pathlib import Path

RUNNER_DIR = Path(__file__).resolve().parent
REPO_DIR = RUNNER_DIR.parent
PROBES_DIR = REPO_DIR / "probes"
CONTROLS_DIR = RUNNER_DIR / "controls"
HARNESSES_DIR = RUNNER_DIR / "harnesses"
SCHEMA_DIR = RUNNER_DIR / "schema"
SITE_DIR = REPO_DIR / "site"
#: the probe app, as servers import it (PROBES_DIR is on their PYTHONPATH)
PROBE_APP = "asgi_probe:app"
