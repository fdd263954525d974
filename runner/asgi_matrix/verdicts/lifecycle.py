"""The lifecycle edges: what is open at the stop, and a startup that hangs.

open-stop: at SIGTERM to the main process a WebSocket (/ws-hold) is open, an endless
stream (/stream) is in flight, a keep-alive connection is idle and a request on another
keep-alive connection (/slow, tag drain-ka) is in flight. The probe writes ``hold.end``
with how each held handler ended; the runner writes what each client saw, in seconds
after the signal. startup-hang: the lifespan startup never finishes; SIGTERM, then
SIGINT, each get ``HANG_SIGNAL_S``.

Long because the nine properties read one record through shared helpers (what the client
saw, what never reached the app before the signal, how the server exited); split, each
half would import the other's.
"""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import (
    Observations,
    Property,
    Verdict,
    judged_on,
    lifespan_ran,
    measured,
)

OPEN = "open-stop"
HANG = "startup-hang"
OPEN_STOP_S = 5.0  #: SIGTERM to kill with things open: 1 s slow request + 3 s grace periods fit
HANG_SIGNAL_S = 3.0  #: how long each signal gets to end a server in a hung startup
IDLE_PROMPT_S = 1.0  #: an idle connection closed later than this after the signal is not prompt
GOING_AWAY = {1001: "1001 (going away)", 1012: "1012 (service restart)"}
CODE_WORDS = {1000: "1000 (normal closure)", 1005: "1005 (no code given)",
              1006: "1006 (the socket dropped with no close frame)",
              1011: "1011 (internal error)", **GOING_AWAY}
#: held kind -> the probe record that shows it reached the app before the signal
IN_PLACE = {"ws-hold": "hold.start ws-hold", "stream": "hold.start stream",
            "drain-ka": "http.start drain-ka"}


def _code(code: Any) -> str:
    return CODE_WORDS.get(code, str(code))


def _secs(value: Any) -> str:
    return "?" if value is None else f"{value:.2f} s"


#: held kind -> the client's record of it in ``held``
CLIENT_SIDE = {"ws-hold": "websocket", "stream": "stream", "drain-ka": "drain_request"}


def _app_raised(obs: Observations) -> str:
    raised = obs.events(OPEN, "app.error")
    return f"; the app raised: {raised[0].get('error')}" if raised else ""


def _ended_before_signal(seen: dict[str, Any]) -> str | None:
    """What the client saw of a held exchange that ended before the signal, else None."""
    response = seen.get("response") or {}
    if response.get("status") is not None and (response.get("after_signal_s") or 0) < 0:
        return f"it was answered with status {response['status']}"
    closed = seen.get("closed_after_signal_s")
    if closed is not None and closed < 0:
        if response.get("closed_mid_response"):
            return "the server closed its connection with no answer"
        status = f" with status {seen['status']}" if seen.get("status") else ""
        return f"it ended ({seen.get('ended') or 'closed'}){status}"
    return None


def _over_before_signal(obs: Observations, record: dict[str, Any], kind: str,
                        ended: str) -> Verdict:
    return Verdict("n/a", f"the {kind} request never reached the app as one held open: "
                   f"{ended} before the stop signal{_app_raised(obs)}; nothing of it was "
                   "open at the stop",
                   {"held": record.get("held"), "log_tail": record.get("log_tail", "")})


def _missing(obs: Observations, record: dict[str, Any], kind: str) -> Verdict | None:
    """Why a held exchange the app never saw before the signal cannot be judged: n/a when
    the client saw it end before the signal, else an error saying so."""
    if IN_PLACE[kind] not in (record.get("held_missing") or []):
        return None
    seen = (record.get("held") or {}).get(CLIENT_SIDE[kind]) or {}
    if ended := _ended_before_signal(seen):
        return _over_before_signal(obs, record, kind, ended)
    evidence = {"held": record.get("held"), "log_tail": record.get("log_tail", "")}
    return Verdict("error", f"the {kind} connection never reached the app before the stop "
                   f"signal (no {IN_PLACE[kind]} record), so the stop could not find it open",
                   evidence)


