"""Every error asgi-matrix reports: one tree, one class per way a step can fail.

A run walks each configuration through these steps; each step raises only these::

    resolve   catalogue, selection, releases -> CatalogueError  (file:line, entry, what)
                                              -> UnknownConfig   (the id, and the valid ones)
                                              -> IndexUnavailable (package index unreachable)
              check's own input               -> CheckInputError (the option, what is wrong)
    prepare   environment or probe image     -> NotRunnable     (no Python, wheel or system
                                                                 package for it here: "not run")
                                              -> BaseUnavailable (docker: no base image can
                                                 be had: none here, no pull, no root)
                                              -> EnvironmentFailed  (local: installer's tail)
                                              -> DockerUnavailable  (docker: no engine)
                                              -> ImageBuildFailed   (docker: base image,
                                                 wheelhouse or build; the log's tail)
    start     the server's process/container -> ServerFailed
    ready     first answer within Limits      -> ServerFailed    (never ready; log tail)
    drive     traffic of the scenario         -> ServerFailed
    stop      SIGTERM, then SIGKILL           -> ServerFailed    (would not stop; log tail)
    judge     verdicts from observations      -> nothing: what could not be observed is
                                                 an "error" verdict with the reason
    publish   results, merge, diff, site      -> ResultsError    (path, what is wrong)
              the run itself stopped          -> Interrupted     (what was kept)

A server failing a property is a finding, not an error: it becomes a verdict. An error
of one configuration becomes its "error" cell and the run goes on; only errors of the
run as a whole (bad input, unwritable output) end it, as one line ``asgi-matrix: ...``
and an exit code (``asgi_matrix.cli``). Each error may carry ``log_tail``: the last lines
of the installer, build or server that failed, kept in the cell as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence


class AsgiMatrixError(Exception):
    """Base class: its message is one line a user can act on."""

    def __init__(self, message: str = "", log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


# -- resolve ------------------------------------------------------------------------------

class CatalogueError(AsgiMatrixError):
    """The catalogue file is malformed: names the file and the entry or line."""


class UnknownConfig(AsgiMatrixError):
    """A configuration id or server name that the catalogue does not have."""


class CheckInputError(AsgiMatrixError):
    """``asgi-matrix check`` was given something it cannot use (an app reference, a body
    file, a requirements file, a virtualenv): names the option and what is wrong."""


class IndexUnavailable(AsgiMatrixError):
    """The package index cannot tell a release set's releases (and no saved answer)."""


# -- prepare ------------------------------------------------------------------------------

class NotRunnable(AsgiMatrixError):
    """The configuration cannot run on this backend here (no matching Python, no wheel):
    recorded as "not run" with the reason, never as a failure."""

    def __init__(self, message: str, hint: str = "", prefix: str = "") -> None:
        super().__init__(message)
        self.hint = hint  #: options after the command that would run it ("--backend docker")
        self.prefix = prefix  #: what goes before it (an environment variable to set)


class BaseUnavailable(NotRunnable):
    """Docker backend: no base image for the probe images can be had here (none present,
    none can be pulled, and a Debian base cannot be made without root): "not run"."""


class PrepareFailed(AsgiMatrixError):
    """A configuration could not be made runnable; ``log_tail`` has the installer's end."""


class EnvironmentFailed(PrepareFailed):
    """Local backend: the configuration's virtualenv could not be created or installed."""


class DockerUnavailable(PrepareFailed):
    """The Docker engine cannot be reached (not running, no permission, no socket)."""


class ImageBuildFailed(PrepareFailed):
    """Docker backend: the probe image of a configuration could not be built."""


class BaseImageError(ImageBuildFailed):
    """No base image for this Python, or building one failed."""


class SystemPackagesUnavailable(BaseImageError):
    """The Debian packages a configuration needs could not be put into a base image here
    (the docker backend records it as "not run")."""

    def __init__(self, packages: Sequence[str], suite: str, why: str, log_tail: str = "") -> None:
        super().__init__(
            f"needs system packages {', '.join(packages)}: no Debian {suite} base image with "
            f"them could be built here ({why})",
            log_tail,
        )
        self.packages = list(packages)


class WheelhouseError(ImageBuildFailed):
    """pip could not download the wheels an image is built from."""


class NoWheelError(WheelhouseError):
    """A requirement (or one of its dependencies) has no wheel for the target Python
    (the docker backend records it as "not run")."""

    def __init__(self, package: str, python: str, platform_desc: str, log_tail: str = "") -> None:
        super().__init__(
            f"no wheel for Python {python} ({platform_desc}) of package {package!r}: "
            "images are built offline from wheels only (pip --only-binary=:all:); "
            "pick a version that publishes wheels for this Python, or another Python",
            log_tail,
        )
        self.package = package
        self.python = python


class ImageBuildError(ImageBuildFailed):
    """``docker build`` of a probe image failed; the message ends with its log's tail."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(
            f"{message}\n--- build log (tail) ---\n{log_tail}" if log_tail else message,
            log_tail,
        )


# -- start, ready, drive, stop ------------------------------------------------------------

class ServerFailed(AsgiMatrixError):
    """The server could not be measured: never ready, exited early, or would not stop."""


# -- publish ------------------------------------------------------------------------------

class ResultsError(AsgiMatrixError):
    """A results file that cannot be written, or read back as results."""


class Interrupted(AsgiMatrixError):
    """asgi-matrix itself got SIGINT or SIGTERM: what was measured is kept."""
