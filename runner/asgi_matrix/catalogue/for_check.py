"""Which configurations ``asgi-matrix check`` runs a user's app under by default.

Each server's default configuration (its first plain one in the catalogue: one worker,
one event loop, no recycling), then every configuration that runs several event loops
in one process, where lifespan and requests most often part ways, and the project's
multi-loop reference server. Whether this machine can run each one is found when it is
prepared (no interpreter, no wheel: "not run here", named).
"""

from __future__ import annotations

from collections.abc import Sequence

from asgi_matrix.catalogue.load import Catalogue, ServerConfig
from asgi_matrix.exceptions import CheckInputError

#: the reference server that runs one lifespan per event loop, several loops per process
MULTILOOP_CONTROL = "control-multiloop"


def _plain(config: ServerConfig) -> bool:
    return (config.kind == "server" and config.default and config.releases is None
            and config.recycle is None and config.workers == 1 and config.threads == 1)


def _multiloop(config: ServerConfig) -> bool:
    return (config.kind == "server" and config.default and config.releases is None
            and config.recycle is None and config.threads > 1) or config.id == MULTILOOP_CONTROL


def default_for_check(catalogue: Catalogue) -> list[ServerConfig]:
    """Each server's default configuration, then the multi-loop ones, in catalogue order."""
    chosen: list[ServerConfig] = []
    servers: set[str] = set()
    for config in catalogue.configs:
        if _plain(config) and config.server not in servers:
            servers.add(config.server)
            chosen.append(config)
    chosen += [c for c in catalogue.configs if _multiloop(c) and c not in chosen]
    return chosen


def select_for_check(catalogue: Catalogue, ids: Sequence[str]) -> list[ServerConfig]:
    """The configurations named (``--config``), else the default ones; a test-client
    harness or a release set cannot serve a user's app over HTTP and is refused."""
    if not ids:
        return default_for_check(catalogue)
    chosen = [catalogue.get(i) for i in dict.fromkeys(ids)]  # UnknownConfig names the known
    for config in chosen:
        if config.kind == "harness":
            raise CheckInputError(f"--config {config.id}: a test-client harness, not a server; "
                                  "check runs servers")
        if config.releases is not None:
            raise CheckInputError(f"--config {config.id}: a release set; name one configuration")
    return chosen