def _ready(obs: Observations, kind: str | None = None) -> dict[str, Any] | Verdict:
    """The open-stop record, or why it cannot be judged (for this held kind)."""
    if obs.kind == "harness":
        return Verdict("n/a", "an in-process test client: there is no server process to stop")
    if problem := measured(obs, OPEN):
        return problem
    record = obs.scenario(OPEN) or {}
    if died := record.get("exited_early"):
        how = died.get("exit_signal") or f"status {died.get('exit_code')}"
        return Verdict("error", f"the server had already exited ({how}) before the stop signal "
                       "(open-stop scenario), so how it stops with connections open could not "
                       "be seen", {"exited": died, "log_tail": record.get("log_tail", "")})
    if kind is not None and (problem := _missing(obs, record, kind)):
        return problem
    return record


def _ws_ready(obs: Observations) -> dict[str, Any] | Verdict:
    """The open-stop record for the held WebSocket, or why it cannot be judged."""
    if not obs.websocket:
        return Verdict("n/a", "the configuration serves no WebSockets")
    return _ready(obs, "ws-hold")


def _exit(record: dict[str, Any]) -> str:
    stop = record.get("stop") or {}
    if stop.get("killed"):
        return f"the server had not exited {stop.get('seconds')} s after SIGTERM and was killed"
    how = (f"signal {stop['exit_signal']}" if stop.get("exit_signal")
           else f"status {stop.get('exit_code')}")
    return f"the server exited {stop.get('seconds')} s after SIGTERM with {how}"


def _end(obs: Observations, kind: str) -> dict[str, Any] | None:
    ends = [e for e in obs.events(OPEN, "hold.end") if e.get("kind") == kind]
    return ends[0] if ends else None


def _told(obs: Observations, kind: str, message: str, record: dict[str, Any]) -> Verdict:
    end = _end(obs, kind)
    evidence = {"hold_end": end, "stop": record.get("stop")}
    if end is None:
        return Verdict("fail", f"the app's {kind} handler never ended, so it was never told: "
                       f"{_exit(record)}", evidence)
    when = f"{end['t'] - record['t_signal']:.2f} s after SIGTERM" if "t_signal" in record else ""
    how = end.get("how")
    if how == "disconnect":
        code = f" with code {_code(end.get('code'))}" if end.get("code") is not None else ""
        return Verdict("pass", f"the app got {message}{code} {when}", evidence)
    if how == "send-failed":
        return Verdict("pass", f"the app learnt it from a send that raised ({end.get('error')}) "
                       f"{when}", evidence)
    return Verdict("fail", f"the app's {kind} handler was ended by {how} {when} without "
                   f"being told ({message} never came)", evidence)


@judged_on(_ws_ready)
def websocket_close_code(obs: Observations, record: dict[str, Any]) -> Verdict:
    """The client of an open WebSocket gets a close frame saying the server goes away."""
    seen = (record.get("held") or {}).get("websocket") or {}
    evidence = {"websocket": seen, "stop": record.get("stop")}
    if seen.get("close_code") is None:
        why = seen.get("error") or "no close came before the deadline"
        return Verdict("fail", f"the WebSocket client got no close at all ({why}); "
                       f"{_exit(record)}", evidence)
    words = (f"the client got close code {_code(seen['close_code'])} "
             f"{_secs(seen.get('closed_after_signal_s'))} after SIGTERM")
    if seen["close_code"] in GOING_AWAY:
        return Verdict("pass", words, evidence)
    return Verdict("fail", f"{words}: not a going-away code; {_exit(record)}", evidence)


@judged_on(_ws_ready)
def websocket_app_told(obs: Observations, record: dict[str, Any]) -> Verdict:
    """The app's WebSocket handler gets websocket.disconnect."""
    return _told(obs, "ws-hold", "websocket.disconnect", record)


@judged_on(lambda obs: _ready(obs, "stream"))
def stream_app_told(obs: Observations, record: dict[str, Any]) -> Verdict:
    """The endless stream's handler gets http.disconnect (or a send that raises)."""
    return _told(obs, "stream", "http.disconnect", record)


