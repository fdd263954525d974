"""A small ASGI reference server whose every behaviour is chosen by a flag.

With the default flags it does everything right: each serving event loop runs its own
lifespan before it accepts, requests see a copy of the lifespan's state and context (a
fresh copy per request, also on a kept-alive connection), stop drains in-flight
requests before the lifespan shutdown. Other flag values do each thing wrong on purpose,
so the matrix has known positive and negative controls run over real sockets, real
HTTP/1.1, real WebSockets and (with ``--http2``) real cleartext HTTP/2.

Architecture: N threads ``loop-0``..``loop-{N-1}``, each with its own asyncio loop and
its own listening socket bound with SO_REUSEPORT (the kernel spreads connections over
them). With ``--lifespan single`` one more thread, ``lifespan``, runs the only lifespan
on a loop that serves nothing. The main thread handles SIGTERM/SIGINT and runs the stop
in two phases: every serving loop stops accepting (and drains), then every lifespan gets
its shutdown. Connections are kept alive when the client asks (HTTP/1.1); a response
without Content-Length that has more to come is sent chunked (an endless stream). At the
stop, idle keep-alive connections are closed, streams get ``http.disconnect`` and
WebSockets close 1001 before the drain waits. With ``--recycle-after N`` a loop that
answered N requests is replaced by a new one (main thread, ``recycle()``).
With ``--http2`` a connection that opens with the HTTP/2 preface (prior knowledge) is
served as HTTP/2 (``_h2.py``): each stream is a request of its own, given state and
context as the flags say for requests of one connection. With ``--factory`` the app
reference is a factory, called once per loop, so that each loop has its own app object.
Standard library only (the server's virtualenv has just anyio) unless ``--http2``, which
needs the h2 package; Python 3.11+ (tasks created with an explicit ``context=``).

Beside it, by protocol: _http1.py (an HTTP/1.1 exchange), _websocket.py (a WebSocket
session), _h2.py (HTTP/2), sharing one response state (_exchange.py); the flags, exit
codes and log in _options.py; the wire format in _wire.py.

Long because a server is one piece: its loops, their lifespans, the connections each
accepts, the stop and recycling, and the flags that break each of them must agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from types import ModuleType

    from . import _h2
if TYPE_CHECKING or __package__:
    from . import _exchange, _http1, _options, _websocket, _wire
else:  # run as a script (the usual way): its own directory is sys.path[0]
    import _exchange
    import _http1
    import _options
    import _websocket
    import _wire

# the siblings' names this module uses, bound once (the two imports above differ)
App, Message, Scope = _exchange.App, _exchange.Message, _exchange.Scope
first_of = _exchange.first_of
HttpExchange, WebSocketSession = _http1.HttpExchange, _websocket.WebSocketSession
Options, parse_args, log = _options.Options, _options.parse_args, _options.log
load_app, load_http2 = _options.load_app, _options.load_http2
EXIT_ERROR, EXIT_USAGE = _options.EXIT_ERROR, _options.EXIT_USAGE
EXIT_STARTUP_FAILED, EXIT_CRASH = _options.EXIT_STARTUP_FAILED, _options.EXIT_CRASH
DRAIN_TIMEOUT_S, SHUTDOWN_TIMEOUT_S = _options.DRAIN_TIMEOUT_S, _options.SHUTDOWN_TIMEOUT_S
FIRST_CONNECTION_WAIT_S = _options.FIRST_CONNECTION_WAIT_S
HTTP_ASGI, LIFESPAN_ASGI = _options.HTTP_ASGI, _options.LIFESPAN_ASGI


class Signal:
    """A one-shot flag set from any thread and awaited on one event loop.

    It may be set before its loop exists (a SIGTERM during start-up): ``bind`` then
    finds it already set. The lock closes the gap between the two.
    """

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> None:
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._event = asyncio.Event()
            if self._flag.is_set():
                self._event.set()

    def set(self) -> None:
        with self._lock:
            self._flag.set()
            if self._loop is not None and self._event is not None:
                with contextlib.suppress(RuntimeError):  # the loop already ended
                    self._loop.call_soon_threadsafe(self._event.set)

    def is_set(self) -> bool:
        return self._flag.is_set()

    def wait_blocking(self, timeout: float) -> bool:
        return self._flag.wait(timeout)

    async def wait(self) -> None:
        assert self._event is not None, "bind() first, on the loop that waits"
        await self._event.wait()


class Lifespan:
    """One run of the app's lifespan protocol on the current event loop."""

    def __init__(self, app: App, with_state: bool) -> None:
        self.app = app
        self.state: dict[str, Any] | None = {} if with_state else None
        # The app's ContextVar.set() during startup lands here, because the lifespan task
        # runs in this very Context; handlers later get copies of it.
        self.context = contextvars.copy_context()
        self.outcome = "pending"  # -> complete | failed | rejected | returned
        self.message = ""
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._startup_settled = asyncio.Event()
        self._shutdown_settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        scope: Scope = {"type": "lifespan", "asgi": dict(LIFESPAN_ASGI)}
        if self.state is not None:
            scope["state"] = self.state
        self._inbox.put_nowait({"type": "lifespan.startup"})
        log("lifespan: sending lifespan.startup")
        self._task = asyncio.get_running_loop().create_task(self._run(scope), context=self.context)

    async def _run(self, scope: Scope) -> None:
        try:
            await self.app(scope, self._inbox.get, self._send)
        except Exception as exc:
            if self.outcome == "pending":
                self.outcome, self.message = "rejected", f"{type(exc).__name__}: {exc}"
            else:
                log(f"lifespan: the app raised after startup:\n{traceback.format_exc()}")
        else:
            if self.outcome == "pending":
                self.outcome = "returned"
            log("lifespan: the app's lifespan call returned")
        finally:
            # Whatever happened, nobody may wait for a message that cannot come any more.
            self._startup_settled.set()
            self._shutdown_settled.set()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind in ("lifespan.startup.complete", "lifespan.startup.failed"):
            if self.outcome != "pending":
                raise RuntimeError(f"{kind} after startup already settled")
            self.outcome = "complete" if kind.endswith("complete") else "failed"
            self.message = str(message.get("message", ""))
            self._startup_settled.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            detail = f": {message.get('message', '')}" if kind.endswith("failed") else ""
            log(f"lifespan: received {kind}{detail}")
            self._shutdown_settled.set()
        else:
            raise RuntimeError(f"unexpected lifespan message {kind!r}")

    async def startup_settled(self) -> None:
        await self._startup_settled.wait()

    async def shutdown(self) -> None:
        """Send lifespan.shutdown and wait (bounded) for the app's answer."""
        if self.outcome != "complete" or self._task is None or self._task.done():
            # Startup never completed, or the app already left: nobody would receive it.
            done = self._task is not None and self._task.done()
            returned = ", the app's lifespan call already returned" if done else ""
            log(f"lifespan: no shutdown to deliver (startup {self.outcome}{returned})")
            return
        log("lifespan: sending lifespan.shutdown")
        self._inbox.put_nowait({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._shutdown_settled.wait(), SHUTDOWN_TIMEOUT_S)
        except TimeoutError:
            log(f"lifespan: no answer to lifespan.shutdown within {SHUTDOWN_TIMEOUT_S:g} s")


class Runtime:
    """What the threads share: options, the app, exit coordination, readiness."""

    def __init__(self, options: Options, app: App, http2: ModuleType | None = None) -> None:
        self.options = options
        self.app = app  #: the app, or with --factory the factory each loop calls
        self.http2 = http2  #: the _h2 module with --http2
        self.exit_code: int | None = None
        self.wake = threading.Event()  # set by threads; the main thread polls it
        self.first_connection = threading.Event()  # any loop accepted a connection
        self.stop_signal: str | None = None  # set by the signal handler (no locks there)
        self.startup_settled = False  # a lifespan startup settled (--startup-signal ignore)
        self.recycles: list[Worker] = []  # loops that served --recycle-after requests
        self._lock = threading.Lock()
        self._listening = 0

    def fatal(self, code: int, why: str) -> None:
        log(f"fatal: {why}; exiting with code {code}")
        with self._lock:
            if self.exit_code is None:
                self.exit_code = code
        self.wake.set()

    def ask_recycle(self, worker: Worker) -> None:
        with self._lock:
            self.recycles.append(worker)
        self.wake.set()

    def make_app(self) -> App:
        """This loop's app: the one app, or (--factory) a new one from the factory."""
        if not self.options.factory:
            return self.app
        made = cast("Callable[[], Any]", self.app)()
        if not callable(made):
            raise TypeError(f"the factory {self.options.app} returned {made!r}, not an app")
        return cast("App", made)

    def take_recycles(self) -> list[Worker]:
        with self._lock:
            taken, self.recycles = self.recycles, []
        return taken

    def mark_listening(self) -> None:
        with self._lock:
            self._listening += 1
            ready = self._listening == self.options.loops
        if ready:  # unprefixed: runners wait for exactly this line
            host, port, loops = self.options.host, self.options.port, self.options.loops
            print(f"reference server ready on http://{host}:{port} ({loops} loops)",
                  file=sys.stderr, flush=True)


class Worker:
    """One thread with its own event loop: serves, runs a lifespan, or both."""

    def __init__(self, runtime: Runtime, name: str, serves: bool, owns_lifespan: bool) -> None:
        self.runtime = runtime
        self.options = runtime.options
        self.name = name
        self.serves = serves
        self.owns_lifespan = owns_lifespan
        self.app = runtime.app  # with --factory: this loop's own, made when the loop starts
        self.lifespan: Lifespan | None = None
        # The lifespan whose state and context this loop's handlers see (own or shared).
        self.source: Worker | None = None
        # With --state/--context other-loop: the loop whose lifespan requests wrongly see.
        self.neighbour: Worker | None = None
        self._served_one: asyncio.Event | None = None  # --lifespan after-request
        # Workers that may start listening once this worker's lifespan startup settled.
        self.dependents: list[Worker] = []
        self.lifespan_ready = Signal()  # "you may listen now" (startup gate)
        self.drain = Signal()  # phase 1 of stop: stop accepting, drain
        self.shutdown = Signal()  # phase 2 of stop: lifespan shutdown
        self.drained = threading.Event()
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._thread_main, name=name, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._base_state: dict[str, Any] = {}  # what requests see when no lifespan ran
        self._base_context = contextvars.Context()
        self._shared_context: contextvars.Context | None = None  #: --context shared
        self._inflight = 0
        self._batch_inflight = 0  #: requests of the concurrent batch in flight
        self._idle: asyncio.Event | None = None
        self.draining = False  # responses now say Connection: close (--keepalive-at-stop)
        self._idle_conns: set[asyncio.StreamWriter] = set()  # keep-alive, between requests
        self._exchanges: set[HttpExchange | _h2.Exchange] = set()
        self._h2_connections: set[_h2.Connection] = set()
        self._sessions: set[WebSocketSession] = set()
        self._writers: set[asyncio.StreamWriter] = set()  # every open connection
        self._served = 0  # requests answered (--recycle-after)
        self.inherit: socket.socket | None = None  # a recycled loop's listening socket
        self.sock: socket.socket | None = None
        self.listening = threading.Event()
        self.dropping = False  # --recycle drop: abort everything, no lifespan shutdown
        self._others_left: list[asyncio.Task[Any]] = []  # --shutdown after-tasks

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException:
            self.runtime.fatal(EXIT_ERROR, f"thread crashed:\n{traceback.format_exc()}")
        finally:
            self.drained.set()  # never leave the main thread waiting on a dead thread
            self.finished.set()

    async def _run(self) -> None:
        for flag in (self.lifespan_ready, self.drain, self.shutdown):
            flag.bind()
        try:
            self.app = self.runtime.make_app()
        except Exception:
            self.runtime.fatal(EXIT_USAGE, f"the app factory failed:\n{traceback.format_exc()}")
            return
        if self.options.factory:
            log(f"made this loop's app with the factory {self.options.app}")
        self._idle = asyncio.Event()
        self._idle.set()
        self._served_one = asyncio.Event()
        self._base_context = contextvars.copy_context()
        gate = self.options.startup_gate == "yes"
        if self.options.lifespan == "after-request":
            await self._listen()
            await first_of(self._served_one.wait(), self.drain.wait())
            gate = False
        elif self.serves and not gate:
            await self._listen()  # listen first, the lifespan runs concurrently
            if self.owns_lifespan:
                await self._first_connection()
        elif self.owns_lifespan and not gate:
            await self._first_connection()
        if self.owns_lifespan:
            self.lifespan = Lifespan(self.app, self.options.state != "none")
            self.lifespan.start()
            self._spawn(self._settle_lifespan())
        if self.serves and gate:
            await first_of(self.lifespan_ready.wait(), self.drain.wait())
            if self.lifespan_ready.is_set() and not self.drain.is_set():
                await self._listen()
        if self.serves:
            await self.drain.wait()
            if self.options.drain == "overlap" and self.lifespan is not None:
                log("lifespan: shutdown now, requests still running (--drain overlap)")
                await self.lifespan.shutdown()
            await self._stop_serving()
        self.drained.set()
        await self.shutdown.wait()
        if self.lifespan is not None and self.options.drain == "overlap":
            pass  # delivered when the stop began
        elif self.lifespan is not None and self.dropping:
            log("lifespan: no shutdown for a dropped loop (--recycle drop)")
        elif self.lifespan is not None:
            if self.options.shutdown == "after-tasks" and self.lifespan.outcome == "complete":
                await self._other_tasks_ended()
            if self.options.shutdown == "deliver" or (
                    self.options.shutdown == "after-tasks" and not self._others_left):
                await self.lifespan.shutdown()
            elif self.options.shutdown == "after-tasks":
                log(f"lifespan: shutdown not sent: {len(self._others_left)} other task(s) "
                    f"still running after {SHUTDOWN_TIMEOUT_S:g} s (--shutdown after-tasks)")
            else:
                log("lifespan: shutdown skipped (--shutdown skip)")
        self.finished.set()
        if self.options.drain == "no":
            # The main thread ends the process with os._exit; returning from asyncio.run
            # would cancel in-flight handlers politely, which is not what "no" means.
            await asyncio.Event().wait()

    async def _other_tasks_ended(self) -> None:
        """--shutdown after-tasks: wait (bounded) until every task on this loop but this
        one and the lifespan's own has ended; what is left stays in ``_others_left``."""
        assert self.lifespan is not None
        mine = {asyncio.current_task(), self.lifespan._task}
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S
        while True:
            self._others_left = [t for t in asyncio.all_tasks() if t not in mine and not t.done()]
            if not self._others_left or time.monotonic() >= deadline:
                return
            await asyncio.sleep(0.02)

    async def _first_connection(self) -> None:
        """--startup-gate no: the lifespan begins with the first connection, so that a
        request is served before the startup completed for sure, not by a race."""
        deadline = time.monotonic() + FIRST_CONNECTION_WAIT_S
        while not self.runtime.first_connection.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    def _spawn(self, coro: Coroutine[Any, Any, None], context: contextvars.Context | None = None
               ) -> None:
        task = asyncio.get_running_loop().create_task(coro, context=context)
        self._tasks.add(task)  # keep a reference: the loop only holds weak ones
        task.add_done_callback(self._tasks.discard)

    async def _settle_lifespan(self) -> None:
        lifespan = self.lifespan
        assert lifespan is not None
        await lifespan.startup_settled()
        self.runtime.startup_settled = True
        opts, outcome = self.options, lifespan.outcome
        if outcome == "complete":
            log("lifespan: startup complete")
        elif outcome == "failed":
            log(f"lifespan: startup failed: {lifespan.message}")
            if opts.startup_failure in ("exit", "exit-zero"):
                code = EXIT_STARTUP_FAILED if opts.startup_failure == "exit" else 0
                self.runtime.fatal(code, "lifespan startup failed")
                return
            if opts.startup_failure == "hang":
                log("lifespan: neither serving nor exiting (--startup-failure hang)")
                return
            log("lifespan: serving anyway (--startup-failure serve)")
        elif outcome == "rejected":
            log(f"lifespan unsupported: the app raised {lifespan.message}")
            if opts.lifespan_rejected == "exit":
                self.runtime.fatal(EXIT_ERROR, "lifespan rejected")
                return
            if opts.lifespan_rejected == "hang":
                log("lifespan: neither serving nor exiting (--lifespan-rejected hang)")
                return
            log("lifespan: serving without lifespan (--lifespan-rejected serve)")
        else:
            log("lifespan: the app returned before startup settled; serving without lifespan")
        for worker in self.dependents:
            worker.lifespan_ready.set()

    async def _listen(self) -> None:
        host, port = self.options.host, self.options.port
        if self.inherit is not None:  # a recycled loop takes over its predecessor's socket
            self.sock = self.inherit
            self._server = await asyncio.start_server(self._on_connect, sock=self.inherit)
            log(f"listening on {host}:{port} (the socket of the loop it replaces)")
            self.listening.set()
            return
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # Every loop binds the same port; SO_REUSEPORT lets the kernel spread accepts.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            self.runtime.fatal(EXIT_USAGE, f"cannot listen on {host}:{port}: {exc}")
            return
        self.sock = sock
        self._server = await asyncio.start_server(self._on_connect, sock=sock)
        log(f"listening on {host}:{port}")
        self.listening.set()
        self.runtime.mark_listening()

    async def _stop_serving(self) -> None:
        self.draining = True
        if self._server is not None:
            self._server.close()  # closes the listening socket only, not the connections
            log("stopped accepting")
        if self.dropping:
            log(f"aborting {len(self._writers)} connection(s) (--recycle drop)")
            for writer in list(self._writers):
                writer.transport.abort()
            return
        await self._let_go_of_open_connections()
        if self.options.drain == "no" or self._inflight == 0:
            return
        assert self._idle is not None
        log(f"draining {self._inflight} in-flight request(s)")
        try:
            await asyncio.wait_for(self._idle.wait(), DRAIN_TIMEOUT_S)
            log("drained")
        except TimeoutError:
            log(f"{self._inflight} request(s) still in flight after {DRAIN_TIMEOUT_S:g} s")

    async def _let_go_of_open_connections(self) -> None:
        """Close idle keep-alive connections, end streams, close WebSockets (as flagged)."""
        opts = self.options
        if opts.keepalive_at_stop == "close" and self._idle_conns:
            log(f"closing {len(self._idle_conns)} idle keep-alive connection(s)")
            for writer in list(self._idle_conns):
                writer.close()
        idle_h2 = [c for c in self._h2_connections if c.idle()]
        if opts.keepalive_at_stop == "close" and idle_h2:
            log(f"closing {len(idle_h2)} idle HTTP/2 connection(s) with GOAWAY")
            for connection in idle_h2:
                connection.go_away()
        if opts.stream_at_stop == "disconnect":
            for exchange in list(self._exchanges):
                if exchange.started and not exchange.complete.is_set():
                    log("telling a streaming response's app http.disconnect")
                    exchange.gone.set()
        if opts.ws_at_stop == "close" and self._sessions:
            log(f"closing {len(self._sessions)} WebSocket(s) with 1001")
            await asyncio.gather(*(session.going_away() for session in list(self._sessions)))

    # -- connections ---------------------------------------------------------------

    def _lifespan_of(self, wrong_loop: bool) -> Lifespan | None:
        """The lifespan requests see: their loop's (or the holder's), or the next loop's."""
        source = self.neighbour if wrong_loop and self.neighbour is not None else self.source
        return source.lifespan if source is not None else None

    def _handler_context(self) -> contextvars.Context:
        if self.options.context == "fresh":
            return contextvars.Context()
        if self.options.context == "shared":
            if self._shared_context is None:  # made at the first request, kept for all
                lifespan = self._lifespan_of(False)
                base = lifespan.context if lifespan is not None else self._base_context
                self._shared_context = base.copy()
            return self._shared_context
        lifespan = self._lifespan_of(self.options.context == "other-loop")
        return (lifespan.context if lifespan is not None else self._base_context).copy()

    def _request_state(self) -> dict[str, Any] | None:
        mode = self.options.state
        if mode == "none":
            return None
        if mode == "detached":
            return self._base_state
        lifespan = self._lifespan_of(mode == "other-loop")
        state = lifespan.state if lifespan is not None and lifespan.state is not None else None
        if state is None:
            state = self._base_state
        return state if mode == "shared" else dict(state)

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # A plain callback, so that we, not asyncio, choose the handler task's Context.
        self._inflight += 1  # counted from accept, so a drain cannot miss a fresh request
        self.runtime.first_connection.set()
        self._writers.add(writer)
        assert self._idle is not None
        self._idle.clear()
        self._spawn(self._connection(reader, writer), context=self._handler_context())

    def _in_concurrent_batch(self, head: _wire.RequestHead) -> bool:
        # --answer drop-concurrent drops only the concurrent batch's requests (tags conc-N):
        # whatever else overlaps them (held streams, WebSockets, keep-alive connections at
        # the stop) is served, so every other verdict of this control is deterministic.
        return (self.runtime.options.answer == "drop-concurrent"
                and b"tag=conc-" in head.target)

    def _release(self) -> None:
        self._inflight -= 1
        if self._inflight == 0 and self._idle is not None:
            self._idle.set()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                          ) -> None:
        counted = True
        # --state per-connection: one copy for all the requests of this connection.
        connection_state = self._request_state()
        in_batch = False
        first = True
        try:
            while True:  # one request per turn while the connection is kept alive
                head = await _wire.read_request_head(reader)
                self._idle_conns.discard(writer)
                if head is None:
                    return
                if first and _wire.starts_http2_preface(head):
                    await _wire.read_rest_of_http2_preface(reader)
                    await self._http2(reader, writer, connection_state)
                    return
                first = False
                if not in_batch and self._in_concurrent_batch(head):
                    if self._batch_inflight:
                        log("dropping a concurrent request unanswered (--answer drop-concurrent)")
                        return
                    in_batch = True
                    self._batch_inflight += 1
                    await asyncio.sleep(0.05)  # hold it, so the batch overlaps it for sure
                scope = self._base_scope(head, writer, connection_state
                                         if self.options.state == "per-connection"
                                         else self._request_state())
                if head.is_websocket_upgrade():
                    counted = self.options.ws_at_stop == "close"  # drop: released at once
                    await self._websocket(head, scope, reader, writer)
                    return
                body = await _wire.read_body(reader, head)
                exchange = HttpExchange(self.app, head, scope, body, writer, self)
                self._exchanges.add(exchange)
                try:
                    if self.options.context == "per-connection":
                        await exchange.run()  # in the connection's context: values carry over
                    else:  # each request in a fresh copy of the context requests start from
                        await asyncio.get_running_loop().create_task(
                            exchange.run(), context=self._handler_context())
                finally:
                    self._exchanges.discard(exchange)
                self._count_served()
                if not (exchange.keep_alive and exchange.complete.is_set()):
                    return
                self._idle_conns.add(writer)  # until its next request head arrives
        except _wire.ProtocolError as exc:
            with contextlib.suppress(OSError):
                writer.write(_wire.simple_response(400, str(exc)))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away; nothing to answer
        except Exception:
            log(f"connection handler failed:\n{traceback.format_exc()}")
        finally:
            if in_batch:
                self._batch_inflight -= 1
            self._idle_conns.discard(writer)
            self._writers.discard(writer)
            if counted:
                self._release()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _count_served(self) -> None:
        assert self._served_one is not None
        self._served_one.set()
        self._served += 1
        if self._served == self.options.recycle_after:
            self.runtime.ask_recycle(self)

    async def _http2(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     connection_state: dict[str, Any] | None) -> None:
        """One HTTP/2 connection: each stream is a request of its own, with state and
        context as for the requests of one HTTP/1.1 connection (--state/--context)."""
        h2 = self.runtime.http2
        if h2 is None:
            log("an HTTP/2 preface, but HTTP/2 is off: answering 505")
            writer.write(_wire.simple_response(505, "HTTP/2 is off (start with --http2)"))
            return
        # --context per-connection: every stream of the connection runs in this one context.
        shared_context = self._handler_context()
        tasks: set[asyncio.Task[None]] = set()

        def on_request(stream: _h2.Stream) -> None:
            state = (connection_state if self.options.state == "per-connection"
                     else self._request_state())
            exchange = h2.Exchange(self.app, self._base_scope(stream.head, writer, state),
                                   stream, log)
            context = (shared_context if self.options.context == "per-connection"
                       else self._handler_context())
            task = asyncio.get_running_loop().create_task(
                self._http2_stream(exchange, connection), context=context)
            tasks.add(task)  # keep a reference: the loop only holds weak ones
            task.add_done_callback(tasks.discard)

        connection = h2.Connection(reader, writer, on_request)
        self._h2_connections.add(connection)
        try:
            await connection.serve()
            if tasks:  # the client left mid-stream: their apps see http.disconnect
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._h2_connections.discard(connection)
            connection.go_away()

    async def _http2_stream(self, exchange: _h2.Exchange, connection: _h2.Connection) -> None:
        self._exchanges.add(exchange)
        try:
            await exchange.run()
        except ConnectionError:
            pass  # the client reset the stream or left; nothing to answer
        finally:
            self._exchanges.discard(exchange)
        self._count_served()
        if (self.draining and self.options.keepalive_at_stop == "close"
                and connection.idle()):
            connection.go_away()  # the stop: no new streams once the last one is answered

    async def _websocket(self, head: _wire.RequestHead, scope: Scope,
                         reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.options.ws_at_stop == "drop":
            self._release()  # long-lived, and not waited for: it dies with the process
        session = WebSocketSession(self.app, head, scope, reader, writer)
        self._sessions.add(session)
        try:
            await session.run()
        finally:
            self._sessions.discard(session)

    def _client(self, peer: Any) -> Any:
        """scope["client"] as --client says: the peer, or what other servers send."""
        mode = self.options.client
        if mode == "fake":
            return ("127.0.0.1", 123)
        if mode == "none" or not peer:
            return None
        return (peer[0], 0) if mode == "port-0" else (peer[0], peer[1])

    def _base_scope(self, head: _wire.RequestHead, writer: asyncio.StreamWriter,
                    state: dict[str, Any] | None) -> Scope:
        peer = writer.get_extra_info("peername")
        local = writer.get_extra_info("sockname")
        scope: Scope = {
            "asgi": dict(HTTP_ASGI),
            "http_version": (head.http_version if head.http_version in ("1.0", "1.1", "2")
                             else "1.1"),
            "path": head.path,
            "raw_path": head.raw_path,
            "query_string": head.query_string,
            "root_path": "",
            "headers": [[name, value] for name, value in head.headers],
            "client": self._client(peer),
            "server": (local[0], local[1]) if local else None,
        }
        if state is not None:
            scope["state"] = state
        return scope


def build_workers(runtime: Runtime) -> list[Worker]:
    opts = runtime.options
    per_loop = opts.lifespan in ("per-loop", "after-request")
    serving = [Worker(runtime, f"loop-{i}", serves=True, owns_lifespan=per_loop)
               for i in range(opts.loops)]
    workers = list(serving)
    if opts.lifespan == "single":
        holder = Worker(runtime, "lifespan", serves=False, owns_lifespan=True)
        holder.dependents = serving
        for worker in serving:
            worker.source = holder
        workers.append(holder)
    for i, worker in enumerate(serving):
        worker.neighbour = serving[(i + 1) % len(serving)]
        if per_loop:
            worker.source = worker
            worker.dependents = [worker]
        elif opts.lifespan == "none":
            worker.lifespan_ready.set()  # nothing to wait for
    return workers


def recycle(runtime: Runtime, workers: list[Worker], old: Worker) -> None:
    """Replace one serving loop by a new one with its own lifespan (--recycle-after)."""
    opts = runtime.options
    log(f"recycling {old.name} after {opts.recycle_after} requests (--recycle {opts.recycle})")
    if opts.recycle == "exit":
        # As a retiring server does (uvicorn#426): it stops listening, and for a moment
        # before it is gone requests are refused while it is still up. The moment is long
        # enough that the recycle traffic always meets it, so the control always drops.
        for worker in workers:
            if worker.serves:
                worker.drain.set()
        time.sleep(1.0)
        runtime.stop_signal = "recycle"  # the usual stop, and nothing replaces the loop
        return
    new = Worker(runtime, f"{old.name}+", serves=True, owns_lifespan=old.owns_lifespan)
    new.source = new if old.source is old else old.source
    if old.source is old:
        new.dependents = [new]
    else:
        new.lifespan_ready.set()  # the lifespan it shares settled long ago
    if opts.recycle == "drop":
        old.dropping = True
        old.drain.set()
        old.drained.wait(5)
        old.shutdown.set()
        old.finished.wait(5)
        time.sleep(0.3)  # a gap in which nothing of this loop listens
    elif old.sock is not None:
        new.inherit = old.sock.dup()  # the accept queue survives the old loop's close
    workers.append(new)
    new.thread.start()
    if opts.recycle == "clean":
        new.listening.wait(SHUTDOWN_TIMEOUT_S)
        old.drain.set()
        old.drained.wait(DRAIN_TIMEOUT_S + 5)
        old.shutdown.set()
        old.finished.wait(SHUTDOWN_TIMEOUT_S + 5)
    workers.remove(old)


def stop(runtime: Runtime, workers: list[Worker]) -> int:
    """Phase 1: every serving loop stops accepting and drains. Phase 2: lifespan shutdowns."""
    opts = runtime.options
    for worker in workers:
        if worker.serves:
            worker.drain.set()
    for worker in workers:
        worker.drained.wait(DRAIN_TIMEOUT_S + 5)
    for worker in workers:
        worker.shutdown.set()
    for worker in workers:
        worker.finished.wait(SHUTDOWN_TIMEOUT_S + 5)
    if runtime.exit_code is not None:
        return runtime.exit_code
    status = EXIT_CRASH if opts.stop_exit == "crash" else 0
    if opts.drain == "no":
        log(f"stopped without draining; exiting now with status {status}")
        hard_exit(status)
    for worker in workers:
        worker.thread.join(5)
    log(f"stopped; exiting with status {status}")
    return status


def hard_exit(code: int) -> None:
    """Leave now, whatever other threads are doing (in-flight responses are cut)."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
        sys.stdout.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    sys.path.insert(0, os.getcwd())
    try:
        app = load_app(opts.app)
    except Exception:
        log(f"cannot load the app {opts.app!r}:\n{traceback.format_exc()}")
        return EXIT_USAGE
    http2 = None
    if opts.http2:
        try:
            http2 = load_http2()
        except ImportError as exc:
            log(f"--http2 needs the h2 package: {exc}")
            return EXIT_USAGE
    runtime = Runtime(opts, app, http2)

    def on_signal(signum: int, _frame: object) -> None:
        # No printing or locking here: the main thread may be inside either.
        if opts.stop_exit == "sigterm-now" and signum == signal.SIGTERM:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        if opts.startup_signal == "ignore" and not runtime.startup_settled:
            os.write(2, b"[reference-server] signal during startup ignored\n")
            return
        if runtime.stop_signal is not None:
            os.write(2, b"[reference-server] second signal: exiting now\n")
            os._exit(EXIT_ERROR)
        runtime.stop_signal = signal.Signals(signum).name

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log(f"starting: app={opts.app} loops={opts.loops} lifespan={opts.lifespan} "
        f"state={opts.state} context={opts.context} drain={opts.drain} "
        f"shutdown={opts.shutdown} startup-gate={opts.startup_gate} "
        f"startup-failure={opts.startup_failure} lifespan-rejected={opts.lifespan_rejected} "
        f"answer={opts.answer} stop-exit={opts.stop_exit} children={opts.children} "
        f"ws-at-stop={opts.ws_at_stop} stream-at-stop={opts.stream_at_stop} "
        f"keepalive-at-stop={opts.keepalive_at_stop} startup-signal={opts.startup_signal} "
        f"recycle={opts.recycle} recycle-after={opts.recycle_after} "
        f"http2={'on' if opts.http2 else 'off'} factory={'yes' if opts.factory else 'no'}")
    if opts.children != "none":
        # orphan: same process group, no handler of its own: it outlives a SIGTERM to us
        # alone. setsid: a session of its own, so a signal to our group misses it too.
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                 start_new_session=opts.children == "setsid")
        log(f"started child {child.pid} that will outlive us (--children {opts.children})")
    workers = build_workers(runtime)
    for worker in workers:
        worker.thread.start()
    while runtime.stop_signal is None and runtime.exit_code is None:
        runtime.wake.wait(0.05)  # polled, so that the signal handler needs no lock
        runtime.wake.clear()
        for old in runtime.take_recycles():
            recycle(runtime, workers, old)
    if runtime.exit_code is None:
        log(f"received {runtime.stop_signal}: stopping")
        code = stop(runtime, workers)
    else:
        code = runtime.exit_code
        hard_exit(code)  # a fatal condition: threads may still be serving
    if code != 0:
        hard_exit(code)  # threads may still be serving; do not wait for them
    return code


if __name__ == "__main__":
    sys.exit(main())
