"""The asgi-matrix probe: a raw ASGI 3 app that writes down how it is being run.

No framework: a framework would hide exactly what we measure. One JSON object per
line is appended to the file named by ``ASGI_MATRIX_OBS`` for every lifespan event,
request and WebSocket, with the process, thread, interpreter, event loop and task
that ran it, and whether what the lifespan set up is visible there.

The seed scenario of asgiref PR #277 is built in: the lifespan opens an anyio task
group and keeps it open until shutdown; every request starts a small job in it and
waits for it, bounded. The task group is kept per event loop (the RunVar pattern of
that thread), so the job only runs when the request's own loop ran a lifespan.

Environment (set by the runner):
  ASGI_MATRIX_OBS              observation file (JSON lines, appended)
  ASGI_MATRIX_MODE             normal | startup-fail | reject-lifespan | lifespan-task
                               (lifespan-task: the lifespan keeps a ticker running in the
                               task group it opened until lifespan.shutdown comes)
  ASGI_MATRIX_STARTUP_DELAY_S  time the startup takes (default 0.1): catches servers
                               that serve before startup completes
  ASGI_MATRIX_SLOW_S           duration of /slow (default 1.0)

Beside it, the naive pattern of that thread: the task group the last lifespan opened,
kept on a module-level object (``_NAIVE``, as an app object would). Each request also
starts a job there and waits for it, bounded: on a server running several loops the job
lands in another loop's task group and never runs (anyio 4 cancels it silently).

Each request also reads, then sets, a per-request contextvar (``REQUEST_MARK``): a request
that sees a mark another request set shares that request's context. Its connection is
named by ``scope["client"]`` (the client's port); the tag names the HTTP/2 stream.

Endpoints: ``/fast``, ``/slow``, WebSocket ``/ws`` (echoes one message); any body sent is
read to its end and counted. The query string's ``tag`` names the request in the
observations. For the stop with things open:
``/stream`` sends a chunk every 50 ms until it gets ``http.disconnect`` (an endless
server-sent-events stream), WebSocket ``/ws-hold`` accepts, says "held" and waits for
``websocket.disconnect``; both write how they ended (``hold.end``). Mode
``startup-hang`` makes the lifespan startup never finish (``lifespan.startup.hang``).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.abc
import anyio.lowlevel

#: Set during lifespan startup; a request that sees it shares the lifespan's context.
STARTUP_TOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "asgi_matrix_startup_token", default=None
)

#: Set by every request to its own mark; a request that finds one set sees another's context.
REQUEST_MARK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "asgi_matrix_request_mark", default=None
)

NAIVE_WAIT_S = 0.5  #: how long a request waits for its job in the naively kept task group

#: Per event loop (asyncio loop or trio run): its identity and the lifespan's task group.
_LOOP: anyio.lowlevel.RunVar[dict[str, Any]] = anyio.lowlevel.RunVar("asgi_matrix_loop")

#: The naive module-level pattern: the last task group any lifespan opened.
_NAIVE: dict[str, Any] = {}

_lock = threading.Lock()
_inflight = 0
_seq = 0
_fd: int | None = None
_fd_pid: int | None = None


def _mode() -> str:
    return os.environ.get("ASGI_MATRIX_MODE", "normal")


def _interpreter_id() -> int:
    for name in ("concurrent.interpreters", "_interpreters", "_xxsubinterpreters"):
        try:
            mod = __import__(name, fromlist=["get_current"])
            current = mod.get_current()
        except Exception:
            continue
        got = getattr(current, "id", current)
        if isinstance(got, tuple):  # _interpreters.get_current() -> (id, whence)
            got = got[0]
        try:
            return int(got)
        except (TypeError, ValueError):
            continue
    return 0


def _write(record: dict[str, Any]) -> None:
    """Append one line with a single write(2), so processes and threads never interleave."""
    global _fd, _fd_pid, _seq
    path = os.environ.get("ASGI_MATRIX_OBS")
    if not path:
        return
    with _lock:
        if _fd is None or _fd_pid != os.getpid():  # a forked child opens its own
            _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            _fd_pid = os.getpid()
        _seq += 1
        record["seq"] = _seq
        os.write(_fd, (json.dumps(record, default=repr) + "\n").encode())


def _async_library() -> str:
    """asyncio or trio, found without sniffio (anyio no longer needs it installed)."""
    try:
        asyncio.get_running_loop()
        return "asyncio"
    except RuntimeError:
        pass
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
            return "trio"
        except RuntimeError:
            pass
    return "unknown"


def _loop_info() -> dict[str, Any]:
    """The identity of the running event loop, made once per loop."""
    try:
        return _LOOP.get()
    except LookupError:
        pass
    library = _async_library()
    if library == "asyncio":
        loop = asyncio.get_running_loop()
        cls = type(loop)
        loop_class = f"{cls.__module__}.{cls.__qualname__}"
        kind = "uvloop" if cls.__module__.startswith("uvloop") else "asyncio"
    else:
        loop_class, kind = library, library
    info = {
        "loop_id": uuid.uuid4().hex[:12],
        "loop_kind": kind,
        "loop_class": loop_class,
        "task_group": None,
        "lifespan_token": None,
        "inflight": 0,
    }
    _LOOP.set(info)
    return info


def _current_task() -> str:
    library = _async_library()
    try:
        if library == "trio":
            import trio

            task = trio.lowlevel.current_task()
            return f"{task.name}@{id(task):x}"
        task = asyncio.current_task()
        if task is not None:
            return f"{task.get_name()}@{id(task):x}"
    except Exception:
        pass
    return "unknown"


def _where() -> dict[str, Any]:
    loop = _loop_info()
    thread = threading.current_thread()
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "thread_id": threading.get_ident(),
        "thread_name": thread.name,
        "interpreter": _interpreter_id(),
        "python": sys.version.split()[0],
        "loop_id": loop["loop_id"],
        "loop_kind": loop["loop_kind"],
        "loop_class": loop["loop_class"],
        "async_library": _async_library(),
        "task": _current_task(),
        "t": time.monotonic(),
        "wall": time.time(),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)  # e.g. peregrine's scope["asgi"] is a read-only mappingproxy
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _where_safe() -> dict[str, Any]:
    """``_where()``, or as much of it as can be known where no event loop is running."""
    try:
        return _where()
    except Exception:
        thread = threading.current_thread()
        return {"pid": os.getpid(), "ppid": os.getppid(), "thread_id": threading.get_ident(),
                "thread_name": thread.name, "interpreter": _interpreter_id(),
                "python": sys.version.split()[0], "loop_id": None, "loop_kind": None,
                "async_library": "none", "t": time.monotonic(), "wall": time.time()}


class _Deliberate(RuntimeError):
    """An error the probe raises on purpose (reject-lifespan): not a finding of its own."""


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    kind = scope.get("type")
    try:
        if kind == "lifespan":
            await _lifespan(scope, receive, send)
        elif kind == "http":
            await _http(scope, receive, send)
        elif kind == "websocket":
            await _websocket(scope, receive, send)
        else:  # a server's own lifecycle scope: record it as evidence, then do nothing
            _write({"event": "scope", "scope_type": str(kind),
                    "asgi": _jsonable(scope.get("asgi")),
                    "scope_keys": sorted(str(k) for k in scope), **_where()})
    except _Deliberate:
        raise
    except Exception as exc:
        # Where the app cannot even run (no event loop around its first step, ...): the
        # server only shows a 500; this record says why.
        _write({"event": "app.error", "scope_type": str(kind),
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=6), **_where_safe()})
        raise


async def _lifespan(scope: dict[str, Any], receive: Any, send: Any) -> None:
    where = _where()
    if _mode() == "reject-lifespan":
        _write({"event": "lifespan.rejected", "asgi": _jsonable(scope.get("asgi")), **where})
        raise _Deliberate("asgi-matrix probe: this app does not support lifespan")
    message = await receive()
    t_received = time.monotonic()
    if _mode() == "startup-hang" and message["type"] == "lifespan.startup":
        await _hang_startup()
    if message["type"] != "lifespan.startup":
        _write({"event": "lifespan.unexpected", "message_type": message["type"], **where})
        return
    token = uuid.uuid4().hex[:12]
    state = scope.get("state")
    has_state = isinstance(state, dict)
    if has_state:
        state["token"] = token
    STARTUP_TOKEN.set(token)
    await anyio.sleep(float(os.environ.get("ASGI_MATRIX_STARTUP_DELAY_S", "0.1")))
    if _mode() == "startup-fail":
        _write({"event": "lifespan.startup", "outcome": "failed", "token": token,
                "t_received": t_received, "asgi": _jsonable(scope.get("asgi")),
                "state_present": has_state, **_where()})
        await send({"type": "lifespan.startup.failed",
                    "message": "asgi-matrix probe: startup failure requested"})
        return
    loop = _loop_info()
    try:
        async with anyio.create_task_group() as task_group:
            loop["task_group"], loop["lifespan_token"] = task_group, token
            _NAIVE["task_group"], _NAIVE["loop_id"] = task_group, loop["loop_id"]
            ticks = [0]
            if _mode() == "lifespan-task":  # a long-lived task, as apps keep a ticker
                task_group.start_soon(_ticker, ticks)
            _write({"event": "lifespan.startup", "outcome": "complete", "token": token,
                    "t_received": t_received, "asgi": _jsonable(scope.get("asgi")),
                    "state_present": has_state, **_where()})
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            _write({"event": "lifespan.shutdown", "message_type": message["type"],
                    "token": token, "inflight_process": _inflight,
                    "inflight_loop": loop["inflight"],
                    **({"ticks": ticks[0]} if _mode() == "lifespan-task" else {}), **_where()})
            loop["task_group"] = None
            if _mode() == "lifespan-task":
                task_group.cancel_scope.cancel()  # the ticker ends with the lifespan
    except BaseException:
        _write({"event": "lifespan.error", "error": traceback.format_exc(limit=3), **_where()})
        await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
        raise
    await send({"type": "lifespan.shutdown.complete"})


async def _ticker(ticks: list[int]) -> None:
    """Runs until cancelled, as a lifespan's periodic job does; counts its ticks."""
    _write({"event": "lifespan.task", "phase": "started", **_where()})
    while True:
        await anyio.sleep(0.05)
        ticks[0] += 1


