"""Connections are the client's sockets, never scope["client"]: in-process clients fake
the address (httpx's ASGITransport: 127.0.0.1:123 for every request), servers send None,
port 0 or a wrong port. None of them may change a verdict about one connection or many."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import context, state
from asgi_matrix.verdicts._model import client_connections
from helpers.observations import obs, request, served, startup

#: what servers and test clients put in scope["client"], one per request (by index)
ADDRESSES = [
    pytest.param(lambda i: ["127.0.0.1", 123], id="asgitransport-fake"),
    pytest.param(lambda i: ["testclient", 50000], id="starlette-testclient-fake"),
    pytest.param(lambda i: None, id="none"),
    pytest.param(lambda i: ["127.0.0.1", 0], id="port-0"),
    pytest.param(lambda i: ["127.0.0.1", 40000 + i], id="a-wrong-port-each"),
]


def _with_client(event, address):
    event = {**event, "client": address}
    event.pop("connection", None)
    if address:
        event["connection"] = f"{address[0]}:{address[1]}"
    return event


def _main(events, address, **extra):
    return obs(main=served([startup(), *(_with_client(e, address(i))
                                         for i, e in enumerate(events))], **extra))


@pytest.mark.parametrize("address", ADDRESSES)
def test_one_dict_for_every_request_fails_shallow_copy_whatever_the_address(address):
    # sequential requests, each on a new connection of the client's, all one dict
    events = [request("seq-0"), request("seq-1", foreign=["req:seq-0"]),
              request("seq-2", foreign=["req:seq-0", "req:seq-1"])]
    sent = [{"tag": f"seq-{i}", "status": 200} for i in range(3)]
    verdict = state.shallow_copy(_main(events, address, requests=sent))
    assert verdict.status == "fail", verdict.explanation
    assert "2 of 3 requests saw keys a request on another connection added" in \
        verdict.explanation


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_copy_per_request_passes_shallow_copy_whatever_the_address(address):
    events = [request("seq-0"), request("seq-1"), request("conc-0")]
    sent = [{"tag": t, "status": 200} for t in ("seq-0", "seq-1", "conc-0")]
    assert state.shallow_copy(_main(events, address, requests=sent)).status == "pass"


@pytest.mark.parametrize("address", ADDRESSES)
def test_one_keepalive_socket_sharing_state_fails_whatever_the_address(address):
    events = [request("ka-0", connection="p1"), request("ka-1", connection="p1",
                                                         foreign=["req:ka-0"])]
    verdict = state.isolated_keepalive(_main(events, address))
    assert verdict.status == "fail", verdict.explanation
    assert "on the same connection (port p1)" in verdict.explanation
    # the leak stays on its connection: it is not a cross-connection one
    assert state.shallow_copy(_main(events, address)).status == "pass"


@pytest.mark.parametrize("address", ADDRESSES)
def test_separate_sockets_are_not_reuse_whatever_the_address(address):
    events = [request("ka-0", connection="p1"), request("ka-1", connection="p2")]
    assert state.isolated_keepalive(_main(events, address)).status == "n/a"


@pytest.mark.parametrize("address", ADDRESSES)
def test_a_contextvar_seen_across_sockets_is_not_called_same_connection(address):
    events = [request("seq-0"), request("seq-1", mark_seen="mark:seq-0")]
    sent = [{"tag": "seq-0", "status": 200}, {"tag": "seq-1", "status": 200}]
    verdict = context.isolated(_main(events, address, requests=sent))
    assert verdict.status == "fail"
    assert "same connection" not in verdict.explanation


def test_client_connections_come_from_the_traffic_records():
    record = served([], requests=[
        {"tag": "seq-0", "status": 200},
        {"tag": "ka-0", "reused": "ka", "local_port": 5001},
        {"tag": "ka-1", "reused": "ka", "local_port": 5001},
        {"tag": "h2-0", "reused": "h2"},  # its port was not seen: no connection named
    ], pipelined={"requests": [{"tag": "pipe-0", "reused": "pipe", "local_port": 5002}]})
    assert client_connections(obs(main=record)) == {
        "seq-0": "new:seq-0", "ka-0": "ka:5001", "ka-1": "ka:5001", "pipe-0": "pipe:5002"}