@judged_on(_ready)
def exits_in_time(obs: Observations, record: dict[str, Any]) -> Verdict:
    """With a WebSocket, a stream and keep-alive connections open, SIGTERM still ends it."""
    stream = (record.get("held") or {}).get("stream") or {}
    flow = (f"; the stream sent {stream.get('bytes_after', '?')} bytes after the signal and "
            f"ended ({stream.get('ended', '?')}) {_secs(stream.get('closed_after_signal_s'))} "
            "after it")
    evidence = {"stop": record.get("stop"), "stream": stream}
    stop = record.get("stop") or {}
    if stop.get("killed"):
        return Verdict("fail", _exit(record) + flow, evidence)
    if float(stop.get("seconds") or 0) > OPEN_STOP_S:  # a server's own graceful timeout
        return Verdict("fail", _exit(record) + f" (more than {OPEN_STOP_S:g} s)" + flow,
                       evidence)
    return Verdict("pass", _exit(record) + flow, evidence)


@judged_on(_ready)
def shutdown_after_release(obs: Observations, record: dict[str, Any]) -> Verdict:
    """lifespan.shutdown comes, and only after the held handlers let go."""
    if problem := lifespan_ran(obs, OPEN):
        return problem
    shutdowns = obs.events(OPEN, "lifespan.shutdown")
    ends = {str(e.get("kind")): e for e in obs.events(OPEN, "hold.end")}
    evidence = {"lifespan_shutdown": shutdowns[:4], "hold_ends": list(ends.values()),
                "stop": record.get("stop")}
    # Only a handler's own loop must wait for it: other workers may shut down first.
    problems = []
    for start in obs.events(OPEN, "hold.start"):
        kind, loop = str(start.get("kind")), start.get("loop_id")
        own = [e["t"] for e in shutdowns if e.get("loop_id") == loop]
        end = ends.get(kind)
        if not own:
            problems.append(f"its loop never got lifespan.shutdown after the {kind} handler "
                            + ("ended" if end else "was left running"))
        elif end is None:
            problems.append(f"lifespan.shutdown came while the {kind} handler never ended")
        elif min(own) < end["t"]:
            problems.append(f"lifespan.shutdown came {end['t'] - min(own):.2f} s before the "
                            f"{kind} handler ended")
    if problems:
        return Verdict("fail", "; ".join(problems) + f" ({_exit(record)})", evidence)
    return Verdict("pass", f"lifespan.shutdown came after the {len(ends)} held handler(s) "
                   "on its loop ended", evidence)


@judged_on(_ready)
def idle_closed(obs: Observations, record: dict[str, Any]) -> Verdict:
    """An idle keep-alive connection is closed promptly at the stop."""
    idle = (record.get("held") or {}).get("idle") or {}
    evidence = {"idle": idle, "stop": record.get("stop")}
    if not (idle.get("response") or {}).get("status"):
        # The server never brought the connection to idle: observed, not an error.
        answered = any(e.get("tag") == "idle" for e in obs.events(OPEN, "http"))
        why = idle.get("error") or ("it was reset" if idle.get("reset") else
                                    "the connection closed mid-response"
                                    if (idle.get("response") or {}).get("closed_mid_response")
                                    else "no response came within 5 s")
        closed = idle.get("closed_after_signal_s")
        then = (f"; the server closed it {closed:.2f} s after SIGTERM" if closed is not None
                else "")
        return Verdict("n/a", "the request on the keep-alive connection got no answer ("
                       f"{why}; the app {'had answered it' if answered else 'never got it'}), "
                       f"so no connection sat idle at the stop{then}", evidence)
    after = idle.get("closed_after_signal_s")
    if after is not None and after < 0:
        return Verdict("n/a", "the server closed the connection after its response, before "
                       "the signal: it keeps no connection alive", evidence)
    if after is None:
        return Verdict("fail", "the idle keep-alive connection was still open at the deadline; "
                       + _exit(record), evidence)
    words = f"the idle keep-alive connection was closed {after:.2f} s after SIGTERM"
    if after <= IDLE_PROMPT_S:
        return Verdict("pass", words, evidence)
    return Verdict("fail", f"{words}, later than {IDLE_PROMPT_S:g} s; {_exit(record)}", evidence)


