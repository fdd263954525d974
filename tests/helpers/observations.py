"""Hand-written probe records for verdict tests: small builders, one fact each."""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts import Observations


def startup(loop: str = "L1", pid: int = 1, thread: int = 10, t: float = 1.0,
            token: str = "tok1", state: bool = True) -> dict[str, Any]:
    return {"event": "lifespan.startup", "outcome": "complete", "pid": pid, "thread_id": thread,
            "thread_name": f"t{thread}", "loop_id": loop, "t": t, "token": token,
            "state_present": state, "asgi": {"version": "3.0", "spec_version": "2.0"}}


def request(tag: str = "seq-0", loop: str = "L1", pid: int = 1, thread: int = 10,
            t: float = 2.0, ctx: str | None = "tok1", state_token: str | None = "tok1",
            foreign: list[str] | None = None, job_ran: bool = True,
            event: str = "http", t_end: float | None = None, connection: str | None = None,
            mark_seen: str | None = None, naive_ran: bool = True,
            interpreter: int = 0) -> dict[str, Any]:
    """One request's record; its connection (the client's socket, as the traffic side
    records it: see ``served``) is its own unless named, its state key and contextvar
    mark are named after its tag ("req:TAG", "mark:TAG"). ``scope["client"]`` is the same
    fake address for every request, as httpx's ASGITransport gives: verdicts never read
    connections from it."""
    return {"event": event, "tag": tag, "pid": pid, "thread_id": thread,
            "thread_name": f"t{thread}", "loop_id": loop, "interpreter": interpreter, "t": t,
            "t_end": t if t_end is None else t_end, "ctx_token": ctx,
            "client": ["127.0.0.1", 123], "connection": "127.0.0.1:123",
            **({"_socket": connection} if connection else {}),
            "ctx_own_mark": f"mark:{tag}", "ctx_foreign_mark": mark_seen,
            "state_present": state_token is not None, "state_token": state_token,
            "state_foreign_keys": foreign or [],
            "state_own_key": f"req:{tag}" if state_token is not None else None,
            "job": {"ran": job_ran, "error": None if job_ran else "no task group"},
            "naive": {"ran": naive_ran, "error": None if naive_ran else
                      "the job started in the task group on the app object did not run "
                      "within 0.5 s", "stored_by_loop_id": "L1", "same_loop": loop == "L1"},
            "asgi": {"version": "3.0", "spec_version": "2.4"}}


FAILED_STARTUP = {**startup(), "outcome": "failed"}


def shutdown(loop: str = "L1", pid: int = 1, t: float = 9.0) -> dict[str, Any]:
    return {"event": "lifespan.shutdown", "pid": pid, "loop_id": loop, "thread_id": 10, "t": t}


def carried(events: list[dict[str, Any]], requests: list[dict[str, Any]] | None = None,
            add: bool = True) -> list[dict[str, Any]]:
    """What the client recorded of the requests whose socket a test named: the kind of
    reused connection (the tag's prefix) and the socket as its local port, merged into
    ``requests`` by tag (``add``: also a record for a request they do not list)."""
    out = [dict(r) for r in requests or []]
    by_tag = {r.get("tag"): r for r in out}
    for event in events:
        if "_socket" not in event:
            continue
        tag = str(event.get("tag"))
        prefix = tag.split("-")[0]
        record = by_tag.get(tag)
        if record is None and not add:
            continue
        if record is None:
            record = by_tag[tag] = {"tag": tag, "status": 200}
            out.append(record)
        record.update(local_port=event["_socket"],
                      **({"reused": prefix} if prefix in ("ka", "h2", "pipe") else {}))
    return out


def served(events: list[dict[str, Any]], add_sockets: bool = True, **extra: Any
           ) -> dict[str, Any]:
    """A scenario that served these events; the client's records of the sockets the
    events name join ``requests`` (``add_sockets``: as records of their own where it
    does not list them)."""
    if any("_socket" in e for e in events):
        extra["requests"] = carried(events, extra.get("requests"), add_sockets)
    return {"ready": {"ok": True}, "events": events, **extra}


