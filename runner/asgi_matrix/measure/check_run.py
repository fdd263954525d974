"""``asgi-matrix check``: the user's own app under one server configuration, recorded.

The server loads ``asgi_matrix_check:app`` (probes/asgi_matrix_check.py), which imports
the user's app unchanged and records its lifespan messages and requests. The
configuration's environment (or image) gets the app's own requirements beside the
server's. One start per configuration: wait until it answers, send the traffic the
user named (each request on new connections one after another, on one kept-alive
connection, and at once on new connections), then the stop scenario: the first named
request is held by the recording layer so it is in flight when SIGTERM reaches the
server's main process, and we watch how it ends and how the server exits. What the
layer recorded, what the client saw, the stop and the server's log make the record the
verdict (``verdicts/check_answer.py``) reads.
"""

from __future__ import annotations

import base64
import io
import tarfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.exceptions import AsgiMatrixError, CheckInputError
from asgi_matrix.measure.backends.observations import OBSERVATIONS, parse_events
from asgi_matrix.measure.backends.protocol import Backend
from asgi_matrix.measure.drive import lifecycle_scenarios as _lifecycle
from asgi_matrix.measure.drive import traffic as _traffic
from asgi_matrix.measure.drive.scenarios import Limits, for_server
from asgi_matrix.resources import PROBE_APP

CHECK_APP = "asgi_matrix_check:app"
TAG_HEADER = "x-asgi-matrix-check"  #: the layer reads it; the pattern apps read their own
HOLD_HEADER = "x-asgi-matrix-hold"
HOLD_S = 1.0  #: how long the stop scenario's request waits in the layer before the app gets it
HOLD_SEEN_S = 5.0  #: the held request reaches the layer in well under a second
LOG_LINES = 400  #: of the server's log (the backends keep its last 16 KiB)
#: the largest app folder sent into a container (as environment variables, base64)
MAX_SOURCE_BYTES = 1_000_000
_SOURCE_CHUNK = 100_000  #: under the kernel's limit on one environment string (128 KiB)
_SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules", ".mypy_cache",
                 ".ruff_cache", ".pytest_cache", ".tox", "build", "dist"}
_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class Request:
    """One request the user named: ``--get /health``, ``--post /items @body.json``."""

    method: str
    path: str
    body: bytes | None = None
    body_from: str = ""  #: the file the body came from, for the report
    content_type: str = ""  #: sent with the body: JSON for a .json file or JSON text

    def describe(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.body_from})" if self.body_from else "")


@dataclass(frozen=True)
class Plan:
    """What to check: the app, where it lives, what to send, what it needs installed."""

    app: str  #: module:attr
    app_dir: Path
    requests: tuple[Request, ...]
    requirements: tuple[str, ...] = ()
    requirements_from: str = ""  #: "requirements.txt", "virtualenv /path", or ""
    fresh: int = 3  #: per request, new connections one after another
    kept: int = 3  #: per request, on one kept-alive connection
    concurrent: int = 6  #: per request, at once on new connections
    hold_s: float = HOLD_S
    headers: tuple[tuple[str, str], ...] = ()  #: sent with every request (--header)


def with_requirements(config: ServerConfig, requirements: Sequence[str]) -> ServerConfig:
    """The configuration with the app's requirements beside its own; the app's pins of
    the server's own packages give way to the configuration's (it measures those)."""
    from packaging.requirements import InvalidRequirement, Requirement

    def name(spec: str) -> str:
        try:
            return Requirement(spec).name.lower().replace("_", "-")
        except InvalidRequirement:
            return spec.lower()

    own = {name(r) for r in config.requires}
    extra = [r for r in requirements if name(r) not in own]
    return replace(config, requires=(*config.requires, *extra))


