"""The pattern axis: each configuration serves the pattern apps, and we judge each one.

Apps that cannot interfere share one server start: the server loads
``patterns.dispatch:app``, which mounts each app under ``/p/<id>/`` and runs their
lifespans side by side, each with its own lifespan messages and state. Raw patterns
run in the configuration's own environment; frameworks in one environment with the
server's requirements plus every sharing framework's; a start with a single framework
app (Django) serves it directly, so the app meets the server itself. Each start: wait
until ready, send every pattern the probe's traffic (new connections one after another
and at once; on one kept-alive connection, one request with a body over 64 KiB in
chunks; pipelined on one socket; streams on one HTTP/2 connection where the
configuration speaks it), stop the server with SIGTERM at once, so background jobs are
still running when the lifespans shut down, and read what the apps recorded. Patterns
with background jobs get their traffic last. Where the catalogue says how a
configuration calls an app factory (``factory``), a dispatched start serves
``patterns.dispatch:create_app`` through it, so every app object the server makes (per
worker or per event loop) has pattern apps of its own; the cell's evidence says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from typing import Any

import httpx

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.pattern_catalogue import Pattern
from asgi_matrix.exceptions import AsgiMatrixError
from asgi_matrix.measure.backends.observations import OBSERVATIONS, parse_events
from asgi_matrix.measure.backends.protocol import Backend, Prepared
from asgi_matrix.measure.drive import scenarios as _scenarios
from asgi_matrix.measure.drive import traffic as _traffic
from asgi_matrix.resources import PROBE_APP, PROBES_DIR
from asgi_matrix.verdicts.pattern_verdicts import pattern_cells

DISPATCH_APP = "patterns.dispatch:app"
DISPATCH_FACTORY = "patterns.dispatch:create_app"
SEQUENTIAL = 3
CONCURRENT = 6
KEEPALIVE = 3  #: the second carries the large body
PIPELINED = 3
HTTP2_STREAMS = 3
_TIMEOUT = httpx.Timeout(5.0)
#: at most this many starts side by side (alone, each pattern is a start of its own)
PARALLEL_STARTS = 4
#: each request's tag again as a header: a handler must see its own (probes/patterns/_kit.py)
TAG_HEADER = "x-asgi-matrix-tag"


def groups(patterns: Sequence[Pattern]) -> list[tuple[str, list[Pattern]]]:
    """Server starts, as the catalogue names them: patterns that cannot interfere share
    one."""
    out: dict[str, list[Pattern]] = {}
    for pattern in patterns:
        out.setdefault(pattern.start, []).append(pattern)
    return list(out.items())


def direct(patterns: Sequence[Pattern]) -> bool:
    """A start with a single framework app: the server loads it itself."""
    return not patterns[0].raw and len({p.app for p in patterns}) == 1


def own_factory(pattern: Pattern) -> str:
    """``module:create_app`` where the pattern's module has an app factory (the one the
    dispatcher's ``create_app`` calls for it), else ""."""
    module = pattern.app.partition(":")[0]
    source = PROBES_DIR.joinpath(*module.split(".")).with_suffix(".py")
    found = source.is_file() and "\ndef create_app(" in source.read_text()
    return f"{module}:create_app" if found else ""


def requirements(patterns: Sequence[Pattern]) -> tuple[str, ...]:
    """What a start's apps need beside the server: every sharing framework's."""
    return tuple(sorted({r for p in patterns for r in p.requires}))


class Clients:
    """The clients of one start, made once: making one costs more CPU than many requests.
    verify=False: plain HTTP on loopback, and no CA bundle to load."""

    def __init__(self, http2: bool) -> None:
        self.fresh = httpx.Client(timeout=_TIMEOUT, verify=False,
                                  headers={"connection": "close"},
                                  limits=httpx.Limits(max_keepalive_connections=0))
        self.kept = _traffic.one_connection(verify=False)
        self.h2 = _traffic.one_connection(http2=True, verify=False) if http2 else None

    def close(self) -> None:
        for client in (self.fresh, self.kept, self.h2):
            if client is not None:
                client.close()