async def _job_in_lifespan_task_group() -> dict[str, Any]:
    """The seed scenario: run a small job in this loop's lifespan task group and wait."""
    loop = _loop_info()
    task_group = loop["task_group"]
    result: dict[str, Any] = {"ran": False, "error": None, "job_loop_id": None,
                              "naive_same_loop": _NAIVE.get("loop_id") == loop["loop_id"]}
    if task_group is None:
        result["error"] = "no lifespan task group is open on this event loop"
        return result
    done = anyio.Event()

    async def job() -> None:
        result["job_loop_id"] = _loop_info()["loop_id"]
        await anyio.sleep(0)
        done.set()

    try:
        task_group.start_soon(job)
        with anyio.fail_after(1):
            await done.wait()
        result["ran"] = True
    except TimeoutError:
        result["error"] = "the job did not run within 1 s"
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


async def _job_in_naive_task_group() -> dict[str, Any]:
    """The naive pattern of asgiref PR #277: the task group kept on an app-level object.

    The job reports back through a plain dict and the request polls it: if the job ran on
    another loop's thread, an anyio.Event set there would never wake this loop.
    """
    loop_id = _loop_info()["loop_id"]
    task_group = _NAIVE.get("task_group")
    result: dict[str, Any] = {"ran": False, "error": None, "job_loop_id": None,
                              "stored_by_loop_id": _NAIVE.get("loop_id"),
                              "same_loop": _NAIVE.get("loop_id") == loop_id}
    if task_group is None:
        result["error"] = "no lifespan stored a task group on the app object"
        return result
    box: dict[str, Any] = {}

    async def job() -> None:
        try:
            box["loop_id"] = _loop_info()["loop_id"]
        except Exception as exc:  # no loop identity where the job landed
            box["error"] = f"{type(exc).__name__}: {exc}"
        box["done"] = True

    try:
        task_group.start_soon(job)
    except Exception as exc:
        result["error"] = f"start_soon raised {type(exc).__name__}: {exc}"
        return result
    deadline = time.monotonic() + NAIVE_WAIT_S
    while "done" not in box and time.monotonic() < deadline:
        await anyio.sleep(0.005)
    result["ran"] = "done" in box
    result["job_loop_id"] = box.get("loop_id")
    if not result["ran"]:
        result["error"] = (f"the job started in the task group on the app object did not run "
                           f"within {NAIVE_WAIT_S} s")
    elif box.get("error"):
        result["error"] = box["error"]
    return result


