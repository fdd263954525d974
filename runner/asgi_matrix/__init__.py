"""asgi-matrix: how each real ASGI server runs your app, measured with evidence.

The public face for scripts (``bench/``, the composite action's ``branch_catalogue.py``):
every name in ``__all__``, imported on first use so that ``import asgi_matrix.<stage>``
stays as light as that stage (the docker SDK and jinja load only when asked for).
Everything else is internal and may change.

The stages, each importing only those before it (``tests/test_layout.py`` proves it)::

    resources, exceptions -> catalogue -> verdicts -> results -> measure -> report -> cli
"""

from __future__ import annotations

import importlib
from typing import Any

from asgi_matrix.resources import VERSION as __version__

#: public name -> "module:attribute"
_PUBLIC = {
    "AsgiMatrixError": "asgi_matrix.exceptions:AsgiMatrixError",
    "Catalogue": "asgi_matrix.catalogue.load:Catalogue",
    "DOCKER_BASES": "asgi_matrix.measure.backends.docker.bases:BASES",
    "LIMITS": "asgi_matrix.measure.drive.scenarios:LIMITS",
    "DockerBackend": "asgi_matrix.measure.backends.docker.backend:DockerBackend",
    "LocalBackend": "asgi_matrix.measure.backends.local.backend:LocalBackend",
    "NotRunnable": "asgi_matrix.exceptions:NotRunnable",
    "Prepared": "asgi_matrix.measure.backends.protocol:Prepared",
    "auto_jobs": "asgi_matrix.measure.schedule:auto_jobs",
    "ServerConfig": "asgi_matrix.catalogue.load:ServerConfig",
    "build_image": "asgi_matrix.measure.backends.docker.images:build_image",
    "build_site": "asgi_matrix.report.site:build",
    "docker_client": "asgi_matrix.measure.backends.docker.engine:docker_client",
    "get_backend": "asgi_matrix.measure.backends.protocol:get_backend",
    "load_patterns": "asgi_matrix.catalogue.pattern_catalogue:load",
    "load_results": "asgi_matrix.results.document:load",
    "pattern_groups": "asgi_matrix.measure.drive.pattern_starts:groups",
    "pattern_requirements": "asgi_matrix.measure.drive.pattern_starts:requirements",
    "render_site": "asgi_matrix.report.site:render",
    "select_patterns": "asgi_matrix.catalogue.pattern_catalogue:select",
    "run_matrix": "asgi_matrix.measure.run:run_matrix",
    "scenarios_for": "asgi_matrix.measure.drive.scenarios:scenarios_for",
    "transferred_size": "asgi_matrix.report.site:transferred_size",
    "wait_ready": "asgi_matrix.measure.drive.traffic:wait_ready",
}

__all__ = [
    "DOCKER_BASES",
    "LIMITS",
    "AsgiMatrixError",
    "Catalogue",
    "DockerBackend",
    "LocalBackend",
    "NotRunnable",
    "Prepared",
    "ServerConfig",
    "__version__",
    "auto_jobs",
    "build_image",
    "build_site",
    "docker_client",
    "get_backend",
    "load_patterns",
    "load_results",
    "pattern_groups",
    "pattern_requirements",
    "render_site",
    "run_matrix",
    "scenarios_for",
    "select_patterns",
    "transferred_size",
    "wait_ready",
]


def __getattr__(name: str) -> Any:
    try:
        module, _, attribute = _PUBLIC[name].partition(":")
    except KeyError:
        raise AttributeError(f"module 'asgi_matrix' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