def source_env(app_dir: Path) -> dict[str, str]:
    """The app's folder as environment variables, for a container (see the layer)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
            parts = Path(info.name).parts
            return None if _SKIPPED_DIRS & set(parts) or info.name.endswith(".pyc") else info
        tar.add(app_dir, arcname=".", filter=keep)
    data = base64.b64encode(buffer.getvalue()).decode()
    if len(data) > MAX_SOURCE_BYTES:
        raise CheckInputError(f"--app-dir {app_dir}: {len(data) // 1000} kB packed, over "
                              f"{MAX_SOURCE_BYTES // 1000} kB for a container; check a "
                              "smaller folder, or use --backend local")
    return {f"ASGI_MATRIX_CHECK_SOURCE_{i}": data[at:at + _SOURCE_CHUNK]
            for i, at in enumerate(range(0, len(data), _SOURCE_CHUNK))}


def _send(client: httpx.Client, base_url: str, request: Request, tag: str,
          kind: str, hold_s: float = 0.0,
          extra: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """One request; what the client saw, never an exception."""
    headers = {**dict(extra), TAG_HEADER: tag}
    if request.content_type:
        headers["content-type"] = request.content_type
    if hold_s:
        headers[HOLD_HEADER] = str(hold_s)
    record: dict[str, Any] = {"tag": tag, "method": request.method, "path": request.path,
                              "carrier": kind, "t_sent": time.monotonic()}
    try:
        response = client.request(request.method, f"{base_url}{request.path}",
                                  content=request.body, headers=headers)
        record["status"] = response.status_code
        if response.status_code >= 400:
            record["body"] = response.text[:300]
    except httpx.HTTPError as err:
        record["status"] = None
        record["error"] = f"{type(err).__name__}: {err}"
    record["t_done"] = time.monotonic()
    return record


def _fresh_client() -> httpx.Client:
    return httpx.Client(timeout=_TIMEOUT, verify=False, headers={"connection": "close"},
                        limits=httpx.Limits(max_keepalive_connections=0))


def send_traffic(base_url: str, plan: Plan) -> list[dict[str, Any]]:
    """Each named request: fresh one after another, kept alive, then all at once."""
    out: list[dict[str, Any]] = []
    with _fresh_client() as fresh, _traffic.one_connection(verify=False) as kept:
        for number, request in enumerate(plan.requests):
            out += [_send(fresh, base_url, request, f"r{number}-new-{i}", "new",
                          extra=plan.headers) for i in range(plan.fresh)]
            out += [_send(kept, base_url, request, f"r{number}-ka-{i}", "ka",
                          extra=plan.headers) for i in range(plan.kept)]
            with ThreadPoolExecutor(plan.concurrent) as pool:
                out += list(pool.map(
                    lambda i, r=request, n=number: _send(fresh, base_url, r, f"r{n}-conc-{i}",
                                                         "conc", extra=plan.headers),
                    range(plan.concurrent)))
    return out


def _stop_with_request_in_flight(server: Any, plan: Plan, limits: Limits,
                                 record: dict[str, Any]) -> None:
    """Hold the first named request in the layer, SIGTERM the server while it waits."""
    held: dict[str, Any] = {}

    def hold() -> None:
        with _fresh_client() as client:
            held.update(_send(client, server.base_url, plan.requests[0], "stop-held", "held",
                              plan.hold_s, plan.headers))

    thread = threading.Thread(target=hold, name="asgi-matrix-check-held", daemon=True)
    thread.start()
    record["held_in_place"] = _lifecycle.wait_for(
        server, lambda events: any(e.get("event") == "check.hold" for e in events)
        or not thread.is_alive(), HOLD_SEEN_S)
    record["alive_at_stop"] = server.is_alive()
    if not record["alive_at_stop"]:
        record["exited_early"] = _lifecycle.exit_of(server)
    t_signal = time.monotonic()
    record["stop"] = {**asdict(server.stop("main", limits.stop_s)), "t_signal": t_signal}
    thread.join(_TIMEOUT.read or 10.0)
    if thread.is_alive():
        held = {"tag": "stop-held", "status": None, "error": "no answer in time"}
    for key in ("t_sent", "t_done"):
        if key in held:
            held[f"{key[2:]}_after_signal_s"] = round(held[key] - t_signal, 3)
    record["held"] = held


def check_one(backend: Backend, config: ServerConfig, plan: Plan,
              limits: Limits) -> dict[str, Any]:
    """Everything seen of the app under one configuration (never raises for the server's
    doing: a failed preparation or start is in the record as ``error``)."""
    started = time.monotonic()
    record: dict[str, Any] = {"config": config.id, "server": config.server,
                              "backend": backend.kind, "threads": config.threads,
                              "workers": config.workers}
    try:
        prepared = backend.prepare(with_requirements(config, plan.requirements))
    except AsgiMatrixError as err:
        record.update(error=str(err), stage="prepare", log_tail=err.log_tail,
                      not_runnable=type(err).__name__ == "NotRunnable")
        return record
    if backend.kind == "docker":
        from asgi_matrix.measure.check_image import with_layer

        try:
            prepared = with_layer(getattr(backend, "client"), prepared)  # noqa: B009 (docker only)
        except AsgiMatrixError as err:
            record.update(error=str(err), stage="prepare", log_tail=err.log_tail)
            return record
    command = [arg.replace(PROBE_APP, CHECK_APP) for arg in prepared.command]
    record.update(command=command, versions=prepared.versions, python=prepared.python)
    env = {"ASGI_MATRIX_MODE": "normal", "ASGI_MATRIX_CHECK_APP": plan.app}
    if backend.kind == "local":
        env["ASGI_MATRIX_CHECK_DIR"] = str(plan.app_dir)
    else:
        env.update(source_env(plan.app_dir))
    try:
        with backend.start(replace(prepared, command=command), "check", env) as server:
            record["ready"] = _traffic.wait_ready(server.base_url, server.is_alive,
                                                  limits.ready_s)
            events, _ = parse_events(server.read_file(OBSERVATIONS))
            imported = any(e.get("event") == "check.import" and e.get("ok") for e in events)
            if record["ready"]["ok"] and imported:
                record["requests"] = send_traffic(server.base_url, plan)
                _stop_with_request_in_flight(server, plan, limits, record)
            else:
                record["stop"] = asdict(server.stop("main", limits.stop_s))
            record["events"], record["bad_lines"] = parse_events(
                server.read_file(OBSERVATIONS))
            record["log"] = server.log_tail(LOG_LINES)
    except AsgiMatrixError as err:
        record.update(error=str(err), stage="start", log_tail=err.log_tail)
    record["seconds"] = round(time.monotonic() - started, 3)
    return record


def check_all(backend: Backend, configs: Sequence[ServerConfig], plan: Plan, limits: Limits,
              jobs: int = 2, progress: Any = None) -> list[dict[str, Any]]:
    """Each configuration's record, in the order given; ``jobs`` at a time."""
    def one(config: ServerConfig) -> dict[str, Any]:
        record = check_one(backend, config, plan, for_server(limits, config.graceful_s))
        if progress is not None:
            progress(record)
        return record

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(one, configs))