def _query(scope: dict[str, Any]) -> tuple[dict[str, list[str]], bool]:
    """The query string's parameters, and whether the server left the "?" in front of it
    (the spec says the portion *after* the "?"; socketify 0.0.31 keeps it): read either
    way so the request is still named, and recorded as evidence."""
    raw = scope.get("query_string", b"")
    text = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    prefixed = text.startswith("?")
    return parse_qs(text[1:] if prefixed else text), prefixed


def _request_facts(scope: dict[str, Any]) -> dict[str, Any]:
    """What a handler can see of the lifespan: contextvar, state, and the seed's state copy test."""
    query, prefixed = _query(scope)
    tag = query.get("tag", [""])[0]
    state = scope.get("state")
    facts: dict[str, Any] = {
        "path": scope.get("path"),
        "tag": tag,
        "asgi": _jsonable(scope.get("asgi")),
        "http_version": scope.get("http_version"),
        "client": _jsonable(scope.get("client")),
        "ctx_token": STARTUP_TOKEN.get(),
        "state_present": isinstance(state, dict),
        "state_token": None,
        "state_foreign_keys": [],
        "state_own_key": None,
    }
    if prefixed:
        facts["query_string_prefixed"] = True
    client = scope.get("client")
    if isinstance(client, (list, tuple)) and len(client) == 2:
        facts["connection"] = f"{client[0]}:{client[1]}"  # one TCP connection per port
    mark = f"mark:{uuid.uuid4().hex[:8]}"
    facts["ctx_foreign_mark"] = REQUEST_MARK.get()
    facts["ctx_own_mark"] = mark
    REQUEST_MARK.set(mark)  # in a context of its own, no later request sees it
    if isinstance(state, dict):
        facts["state_token"] = state.get("token")
        own = f"req:{uuid.uuid4().hex[:8]}"
        facts["state_foreign_keys"] = sorted(k for k in state if str(k).startswith("req:"))
        facts["state_own_key"] = own
        state[own] = True  # a shallow copy per request keeps this from the next request
    return facts