def good_main() -> list[dict[str, Any]]:
    return [startup(), request("seq-0", t=2.0), request("seq-1", t=2.1),
            request("ws", event="websocket", t=2.2),
            request("ka-0", t=2.3, connection="c1"), request("ka-1", t=2.4, connection="c1"),
            request("h2-0", t=2.5, connection="c2"), request("h2-1", t=2.6, connection="c2")]


def stop_scenario(events: list[dict[str, Any]] | None = None, slow_status: int | None = 200,
                  in_flight: bool = True, killed: bool = False, exit_code: int | None = 0,
                  exit_signal: str | None = None, orphans: list[int] | None = None,
                  requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    events = events if events is not None else [
        startup(), request("slow", t=3.0, t_end=4.0), shutdown(t=4.5)]
    return served(events, add_sockets=requests is None, slow_in_flight=in_flight,
                  slow={"status": slow_status, "error": None if slow_status else "cut"},
                  stop={"scope": "main", "killed": killed, "seconds": 1.2,
                        "exit_code": exit_code, "exit_signal": exit_signal,
                        "orphans": orphans or []},
                  requests=requests if requests is not None else [{"tag": "seq-0",
                                                                   "status": 200}])


def obs(kind: str = "server", websocket: bool = True, **scenarios: dict[str, Any]) -> Observations:
    defaults: dict[str, dict[str, Any]] = {
        "main": stop_scenario([*good_main(), request("slow", t=3.0, t_end=4.0), shutdown(t=4.5)]),
        "group": stop_scenario(),
        "startup-fail": {"events": [{**startup(), "outcome": "failed"}], "served": [],
                         "exited_by_itself": True, "exit_code": 3, "seconds": 0.4},
        "reject-lifespan": served([{"event": "lifespan.rejected", "pid": 1}],
                                  requests=[{"status": 200}, {"status": 200}], exit_code=None),
        "open-stop": open_stop(),
        "startup-hang": startup_hang(),
        "recycle": recycle_run(),
        "lifespan-task": lifespan_task(),
    }
    defaults.update({k.replace("_", "-"): v for k, v in scenarios.items()})
    return Observations("test", kind, websocket, defaults)


def lifespan_task(loops: tuple[str, ...] = ("L1",), shut: tuple[str, ...] | None = None,
                  killed: bool = False, seconds: float = 0.3) -> dict[str, Any]:
    """A lifespan-task record: each loop's lifespan ran a ticker; ``shut``: the loops that
    got lifespan.shutdown (all by default), 0.05 s after the signal at t=10."""
    shut = loops if shut is None else shut
    events: list[dict[str, Any]] = []
    for loop in loops:
        events += [startup(loop=loop, token=f"tok-{loop}"),
                   {"event": "lifespan.task", "phase": "started", "pid": 1, "loop_id": loop,
                    "t": 1.1}]
    events += [{**shutdown(loop=loop, t=10.05), "ticks": 150} for loop in shut]
    return served(events, requests=[{"tag": "seq-0", "status": 200}],
                  stop={"scope": "main", "killed": killed, "seconds": seconds,
                        "exit_code": None if killed else 0, "exit_signal": None,
                        "orphans": [], "t_signal": 10.0})


# -- lifecycle edges (verdicts/lifecycle.py) ----------------------------------------------

T_SIGNAL = 10.0


def hold(kind: str, event: str = "hold.start", t: float = 2.0, **extra: Any) -> dict[str, Any]:
    return {"event": event, "kind": kind, "tag": kind, "pid": 1, "loop_id": "L1", "t": t,
            **extra}


def open_stop(ws_code: int | None = 1001, ws_how: str | None = "disconnect",
              stream_how: str | None = "disconnect", killed: bool = False,
              idle_closed_s: float | None = 0.05, connection: str | None = "close",
              drain_status: int | None = 200, shutdown_t: float | None = 10.5,
              missing: list[str] | None = None, lifespan: bool = True) -> dict[str, Any]:
    """An open-stop record; ``None`` for a ``*_how`` leaves that handler's end unrecorded."""
    events = [startup()] if lifespan else []
    events += [hold("stream"), hold("ws-hold"), {**request("drain-ka"), "event": "http.start"}]
    for kind, how in (("stream", stream_how), ("ws-hold", ws_how)):
        if how is not None:
            code = ws_code if kind == "ws-hold" and how == "disconnect" else None
            events.append(hold(kind, "hold.end", T_SIGNAL + 0.1, how=how, code=code))
    if shutdown_t is not None and lifespan:
        events.append(shutdown(t=shutdown_t))
    websocket = ({"close_code": ws_code, "closed_after_signal_s": 0.1, "close_frame":
                  ws_code != 1006} if ws_code is not None else {"still_open": True})
    headers = {"content-length": "2", **({"connection": connection} if connection else {})}
    response = ({"status": drain_status, "headers": headers, "after_signal_s": 0.9}
                if drain_status else {"closed_mid_response": True})
    return served(events, t_signal=T_SIGNAL, held_missing=missing or [],
                  stop={"scope": "main", "killed": killed, "seconds": 8.0 if killed else 0.3,
                        "exit_code": None if killed else 0, "exit_signal": None,
                        "orphans": []},
                  held={"websocket": websocket,
                        "stream": {"ended": "cut", "bytes_after": 40,
                                   "closed_after_signal_s": 8.0 if killed else 0.2},
                        "idle": {"response": {"status": 200},
                                 "closed_after_signal_s": idle_closed_s},
                        "drain_request": {"response": response, "closed_after_signal_s": 0.95}})


def startup_hang(ended_by: str | None = "SIGTERM", hang_seen: bool = True,
                 exited_before: bool = False, no_lifespan: bool = False) -> dict[str, Any]:
    """A startup-hang record: which signal ended the server (None: neither, it was killed)."""
    if no_lifespan:
        return {"no_lifespan": True, "events": []}
    signals = [{"signal": "SIGTERM", "ended": ended_by == "SIGTERM",
                "seconds": 0.2 if ended_by == "SIGTERM" else 3.0}]
    if ended_by != "SIGTERM":
        signals.append({"signal": "SIGINT", "ended": ended_by == "SIGINT",
                        "seconds": 0.2 if ended_by == "SIGINT" else 3.0})
    return {"hang_seen": hang_seen, "exited_before_signal": exited_before,
            "signals": signals if hang_seen and not exited_before else None,
            "exit_code": None if ended_by is None else 0,
            "stop": {"killed": True} if ended_by is None else None,
            "events": [{"event": "lifespan.startup.hang", "pid": 1, "t": 1.0}] if hang_seen
            else []}


def recycle_run(replaced: int = 1, shut: int = 1, failed: int = 0, exited: bool = False,
                lifespan: bool = True) -> dict[str, Any]:
    """A recycle record: traffic from t=5; ``replaced`` new startups, ``shut`` shutdowns
    before the stop signal at t=20; ``failed`` requests failed while the server was up."""
    events = [startup("L1", pid=1, t=1.0)] if lifespan else []
    events += [request("rc-0-0", "L1", t=5.5)]
    events += [request(f"rc-0-{i + 1}", f"N{i + 1}", pid=10 + i, t=7.0 + i)
               for i in range(replaced)]
    if lifespan:
        events += [shutdown(f"L{i + 1}", pid=i + 1, t=6.0 + i) for i in range(shut)]
        events += [startup(f"N{i + 1}", pid=10 + i, t=6.5 + i) for i in range(replaced)]
    fails = [{"tag": f"rc-0-{i}", "status": None, "error": "ConnectionResetError: reset",
              "alive_after": True, "after_start_s": 1.0} for i in range(failed)]
    return served(events, t_traffic=5.0, budget=["requests", 100], sent=300,
                  answered=300 - failed, failed=fails, failed_count=failed,
                  failed_while_up=failed,
                  traffic_seconds=3.0, exited_during_traffic=exited or None,
                  exit_code=0 if exited else None,
                  stop=None if exited else {"scope": "main", "killed": False, "seconds": 0.3,
                                            "exit_code": 0, "t_signal": 20.0})