@judged_on(_ready)
def drain_connection_close(obs: Observations, record: dict[str, Any]) -> Verdict:
    """A response sent while draining says ``Connection: close``."""
    seen = (record.get("held") or {}).get("drain_request") or {}
    response = seen.get("response") or {}
    evidence = {"drain_request": seen, "stop": record.get("stop")}
    late = ""
    if IN_PLACE["drain-ka"] in (record.get("held_missing") or []):
        if ended := _ended_before_signal(seen):
            return _over_before_signal(obs, record, "drain-ka", ended)
        # Still outstanding at the signal: in flight for the client, whenever the app got it.
        got = [e for e in obs.events(OPEN, "http.start") if e.get("tag") == "drain-ka"]
        late = (f" (the app got it only {got[0]['t'] - record['t_signal']:.2f} s after SIGTERM, "
                f"{-(seen.get('opened_after_signal_s') or 0):.2f} s after it was sent)"
                if got and "t_signal" in record else " (the app never got it)")
    if not response.get("status"):
        return Verdict("fail", "the request in flight on a keep-alive connection got no "
                       f"response during the drain ({seen.get('error') or 'cut'}){late}; "
                       + _exit(record), evidence)
    header = (response.get("headers") or {}).get("connection", "")
    closed = seen.get("closed_after_signal_s")
    then = (f"; the server closed the connection {closed:.2f} s after SIGTERM"
            if closed is not None else "; the connection stayed open")
    words = (f"the response sent {_secs(response.get('after_signal_s'))} after SIGTERM "
             f"(status {response['status']})")
    if "close" in header.lower():
        return Verdict("pass", f"{words} said Connection: close{then}{late}", evidence)
    return Verdict("fail", f"{words} did not say Connection: close, so the client may reuse a "
                   f"connection that is going away{then}{late}", evidence)


# -- a hung startup -----------------------------------------------------------------------

def _hang(obs: Observations) -> dict[str, Any] | Verdict:
    if obs.kind == "harness":
        return Verdict("n/a", "an in-process test client: there is no server process to signal")
    record = obs.scenario(HANG)
    if record is None or record.get("error"):
        return Verdict("error", (record or {}).get("error") or "the startup-hang scenario was "
                       "not run", {"log_tail": (record or {}).get("log_tail", "")})
    if record.get("no_lifespan"):
        return Verdict("unsupported", "the server ran no lifespan in the main scenario, so "
                       "no startup can hang")
    if record.get("exited_before_signal"):
        return Verdict("pass", "the server ended the hung startup by itself before any "
                       f"signal, with status {record.get('exit_code')}",
                       {"log_tail": record.get("log_tail", "")})
    if not record.get("hang_seen"):
        return Verdict("error", "the probe's startup never began to hang, so the signals "
                       "could not be sent during it", {"log_tail": record.get("log_tail", "")})
    return record


def _ended(record: dict[str, Any], upto: int) -> tuple[str, bool]:
    signals = (record.get("signals") or [])[:upto]
    words, ended = [], False
    for sent in signals:
        if sent.get("ended"):
            words.append(f"{sent['signal']} ended it in {sent['seconds']:.2f} s")
            ended = True
        else:
            words.append(f"{sent['signal']} did not end it within {sent['seconds']:.1f} s")
    status = record.get("exit_code")
    tail = (f" (exit status {status})" if ended and status is not None
            else "; it was killed" if not ended and (record.get("stop") or {}).get("killed")
            else "")
    return "; ".join(words) + tail, ended


@judged_on(_hang)
def hang_sigterm(obs: Observations, record: dict[str, Any]) -> Verdict:
    """SIGTERM during a hung startup ends the server."""
    words, ended = _ended(record, 1)
    cancelled = obs.events(HANG, "lifespan.startup.ended")
    told = (f"; the startup was ended by {cancelled[0].get('how')}" if cancelled else "")
    evidence = {"signals": record.get("signals"), "exit_code": record.get("exit_code"),
                "startup_ended": cancelled[:2], "log_tail": record.get("log_tail", "")}
    return Verdict("pass" if ended else "fail", f"during the hung startup {words}{told}",
                   evidence)


