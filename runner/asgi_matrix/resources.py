"""Where the files the commands read at run time live, installed or in a checkout.

The probe, the controls, the harness drivers and the container recipes are run by a
*server's* interpreter, not by ours: they sit in ``probes/`` and ship in the wheel as the
package data of ``asgi_matrix.probes``; the dashboard's templates and static files sit in
``dashboard/`` and ship as ``asgi_matrix.dashboard``. Both are found through
``importlib.resources``, so a wheel install, an editable install and a checkout resolve
them the same way.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from importlib import metadata
from importlib.resources import files
from pathlib import Path


def _directory(package: str) -> Path:
    # Installed wheels and setuptools' editable finder both give a real folder: servers
    # need a path on disk (PYTHONPATH, docker build contexts), not a zip member.
    root = files(package)
    path = Path(str(root))
    if not path.is_dir():  # e.g. a zipapp: nothing here can run from one
        raise RuntimeError(f"asgi-matrix: {package} is not a folder on disk ({root})")
    return path


#: the installed distribution's version (pyproject.toml's, through the package metadata)
VERSION = metadata.version("asgi-matrix")
PACKAGE_DIR = Path(__file__).resolve().parent
PROBES_DIR = _directory("asgi_matrix.probes")
CONTROLS_DIR = PROBES_DIR / "controls"
HARNESSES_DIR = PROBES_DIR / "harnesses"
DOCKER_DIR = PROBES_DIR / "docker"
DOCKERFILE = PROBES_DIR / "Dockerfile"
MATRIX_DOCKERFILE = PROBES_DIR / "matrix.Dockerfile"
BUILD_BASE = DOCKER_DIR / "build-base.sh"
PROBE_FILE = PROBES_DIR / "asgi_probe.py"
DASHBOARD_DIR = _directory("asgi_matrix.dashboard")
#: the two catalogues (servers, app patterns) and the schemas of their tables
CATALOGUE_FILE = PACKAGE_DIR / "catalogue" / "catalogue.toml"
CATALOGUE_SCHEMA = PACKAGE_DIR / "catalogue" / "catalogue.schema.json"
PATTERNS_FILE = PACKAGE_DIR / "catalogue" / "patterns.toml"
PATTERNS_SCHEMA = PACKAGE_DIR / "catalogue" / "patterns.schema.json"
RESULTS_SCHEMA = PACKAGE_DIR / "results" / "results.schema.json"
#: the probe app, as servers import it (PROBES_DIR is on their PYTHONPATH)
PROBE_APP = "asgi_probe:app"


def cache_root() -> Path:
    """Where environments, images' wheels and measured releases are kept between runs:
    ``$ASGI_MATRIX_CACHE`` (``~`` expanded) if set, else ``~/.cache/asgi-matrix``."""
    env = os.environ.get("ASGI_MATRIX_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "asgi-matrix"


@cache
def source_commit() -> str:
    """The git commit of the checkout this runs from; "unknown" for an installed wheel."""
    checkout = PACKAGE_DIR.parent.parent  # runner/asgi_matrix -> the repository
    if not (checkout / ".git").exists():
        return "unknown"
    try:
        done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"
