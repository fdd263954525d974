"""System packages a configuration needs beside Python, checked on this machine.

Catalogue entries name them as Debian packages (``system = ["libuv1"]``). The local
backend cannot install them (that needs root and changes the machine), so a missing one
makes the configuration "not run" with the names and the command to try instead; the
docker backend builds a base image that has them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

from asgi_matrix.exceptions import NotRunnable


def missing(packages: Sequence[str]) -> list[str]:
    """Those of ``packages`` that dpkg does not list as installed, in the order given.

    Raises NotRunnable when there is no dpkg to ask (not a Debian-like system): whether
    they are there cannot be known, and guessing library file names would be wrong.
    """
    if not packages:
        return []
    dpkg_query = shutil.which("dpkg-query")
    if dpkg_query is None:
        raise NotRunnable(f"needs system packages {', '.join(packages)} (Debian names) and "
                          "this machine has no dpkg-query to check for them",
                          hint="--backend docker")
    done = subprocess.run([dpkg_query, "-W", "-f=${Package} ${db:Status-Abbrev}\\n",
                           *packages], capture_output=True, text=True, timeout=60)
    installed = set()
    for line in done.stdout.splitlines():
        name, _, status = line.partition(" ")
        if status.startswith("ii"):
            installed.add(name.split(":")[0])  # "libuv1:amd64" on multi-arch systems
    return [p for p in packages if p not in installed]


def require(packages: Sequence[str]) -> None:
    """NotRunnable, naming what is missing and how to get it, unless all are installed."""
    if absent := missing(packages):
        raise NotRunnable(f"needs system packages not installed here: {', '.join(absent)} "
                          f"(as root: apt-get install {' '.join(absent)})",
                          hint="--backend docker")