@judged_on(_hang)
def hang_sigint(obs: Observations, record: dict[str, Any]) -> Verdict:
    """SIGINT (Ctrl-C) after an unanswered SIGTERM ends the server in a hung startup."""
    words, ended = _ended(record, 2)
    evidence = {"signals": record.get("signals"), "exit_code": record.get("exit_code"),
                "log_tail": record.get("log_tail", "")}
    return Verdict("pass" if ended else "fail", f"during the hung startup {words}", evidence)


# -- the properties, in the order the matrix shows them -----------------------------------

_WWW = "https://asgi.readthedocs.io/en/latest/specs/www.html"
#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("stop.websocket.close-code", "websocket-at-stop", "WebSocket told going away",
             "A WebSocket open at SIGTERM gets a close frame with 1001 or 1012, not a dropped "
             "socket (1006).", refs.RFC6455, websocket_close_code,
             "the client gets close code 1001 (going away) or 1012 (service restart)",
             level="not-in-spec", scenario=OPEN),
    Property("stop.websocket.app-told", "websocket-at-stop", "WebSocket app told at stop",
             "The handler of a WebSocket open at SIGTERM gets websocket.disconnect, not a "
             "cancellation.", refs.WS_DISCONNECT, websocket_app_told,
             "the app's receive() returns websocket.disconnect", level="SHOULD", scenario=OPEN),
    Property("stop.stream.app-told", "stream-at-stop", "Stream app told at stop",
             "The handler of an endless streaming response (SSE) in flight at SIGTERM gets "
             "http.disconnect (or a send that raises), not a cancellation.", refs.HTTP_DISCONNECT,
             stream_app_told, "the app's receive() returns http.disconnect",
             level="SHOULD", scenario=OPEN),
    Property("stop.open.exits-in-time", "stream-at-stop", "Exits with a stream open",
             "With a WebSocket, an endless stream and keep-alive connections open, the server "
             f"exits by itself within {OPEN_STOP_S:g} s of SIGTERM.", refs.UVICORN_451,
             exits_in_time,
             "the server ends the stream and exits; it is not killed",
             level="not-in-spec", scenario=OPEN),
    Property("stop.open.shutdown-after-release", "stream-at-stop",
             "Shutdown after open handlers",
             "With a WebSocket and a stream open at SIGTERM, lifespan.shutdown comes, and "
             "only after both handlers ended.", refs.SHUTDOWN, shutdown_after_release,
             "both handlers end first, then lifespan.shutdown reaches the app",
             level="SHOULD", scenario=OPEN),
    Property("stop.keepalive.idle-closed", "keepalive-at-stop", "Idle connections closed",
             f"An idle keep-alive connection is closed within {IDLE_PROMPT_S:g} s of SIGTERM.",
             refs.GRANIAN_568, idle_closed, "the server closes idle connections at once",
             level="not-in-spec", scenario=OPEN),
    Property("stop.keepalive.connection-close", "keepalive-at-stop",
             "Connection: close while draining",
             "A response sent during the drain, on a keep-alive connection, says "
             "Connection: close.", refs.RFC9112, drain_connection_close,
             "the response carries Connection: close", level="not-in-spec", scenario=OPEN),
    Property("startup-hang.sigterm", "startup-hang", "SIGTERM ends a hung startup",
             f"While the app's startup hangs, SIGTERM ends the server within {HANG_SIGNAL_S:g} s.",
             refs.UVICORN_2751, hang_sigterm, "the server gives up the startup and exits",
             level="not-in-spec", scenario=HANG),
    Property("startup-hang.sigint", "startup-hang", "SIGINT ends a hung startup",
             "While the app's startup hangs and SIGTERM did not end the server, SIGINT "
             f"(Ctrl-C) does within {HANG_SIGNAL_S:g} s.", refs.UVICORN_2751, hang_sigint,
             "SIGTERM, or at the latest a following SIGINT, ends the server",
             level="not-in-spec", scenario=HANG),
)