def _one_pattern(clients: Clients, base_url: str, path: str) -> list[dict[str, Any]]:
    """The probe's traffic, to this pattern's path, each request's carrier on record."""
    def fresh(tag: str) -> dict[str, Any]:
        return {**_traffic.send(clients.fresh, base_url, path, tag, tag_header=TAG_HEADER),
                "connection": "new"}

    out = [fresh(f"seq-{i}") for i in range(SEQUENTIAL)]
    with ThreadPoolExecutor(CONCURRENT) as pool:
        out += list(pool.map(lambda i: fresh(f"conc-{i}"), range(CONCURRENT)))
    out += _traffic.reused(base_url, "ka", KEEPALIVE, clients.kept, large_body_at=1,
                           path=path, tag_header=TAG_HEADER)
    out += _traffic.pipelined(base_url, PIPELINED, path=path,
                              tag_header=TAG_HEADER)["requests"]
    if clients.h2 is not None:
        out += _traffic.reused(base_url, "h2", HTTP2_STREAMS, clients.h2, path=path,
                               tag_header=TAG_HEADER)
    return out


def send_traffic(base_url: str, patterns: Sequence[Pattern],
                 http2: bool = False) -> list[dict[str, Any]]:
    """Patterns without jobs one after another; then those with jobs all at once, so every
    job is still running when the stop signal follows."""
    clients = Clients(http2)
    out: list[dict[str, Any]] = []
    try:
        for pattern in (p for p in patterns if not p.jobs):
            out += _one_pattern(clients, base_url, pattern.path)
        with_jobs = [p for p in patterns if p.jobs]
        if with_jobs:
            with ThreadPoolExecutor(len(with_jobs)) as pool:
                for got in pool.map(lambda p: _one_pattern(clients, base_url, p.path),
                                    with_jobs):
                    out += got
    finally:
        clients.close()
    return out


def _env(patterns: Sequence[Pattern], dispatched: bool) -> dict[str, str]:
    env = {"ASGI_MATRIX_MODE": "normal", "ASGI_MATRIX_PATHS": ",".join(p.path for p in patterns)}
    if dispatched:
        env["ASGI_MATRIX_PATTERNS"] = ",".join(p.mount for p in patterns)
    return env


def changed(config: ServerConfig, before: dict[str, str],
            after: dict[str, str]) -> dict[str, list[str]]:
    """The configuration's own packages whose versions the start's extra requirements
    moved: {name: [alone, here]} (empty where the frameworks cannot interfere)."""
    from packaging.requirements import InvalidRequirement, Requirement

    names = set()
    for spec in config.requires:
        try:
            names.add(Requirement(spec).name.lower())
        except InvalidRequirement:
            continue
    return {n: [before[n], after.get(n, "")] for n in sorted(names)
            if n in before and before[n] != after.get(n)}


def one_start(backend: Backend, prepared: Prepared, patterns: Sequence[Pattern],
              limits: _scenarios.Limits, name: str = "patterns",
              alone: bool = False) -> dict[str, Any]:
    """Serve these patterns from one start of the server; what the client and apps saw.
    ``name``: the start's own, so starts side by side get distinct containers and folders;
    ``alone``: the server loads the one pattern's app itself, no dispatcher."""
    config, own_versions = prepared.config, prepared.versions
    checked = time.monotonic()
    if extra := requirements(patterns):  # the server's requirements + the frameworks'
        prepared = backend.prepare(replace(config, requires=(*config.requires, *extra)))
    dispatched = not (alone or direct(patterns))
    factory = config.factory if dispatched else ()
    app = (DISPATCH_FACTORY if factory else DISPATCH_APP) if dispatched else patterns[0].app
    if alone and config.factory and (own := own_factory(patterns[0])):
        app, factory = own, config.factory  # as the dispatcher's create_app would call it
    command = [*(arg.replace(PROBE_APP, app) for arg in prepared.command), *factory]
    started = time.monotonic()
    with backend.start(replace(prepared, command=command), name,
                       _env(patterns, dispatched)) as server:
        if prepared.config.kind == "harness":
            # An in-process client sends every pattern's traffic itself: more time than
            # the probe's traffic, still bounded.
            record = _scenarios.harness(server, prepared, "main", replace(
                limits, harness_s=limits.harness_s + 2.0 * len(patterns)))
        else:
            record = {"ready": _traffic.wait_ready(server.base_url, server.is_alive,
                                                   limits.ready_s)}
            if record["ready"]["ok"]:
                record["requests"] = send_traffic(server.base_url, patterns, config.http2)
            record["stop"] = asdict(server.stop("main", limits.stop_s))
            record["events"], record["bad_lines"] = parse_events(server.read_file(OBSERVATIONS))
            record["log_tail"] = server.log_tail()
    record["command"] = command
    record["app"] = {"reference": app, "factory": bool(factory),
                     **({"factory_args": list(factory)} if factory else {})}
    record["versions"] = prepared.versions
    if extra:
        record["changed"] = changed(config, own_versions, prepared.versions)
    record["seconds"] = round(time.monotonic() - started, 3)
    record["prepare_s"] = round(started - checked, 3)  # its environment's check (bench)
    return record


def elsewhere(patterns: Sequence[Pattern], libraries: set[str]) -> str:
    """Why this start is not made: every app in it is built for an event loop library the
    probe's requests never ran on here ("" when some app can run)."""
    if not libraries or any(p.library == "anyio" or p.library in libraries for p in patterns):
        return ""
    return (f"the probe's requests on this configuration ran on "
            f"{' and '.join(sorted(libraries))}; this app is built on "
            f"{patterns[0].library}, so it was not started here")


def record_patterns(backend: Backend, prepared: Prepared, patterns: Sequence[Pattern],
                    limits: _scenarios.Limits = _scenarios.LIMITS,
                    libraries: set[str] | None = None, alone: bool = False
                    ) -> dict[str, dict[str, Any]]:
    """start name -> what that server start recorded, with the ids of the patterns it
    served (``patterns``); a start not made says why (``not_started``). Judged by
    verdicts.pattern_verdicts.pattern_cells.

    ``libraries``: the event loop libraries the probe's requests ran on (its main
    scenario); a start whose every app is built for another is not made. ``alone``: each
    pattern in a start of its own, its app loaded by the server itself (no dispatcher):
    what the shared starts must agree with."""
    records: dict[str, dict[str, Any]] = {}
    made = []
    starts = ([(f"alone-{p.id}", [p]) for p in patterns] if alone else groups(patterns))
    for start_name, group in starts:
        if why := elsewhere(group, libraries or set()):
            records[start_name] = {"patterns": [p.id for p in group], "not_started": why,
                                   "libraries": sorted(libraries or ())}
        else:
            made.append((start_name, group))

    def start(name: str, group: list[Pattern]) -> dict[str, Any]:
        try:  # "patterns-patterns", "patterns-frameworks", ...: one container name each
            record = one_start(backend, prepared, group, limits, f"patterns-{name}", alone)
        except AsgiMatrixError as err:
            record = {"ready": {"ok": False}, "error": str(err), "log_tail": err.log_tail}
        return {"patterns": [p.id for p in group], **record}

    # The starts are separate processes on their own ports and folders, and most of each
    # is waiting (readiness, background jobs' tail, the stop): side by side, not in turn.
    with ThreadPoolExecutor(max(1, min(len(made), PARALLEL_STARTS))) as pool:
        for (start_name, _), record in zip(made, pool.map(lambda named: start(*named), made),
                                           strict=True):
            records[start_name] = record
    return records


def measure_patterns(backend: Backend, prepared: Prepared, patterns: Sequence[Pattern],
                     limits: _scenarios.Limits = _scenarios.LIMITS,
                     libraries: set[str] | None = None, alone: bool = False) -> dict[str, Any]:
    """pattern id -> verdict (status, explanation, evidence) and how its start went:
    record_patterns, judged."""
    return pattern_cells(patterns, record_patterns(backend, prepared, patterns, limits,
                                                   libraries, alone))
