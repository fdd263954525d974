"""The environment step for a configuration pinned to a release.

A release that cannot be installed here (yanked, not on the index, no file for this
Python, a source build that fails) is "not run" with the reason: the index says so
before anything is installed (``ServerConfig.unavailable``), the installer says so
after (its output, read here).
"""

from __future__ import annotations

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import NotRunnable, PrepareFailed
from asgi_matrix.measure.backends.protocol import Backend, Prepared

#: installer output that means "this release cannot be installed here", not "we failed"
_NOT_INSTALLABLE = (
    ("failed to build", "its source distribution does not build here"),
    ("failed to download and build", "its source distribution does not build here"),
    ("build backend", "its source distribution does not build here"),
    ("no solution found", "its requirements cannot be satisfied here"),
    ("unsatisfiable", "its requirements cannot be satisfied here"),
    ("no matching distribution", "no installable file for this Python"),
    ("doesn't have a source distribution or wheel", "no installable file for this Python"),
    ("has no wheels with a matching", "no installable file for this Python"),
)


#: installer output of a failure that may not happen next time (the network, the index):
#: such a failure stays an error cell, which the history cache never keeps
_TRANSIENT = ("failed to fetch", "request failed after", "error sending request", "dns error",
              "connection reset", "connection refused", "connection aborted", "timed out",
              "timeout", "temporarily unavailable", "temporary failure in name resolution",
              "network is unreachable", "502 bad gateway", "503 service unavailable",
              "504 gateway", "read error", "no space left on device")


def not_installable(err: PrepareFailed) -> str:
    """The reason an installer failure means "cannot be installed here", or "" (a failure
    of ours or a transient one: measured again next time, never cached)."""
    text = f"{err}\n{err.log_tail}".lower()
    if any(needle in text for needle in _TRANSIENT):
        return ""
    for needle, meaning in _NOT_INSTALLABLE:
        if needle in text:
            return meaning
    return ""


def _telling_line(err: PrepareFailed) -> str:
    """The installer's most telling line: its last 'error:' or 'cause:' line, else the last."""
    lines = [ln.strip(" │╰─▶×") for ln in err.log_tail.splitlines() if ln.strip()]
    for line in reversed(lines):
        low = line.lower()
        if low.startswith(("error:", "cause:")) or "error:" in low:
            return line[:300]
    return (lines[-1] if lines else str(err))[:300]


def prepare(backend: Backend, config: ServerConfig) -> Prepared:
    """``backend.prepare`` for a pinned release: not installable here -> NotRunnable.

    The local backend's installer fails with EnvironmentFailed, the docker backend's
    image build with ImageBuildFailed; both carry the installer's last lines.
    """
    release = config.release
    what = f"{release.package}=={release.version}" if release else config.id
    if config.unavailable:
        raise NotRunnable(config.unavailable)
    try:
        return backend.prepare(config)
    except PrepareFailed as err:
        meaning = not_installable(err)
        if not meaning:
            raise
        raise NotRunnable(f"cannot install {what} here: {meaning}: {_telling_line(err)}") from err
