"""Running the matrix: every selected configuration, in parallel, into one document.

A configuration that cannot be measured becomes an error cell with its reason and
log tail; the run goes on. The partial document is rewritten after each configuration
(results/partial.py), so an interrupted run keeps everything measured so far and lists
what was not run. A write that fails (a full disk) stops the run: servers are stopped and
both documents stay as they were last written.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.pattern_catalogue import Pattern, for_releases, suite_hashes
from asgi_matrix.exceptions import AsgiMatrixError, NotRunnable
from asgi_matrix.measure import schedule as _schedule
from asgi_matrix.measure.backends import releases as _releases
from asgi_matrix.measure.backends.protocol import Backend, Prepared
from asgi_matrix.measure.cell_cache import CellCache
from asgi_matrix.measure.drive.pattern_starts import record_patterns
from asgi_matrix.measure.drive.scenarios import (
    LIMITS,
    Limits,
    for_server,
    run_scenario,
    scenarios_for,
)
from asgi_matrix.results import document as _results
from asgi_matrix.results import history as _history
from asgi_matrix.results.partial import PartialResults
from asgi_matrix.verdicts import PROPERTIES, Verdict, facts, summary
from asgi_matrix.verdicts.judge import attempt_verdicts, judge, observations
from asgi_matrix.verdicts.pattern_verdicts import pattern_cells

Progress = Callable[[str], None]


def _error_cell(config: ServerConfig, reason: str, log_tail: str = "") -> dict[str, Any]:
    return {**_identity(config), "status": "error", "reason": reason, "log_tail": log_tail,
            "verdicts": {p.id: Verdict("error", reason).to_json() for p in PROPERTIES}}


def _identity(config: ServerConfig) -> dict[str, Any]:
    return {"id": config.id, "server": config.server, "kind": config.kind,
            "axes": config.axes(), "requires": list(config.requires),
            "declared": {"websocket": config.websocket, "lifespan": config.lifespan,
                         **({"http_impl": config.http_impl} if config.http_impl else {})},
            **({"release": config.release.to_json()} if config.release else {}),
            **({"flag": {"args": config.flag, "of": config.flag_of}} if config.flag else {}),
            **({"pinned": config.pinned} if config.pinned else {})}


def measure(config: ServerConfig, backend: Backend, repeat: int = 1,
            cancelled: threading.Event | None = None, limits: Limits = LIMITS,
            patterns: Sequence[Pattern] = ()) -> dict[str, Any]:
    """All scenarios of one configuration, ``repeat`` times; verdicts with evidence."""
    started = time.monotonic()
    limits = for_server(limits, config.graceful_s)
    try:
        prepared: Prepared = (_releases.prepare(backend, config) if config.release
                              else backend.prepare(config))
        prepared_at = time.monotonic()
    except NotRunnable as err:
        command = (f"{err.prefix}asgi-matrix run --config {config.id}"
                   + (f" {err.hint}" if err.hint else ""))
        return {**_identity(config), "status": "not-run", "reason": str(err),
                "try": command, "verdicts": {}}
    except AsgiMatrixError as err:
        return _error_cell(config, str(err), err.log_tail)
    # The pattern starts run beside this configuration's other scenarios, from the moment
    # the main scenario showed the server serving: both are mostly waiting (readiness,
    # the slow request, stops and their grace), and no process, port or folder is shared.
    with ThreadPoolExecutor(1, thread_name_prefix=f"patterns-{config.id}") as background:
        phase: list[Future[dict[str, Any]]] = []

        def on_main(main: dict[str, Any]) -> None:
            if patterns and not phase and _served(main):
                phase.append(background.submit(record_patterns, backend, prepared, patterns,
                                               limits, _libraries(main)))

        attempts, per_attempt = _attempts(config, backend, prepared, repeat, cancelled,
                                          limits, on_main)
        scenarios_at = time.monotonic()
        starts = phase[0].result() if phase else None
    patterns_at = time.monotonic()
    judged = judge(config, per_attempt, attempts[-1]["scenarios"])
    main = attempts[-1]["scenarios"].get("main", {})
    pattern_fields: dict[str, Any] = {}
    if starts is not None and judged["status"] == "measured" and not (
            cancelled is not None and cancelled.is_set()):
        # the records beside the cells, as the scenarios beside the verdicts: the cell
        # cache judges both again
        pattern_fields = {"patterns": pattern_cells(patterns, starts), "pattern_starts": starts}
    ended = time.monotonic()
    # where this cell's wall time went, phase by phase (bench/bench_matrix.py adds them up)
    timings = {"prepare_s": prepared_at - started,  # the environment check (or its build)
               "scenarios_s": scenarios_at - prepared_at,  # every attempt's starts, in turn
               "patterns_after_s": patterns_at - scenarios_at,  # pattern starts outlasting them
               "judge_s": ended - patterns_at + sum(a.get("judge_s", 0.0) for a in attempts)}
    return {
        **_identity(config),
        "status": judged["status"],
        "reason": judged["reason"],
        "command": prepared.command,
        "python": prepared.python,
        "versions": prepared.versions,
        "provenance": prepared.provenance,
        "facts": judged["facts"],
        "verdicts": judged["verdicts"],
        "log_tail": main.get("log_tail", ""),
        "attempts": attempts,
        **pattern_fields,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "seconds": round(ended - started, 3),
    }


def _attempts(config: ServerConfig, backend: Backend, prepared: Prepared, repeat: int,
              cancelled: threading.Event | None, limits: Limits,
              on_main: Callable[[dict[str, Any]], None]
              ) -> tuple[list[dict[str, Any]], list[dict[str, Verdict]]]:
    """Every scenario, ``repeat`` times; ``on_main`` gets each attempt's main scenario."""
    attempts: list[dict[str, Any]] = []
    per_attempt: list[dict[str, Verdict]] = []
    for _ in range(repeat):
        scenarios: dict[str, dict[str, Any]] = {}
        t0 = time.monotonic()
        for scenario in _judged(scenarios_for(prepared)):
            if cancelled is not None and cancelled.is_set():
                scenarios[scenario] = {"scenario": scenario, "error": "the run was interrupted"}
                continue
            if _never_ready(scenarios.get("main")):
                # One bounded wait is enough to know; don't pay it four times.
                scenarios[scenario] = {"scenario": scenario, "error": "not run: the server did "
                                       "not become ready in the main scenario"}
                continue
            try:
                main_events = scenarios.get("main", {}).get("events", [])
                expected = sum(e.get("event") == "lifespan.startup" for e in main_events)
                scenarios[scenario] = run_scenario(backend, prepared, scenario, limits, expected)
            except AsgiMatrixError as err:
                scenarios[scenario] = {"scenario": scenario, "error": str(err),
                                       "log_tail": err.log_tail}
            if scenario == "main":
                on_main(scenarios["main"])
        judging = time.monotonic()
        per_attempt.append(attempt_verdicts(config, scenarios))
        attempts.append({"seconds": round(time.monotonic() - t0, 3), "scenarios": scenarios,
                         "facts": facts(observations(config, scenarios)),
                         "judge_s": round(time.monotonic() - judging, 3)})
    return attempts, per_attempt


def _judged(scenarios: list[str]) -> list[str]:
    """The scenarios some property is judged from ("main" always: the others rely on it)."""
    used = {p.scenario for p in PROPERTIES}
    return [s for s in scenarios if s == "main" or s in used]


def _pattern_summary(cells: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(summary(cells).items()))


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def progress_line(done: int, total: int, config_id: str, cell: dict[str, Any], kept: bool,
                  elapsed_s: float) -> str:
    """One configuration finished: "[3/14] uvicorn: measured pass=30 ...; 1:05 elapsed,
    about 3:40 left". A cell cut by an interrupt says "not run (interrupted)", as the
    results will: no line claims a measurement the run then drops."""
    clock = f"{_clock(elapsed_s)} elapsed"
    if done < total:
        clock += f", about {_clock(elapsed_s / done * (total - done))} left"
    if not kept:
        return f"[{done}/{total}] {config_id}: not run (interrupted); {clock}"
    counts = summary(cell.get("verdicts", {}))
    shapes = _pattern_summary(cell.get("patterns", {}))
    return (f"[{done}/{total}] {config_id}: {cell['status']} "
            + " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
            + (f"; patterns {shapes}" if shapes else "")
            + f" ({cell.get('seconds', 0):.1f} s"
            + (f", cached from {cell.get('measured_at')})" if cell.get("cached") else ")")
            + f"; {clock}")


def _served(main: dict[str, Any]) -> bool:
    """The main scenario saw the server (or the harness) serve the probe."""
    return not main.get("error") and not _never_ready(main) and bool(main.get("events"))


def _libraries(main: dict[str, Any]) -> set[str]:
    """The event loop libraries the probe's own requests ran on: a pattern start of apps
    built for another one is not made (its cells say so)."""
    return {str(e["async_library"]) for e in main.get("events", []) if e.get("async_library")}


def _never_ready(main: dict[str, Any] | None) -> bool:
    return main is not None and not (main.get("ready") or {}).get("ok", True)


def run_matrix(configs: Sequence[ServerConfig], backend: Backend, out_dir: Path,
               jobs: int = 1, repeat: int = 1, progress: Progress = lambda line: None,
               extra_run: dict[str, Any] | None = None, limits: Limits = LIMITS,
               cache: CellCache | None = None,
               patterns: Sequence[Pattern] = (),
               release_patterns: Sequence[Pattern] | None = None) -> tuple[Path, dict[str, Any]]:
    """Measure ``configs`` into ``out_dir/results.partial.json``, then (if not interrupted)
    put it in place of ``out_dir/results.json``; returns the path written and the document.

    Configurations pinned to a release measure ``release_patterns`` (default: the raw
    ones of ``patterns``, see catalogue.pattern_catalogue.for_releases)."""
    if release_patterns is None:
        release_patterns = for_releases(patterns, named=False)
    files = PartialResults(out_dir)
    # several at once: longest first, by what the previous run here recorded (read
    # before anything is written over it), else by the catalogue's estimate
    ordered = _schedule.order(configs, _schedule.previous_durations(files.path),
                              len(patterns), jobs)
    if kept := files.keep_unfinished():  # a run before this one did not finish
        progress(kept)
    run = {"id": uuid.uuid4().hex[:12], "started": _results.now(), "finished": None,
           "backend": backend.kind, "jobs": jobs, "repeat": repeat,
           "selected": [c.id for c in configs], "not_run": [], "interrupted": False,
           **(extra_run or {})}
    document = _results.new_document(run)
    if ended := backend.end_leftovers():
        progress(f"ended {ended} leftover(s) of an earlier run that was killed")
    _describe_patterns(document, configs, patterns, release_patterns)
    lock = threading.Lock()
    cancelled = threading.Event()

    def stop(why: str) -> None:
        cancelled.set()
        backend.stop_all()  # no orphans: every server we started goes down with us
        progress(f"{why}: stopping servers")

    done = 0
    said: set[str] = set()
    try:
        started = time.monotonic()

        def measure(config: ServerConfig) -> dict[str, Any]:
            if not cancelled.is_set():  # a line as each starts: no silent first minute
                progress(f"measuring {config.id} ...")
            return _guarded(config, backend, repeat, cancelled, limits, cache,
                            release_patterns if config.release else patterns)

        with _stopping_on_signals(stop), \
                ThreadPoolExecutor(max(1, jobs), thread_name_prefix="asgi-matrix") as pool:
            futures = {pool.submit(measure, c): c for c in ordered}
            for future in as_completed(futures):
                config = futures[future]
                cell = future.result()
                done += 1
                keep = not (cancelled.is_set() and cell.get("interrupted"))
                with lock:
                    if not keep:
                        run["not_run"].append({"id": config.id, "reason": "interrupted"})
                    else:
                        document["configurations"][config.id] = cell
                    if err := files.write(document):  # stop: nothing more could be kept
                        stop(f"cannot write {files.partial}: {err.strerror or err}")
                reason = cell.get("reason") or ""
                if keep and cell["status"] == "not-run" and reason and reason not in said:
                    said.add(reason)  # one line per cause, however many cells share it
                    progress(f"not run: {reason}")
                progress(progress_line(done, len(configs), config.id, cell, keep,
                                       time.monotonic() - started))
    finally:
        backend.close()  # networks and the like that outlive single scenarios
    run["interrupted"] = cancelled.is_set()
    run["finished"] = _results.now()
    order = {c.id: i for i, c in enumerate(configs)}
    document["configurations"] = dict(sorted(document["configurations"].items(),
                                             key=lambda kv: order.get(kv[0], 0)))
    _history.attach(document)
    return files.finish(document, complete=not cancelled.is_set()), document


def _describe_patterns(document: dict[str, Any], configs: Sequence[ServerConfig],
                       patterns: Sequence[Pattern], release_patterns: Sequence[Pattern]
                       ) -> None:
    """The patterns some configuration measures: the document describes each once."""
    patterns_all = list(dict.fromkeys(
        [*(patterns if any(c.release is None for c in configs) else ()),
         *(release_patterns if any(c.release is not None for c in configs) else ())]))
    if patterns_all:
        document["run"]["patterns"] = [p.id for p in patterns_all]
        document["patterns"] = {p.id: p.to_json() for p in patterns_all}
        # each pattern's code, as the probe's: merge and diff compare them per pattern
        document["suite"] = {**document["suite"], "patterns_sha256": suite_hashes(patterns_all)}


@contextmanager
def _stopping_on_signals(stop: Callable[[str], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``stop`` while the run lasts (from the main thread only:
    Python delivers signals there)."""
    def on_signal(signum: int, frame: Any) -> None:
        stop(f"interrupted by {signal.Signals(signum).name}")

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _guarded(config: ServerConfig, backend: Backend, repeat: int,
             cancelled: threading.Event, limits: Limits,
             cache: CellCache | None = None,
             patterns: Sequence[Pattern] = ()) -> dict[str, Any]:
    if cancelled.is_set():
        return {**_identity(config), "status": "not-run", "interrupted": True}
    if cache is not None and (cached := cache.get(config, patterns)) is not None:
        return cached  # this release was measured before by this probe suite
    try:
        cell = measure(config, backend, repeat, cancelled, limits, patterns)
    except Exception as err:  # a bug of ours in one cell must not lose the others
        cell = _error_cell(config, f"internal error: {type(err).__name__}: {err}")
    if cancelled.is_set():
        cell["interrupted"] = True
    elif cache is not None:
        cache.put(config, cell, patterns)
    return cell