async def _read_body(receive: Any) -> dict[str, Any]:
    """Read the request body to its end: its size and how many messages it came in."""
    size, messages = 0, 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return {"bytes": size, "messages": messages, "ended": message.get("type")}
        size += len(message.get("body") or b"")
        messages += 1
        if not message.get("more_body"):
            return {"bytes": size, "messages": messages, "ended": "complete"}


async def _http(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _inflight
    if scope.get("path") == "/stream":
        await _held(scope, receive, send, "stream")
        return
    facts = _request_facts(scope)  # needs no event loop
    try:
        start = _where()
    except Exception as exc:
        # Run with no event loop: record the request with what can be known (pid, thread,
        # what it saw of the lifespan), so the server is judged, not errored.
        _write({"event": "http", **facts, **_where_safe(),
                "no_loop": f"{type(exc).__name__}: {exc}", "t_end": time.monotonic()})
        raise
    loop = _loop_info()
    slow = scope.get("path") == "/slow"
    with _lock:
        _inflight += 1
    loop["inflight"] += 1
    try:
        body = await _read_body(receive)
        if slow:
            _write({"event": "http.start", **facts, **start})
            await anyio.sleep(float(os.environ.get("ASGI_MATRIX_SLOW_S", "1.0")))
        job = await _job_in_lifespan_task_group()
        naive = await _job_in_naive_task_group()
        record = {"event": "http", **facts, **start, "t_end": time.monotonic(), "job": job,
                  "naive": naive, "body": body}
        _write(record)
        answer = json.dumps(record, default=repr).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
    finally:
        with _lock:
            _inflight -= 1
        loop["inflight"] -= 1


async def _websocket(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope.get("path") == "/ws-hold":
        await _held(scope, receive, send, "ws-hold")
        return
    facts = _request_facts(scope)
    start = _where()
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    message = await receive()
    job = await _job_in_lifespan_task_group()
    naive = await _job_in_naive_task_group()
    record = {"event": "websocket", **facts, **start, "t_end": time.monotonic(), "job": job,
              "naive": naive, "received": message.get("text")}
    _write(record)
    if message["type"] == "websocket.receive":
        await send({"type": "websocket.send", "text": json.dumps(record, default=repr)})
        await send({"type": "websocket.close", "code": 1000})


async def _hang_startup() -> None:
    """A startup that never finishes (a database that never answers); written down."""
    _write({"event": "lifespan.startup.hang", **_where()})
    try:
        await anyio.sleep_forever()
    except BaseException as exc:  # cancelled by the server, or its loop torn down
        _write({"event": "lifespan.startup.ended", "how": type(exc).__name__, **_where()})
        raise


async def _held(scope: dict[str, Any], receive: Any, send: Any, kind: str) -> None:
    """Hold a stream or a WebSocket open until the server says it is gone; write how it ended.

    ``hold.end`` says ``how``: "disconnect" (the app was told, with the WebSocket code),
    "send-failed" (a send raised: the app learnt it only that way) or the exception that
    cancelled the handler (it was never told).
    """
    tag = _query(scope)[0].get("tag", [kind])[0]
    end: dict[str, Any] = {"event": "hold.end", "kind": kind, "tag": tag, "chunks": 0}
    try:
        if kind == "ws-hold":
            if (await receive())["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "held"})
        else:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
        _write({"event": "hold.start", "kind": kind, "tag": tag, **_where()})
        async with anyio.create_task_group() as group:
            if kind == "stream":
                group.start_soon(_stream_chunks, send, end, group.cancel_scope)
            while True:
                message = await receive()
                if message["type"] in ("http.disconnect", "websocket.disconnect"):
                    end.update(how="disconnect", message=message["type"],
                               code=message.get("code"))
                    group.cancel_scope.cancel()
                    break
    except BaseException as exc:
        end.setdefault("how", type(exc).__name__)
        end.setdefault("error", str(exc)[:200])
        raise
    finally:
        _write({**end, **_where_safe()})


async def _stream_chunks(send: Any, end: dict[str, Any], scope: anyio.CancelScope) -> None:
    try:
        while True:
            end["chunks"] += 1
            await send({"type": "http.response.body", "more_body": True,
                        "body": f"data: {end['chunks']}\n\n".encode()})
            await anyio.sleep(0.05)
    except Exception as exc:  # the server refused the send: the app learns it is gone
        end.update(how="send-failed", error=f"{type(exc).__name__}: {exc}"[:200])
        scope.cancel()
