"""The floor both matrix benchmarks compare against: what one bare start costs."""

from __future__ import annotations

import time
from typing import Any

from asgi_matrix import Prepared, wait_ready

SLOW_S = 1.0  #: the probe's /slow: in flight at each of the two stops
STOPS_WITH_REQUEST_IN_FLIGHT = 3  # the main, group and open-stop scenarios


def bare_start_to_exit(backend: Any, prepared: Prepared, ready_s: float = 30.0) -> float:
    """Start, first answer, SIGTERM, exit: what one start costs with nothing else done.

    A server that never answers is measured as it is: the matrix pays the same wait.
    """
    start = time.monotonic()
    with backend.start(prepared, "bare", {"ASGI_MATRIX_MODE": "normal"}) as server:
        if prepared.config.kind == "harness":  # it drives itself and exits
            while server.is_alive() and time.monotonic() - start < 60:
                time.sleep(0.005)
        else:
            ready = wait_ready(server.base_url, server.is_alive, ready_s)
            if ready["ok"]:
                server.stop("group", 10.0)
    return time.monotonic() - start


def inherent_waits(prepared: Prepared) -> float:
    """The waits a property needs whatever the server: the slow request at each stop."""
    return 0.0 if prepared.config.kind == "harness" else SLOW_S * STOPS_WITH_REQUEST_IN_FLIGHT
