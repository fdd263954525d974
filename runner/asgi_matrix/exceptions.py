"""Errors asgi-matrix reports, one per step of a run.

    load the catalogue   -> CatalogueError        (file, entry or line, what is wrong)
    select configs       -> UnknownConfig         (the id, and the valid ones)
    resolve environment  -> NotRunnable           (no matching interpreter: "not run")
                         -> EnvironmentFailed     (requirements, installer's last lines)
    start the server     -> ServerFailed          (never ready, exited early; log tail)
    drive traffic        -> ServerFailed
    stop the server      -> ServerFailed          (ignored SIGTERM; log tail)
    write/read results   -> ResultsError          (path, what is wrong)
    docker backend       -> DockerUnavailable, ImageBuildFailed

A server failing a property is a finding, not an error: it becomes a verdict.
Errors in one configuration become an "error" cell and the run goes on; only
errors of the harness as a whole (bad input, unwritable output) end the run.
"""

from __future__ import annotations


class AsgiMatrixError(Exception):
    """Base class: its message is one line a user can act on."""


class CatalogueError(AsgiMatrixError):
    """The catalogue file is malformed: names the file and the entry or line."""


class UnknownConfig(AsgiMatrixError):
    """A configuration id or server name that the catalogue does not have."""


class EnvironmentFailed(AsgiMatrixError):
    """A configuration's environment could not be created or installed."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class NotRunnable(AsgiMatrixError):
    """The configuration cannot run on this backend here (no matching Python, no wheel):
    recorded as "not run" with the reason, never as a failure."""

    def __init__(self, message: str, hint: str = "", prefix: str = "") -> None:
        super().__init__(message)
        self.hint = hint  #: options after the command that would run it ("--backend docker")
        self.prefix = prefix  #: what goes before it (an environment variable to set)


class ServerFailed(AsgiMatrixError):
    """The server could not be measured: never ready, exited early, or would not stop."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail


class ResultsError(AsgiMatrixError):
    """A results file that cannot be written, or read back as results."""


class DockerUnavailable(AsgiMatrixError):
    """The Docker engine cannot be reached."""


class ImageBuildFailed(AsgiMatrixError):
    """An image for a configuration could not be built."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail
