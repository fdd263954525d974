"""The pattern axis: each configuration serves the pattern apps, and we judge each one.

Patterns that cannot interfere share one server start: the server loads
``patterns.dispatch:app``, which mounts each pattern app under ``/p/<id>/`` and runs
their lifespans side by side. A framework app needs its own environment (its
requirements beside the server's), so it gets a start of its own. Each start: wait
until ready, send every pattern the same traffic (new connections one after another
and at once, then requests reusing one connection), stop the server with SIGTERM at
once, so background jobs are still running when the lifespans shut down, and read
what the apps recorded. Patterns with background jobs get their traffic last. Where the
catalogue says how a configuration calls an app factory (``factory``), the shared start
serves ``patterns.dispatch:create_app`` through it, so every app object the server makes
(per worker or per event loop) has pattern apps of its own; the cell's evidence says so.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from typing import Any

import httpx

from asgi_matrix.catalogue.patterns import Pattern
from asgi_matrix.exceptions import AsgiMatrixError
from asgi_matrix.measure import scenarios as _scenarios
from asgi_matrix.measure import traffic as _traffic
from asgi_matrix.measure.backend import Backend, Prepared
from asgi_matrix.measure.observations import OBSERVATIONS, parse_events
from asgi_matrix.resources import PROBE_APP
from asgi_matrix.verdicts.patterns import Needs, judge

DISPATCH_APP = "patterns.dispatch:app"
DISPATCH_FACTORY = "patterns.dispatch:create_app"
SEQUENTIAL = 3
CONCURRENT = 6
KEEPALIVE = 3
_TIMEOUT = httpx.Timeout(5.0)
#: each request's tag again as a header: a handler must see its own (probes/patterns/_kit.py)
TAG_HEADER = "x-asgi-matrix-tag"


def needs(pattern: Pattern) -> Needs:
    return Needs(pattern.id, lifespan=pattern.lifespan, jobs=pattern.jobs,
                 closes=pattern.closes, library=pattern.library)


def groups(patterns: Sequence[Pattern]) -> list[tuple[str, list[Pattern]]]:
    """Server starts, as the catalogue names them: raw patterns that cannot interfere
    share one; a framework app's patterns share its own."""
    out: dict[str, list[Pattern]] = {}
    for pattern in patterns:
        out.setdefault(pattern.start, []).append(pattern)
    return list(out.items())


def _get(client: httpx.Client, url: str, path: str, tag: str,
         connection: str) -> dict[str, Any]:
    """One request; the outcome, never an exception."""
    record: dict[str, Any] = {"tag": tag, "path": path, "t_sent": time.monotonic(),
                              "connection": connection}
    try:
        response = client.get(url + path, params={"tag": tag}, headers={TAG_HEADER: tag})
        record["status"] = response.status_code
        record["body"] = response.text[:500]
    except httpx.HTTPError as err:
        record["status"] = None
        record["error"] = f"{type(err).__name__}: {err}"
    record["t_done"] = time.monotonic()
    return record


def _one_pattern(fresh: httpx.Client, reused: httpx.Client, base_url: str,
                 path: str) -> list[dict[str, Any]]:
    out = [_get(fresh, base_url, path, f"seq-{i}", "new") for i in range(SEQUENTIAL)]
    with ThreadPoolExecutor(CONCURRENT) as pool:
        out += list(pool.map(lambda i: _get(fresh, base_url, path, f"conc-{i}", "new"),
                             range(CONCURRENT)))
    # then one after another on one kept-alive connection: the probe's own helper
    return out + _traffic.reused(base_url, "ka", KEEPALIVE, reused, path=path,
                                 tag_header=TAG_HEADER)


def send_traffic(base_url: str, patterns: Sequence[Pattern]) -> list[dict[str, Any]]:
    """Patterns without jobs one after another; then those with jobs all at once, so every
    job is still running when the stop signal follows."""
    # Two clients for the whole start: making one costs more CPU than many requests.
    # verify=False: plain HTTP on loopback, and no CA bundle to load.
    fresh = httpx.Client(timeout=_TIMEOUT, verify=False, headers={"connection": "close"},
                         limits=httpx.Limits(max_keepalive_connections=0))
    reused = httpx.Client(timeout=_TIMEOUT, verify=False,  # HTTP/1.1 keep-alive
                          limits=httpx.Limits(max_connections=1, max_keepalive_connections=1))
    out: list[dict[str, Any]] = []
    with fresh, reused:
        for pattern in (p for p in patterns if not p.jobs):
            out += _one_pattern(fresh, reused, base_url, pattern.path)
        with_jobs = [p for p in patterns if p.jobs]
        if with_jobs:
            with ThreadPoolExecutor(len(with_jobs)) as pool:
                for got in pool.map(lambda p: _one_pattern(fresh, reused, base_url, p.path),
                                    with_jobs):
                    out += got
    return out


def _env(patterns: Sequence[Pattern], shared: bool) -> dict[str, str]:
    env = {"ASGI_MATRIX_MODE": "normal", "ASGI_MATRIX_PATHS": ",".join(p.path for p in patterns)}
    if shared:
        env["ASGI_MATRIX_PATTERNS"] = ",".join(f"{p.id}={p.app}" for p in patterns)
    return env


def one_start(backend: Backend, prepared: Prepared, patterns: Sequence[Pattern],
              limits: _scenarios.Limits) -> dict[str, Any]:
    """Serve these patterns from one start of the server; what the client and apps saw."""
    shared = all(p.raw for p in patterns)
    if not shared:  # a framework: its own environment, the server's requirements + its own
        config = prepared.config
        prepared = backend.prepare(replace(config, requires=(*config.requires,
                                                             *patterns[0].requires)))
    factory = prepared.config.factory if shared else ()
    app = (DISPATCH_FACTORY if factory else DISPATCH_APP) if shared else patterns[0].app
    command = [*(arg.replace(PROBE_APP, app) for arg in prepared.command), *factory]
    started = time.monotonic()
    with backend.start(replace(prepared, command=command), "patterns",
                       _env(patterns, shared)) as server:
        if prepared.config.kind == "harness":
            # An in-process client sends every pattern's traffic itself: more time than
            # the probe's traffic, still bounded.
            record = _scenarios.harness(server, prepared, "main", replace(
                limits, harness_s=limits.harness_s + 2.0 * len(patterns)))
        else:
            record = {"ready": _traffic.wait_ready(server.base_url, server.is_alive,
                                                   limits.ready_s)}
            if record["ready"]["ok"]:
                record["requests"] = send_traffic(server.base_url, patterns)
            record["stop"] = asdict(server.stop("main", limits.stop_s))
            record["events"], record["bad_lines"] = parse_events(server.read_file(OBSERVATIONS))
            record["log_tail"] = server.log_tail()
    record["command"] = command
    record["app"] = {"reference": app, "factory": bool(factory),
                     **({"factory_args": list(factory)} if factory else {})}
    record["versions"] = prepared.versions
    record["seconds"] = round(time.monotonic() - started, 3)
    return record


def measure_patterns(backend: Backend, prepared: Prepared, patterns: Sequence[Pattern],
                     limits: _scenarios.Limits = _scenarios.LIMITS) -> dict[str, Any]:
    """pattern id -> verdict (status, explanation, evidence) and how its start went."""
    cells: dict[str, Any] = {}
    for start_name, group in groups(patterns):
        try:
            record = one_start(backend, prepared, group, limits)
        except AsgiMatrixError as err:
            record = {"ready": {"ok": False}, "error": str(err),
                      "log_tail": err.log_tail}
        for pattern in group:
            verdict = judge(needs(pattern), record)
            keep_log = verdict.status == "error" or not (record.get("ready") or {}).get("ok")
            cell = verdict.to_json()
            if "app" in record:  # how the server got the app: one object, or a factory
                cell["evidence"] = {**cell["evidence"], "app": record["app"]}
            cells[pattern.id] = {
                **cell, "start": start_name,
                "seconds": record.get("seconds"),
                "command": record.get("command", []),
                **({"versions": record["versions"]} if not pattern.raw
                   and record.get("versions") else {}),
                **({"log_tail": record.get("log_tail", "")} if keep_log else {}),
            }
    return cells
