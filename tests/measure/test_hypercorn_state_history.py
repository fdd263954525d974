"""Real hypercorn releases, end to end: 0.17.x handed one scope["state"] to every request
of a keep-alive connection and every stream of an HTTP/2 connection (pgjones/hypercorn#274,
litestar-org/litestar#4146); 0.18.0 copies it per request. The history must show where
state isolation on reused connections changed, from real servers (the reference server
speaks no HTTP/2, so 0.17.3 is the negative of state.isolated-http2). The same run
measures two app patterns on each release: the raw lifespan-state pattern and Litestar's
handler that reads its own request's headers (litestar-org/litestar#4146), which break
on 0.17.3 and work on 0.18.0, and the history's patterns section says so.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgi_matrix.results import document as _results
from helpers import cli, no_processes_tagged

pytestmark = pytest.mark.servers

RELEASES = ["hypercorn-history@0.17.3", "hypercorn-history@0.18.0"]
REUSED = ("state.isolated-keepalive", "state.isolated-http2")
PATTERNS = ("lifespan-state", "litestar-headers")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("hypercorn-history")
    tag = f"hc-history-{uuid.uuid4().hex[:8]}"
    named = [arg for pattern in PATTERNS for arg in ("--pattern", pattern)]
    done = cli("run", *RELEASES, *named, "--out", str(out), "--jobs", "2", "--force",
               env={"ASGI_MATRIX_RUN": tag})
    assert done.returncode == 0, done.stderr
    assert no_processes_tagged(tag) == []  # a killed process is gone a moment later
    return _results.load(out)


def test_hypercorn_0_17_shares_state_per_connection_and_per_http2_connection(run):
    verdicts = run["configurations"]["hypercorn-history@0.17.3"]["verdicts"]
    for prop in REUSED:
        assert verdicts[prop]["status"] == "fail", verdicts[prop]
        assert "share one state" in verdicts[prop]["explanation"]
    assert verdicts["state.shallow-copy"]["status"] == "pass"  # across connections it copies


def test_hypercorn_0_18_copies_state_per_request_and_stream(run):
    verdicts = run["configurations"]["hypercorn-history@0.18.0"]["verdicts"]
    assert {p: verdicts[p]["status"] for p in REUSED} == {p: "pass" for p in REUSED}


def test_the_history_shows_where_it_changed(run):
    series = run["history"]["series"]["hypercorn-history"]["properties"]
    for prop in REUSED:
        changes = [(c["version"], c["from"], c["to"]) for c in series[prop]["changes"]]
        assert ("0.18.0", "fail", "pass") in changes, series[prop]


def test_the_patterns_that_read_state_break_on_0_17_and_work_on_0_18(run):
    old = run["configurations"]["hypercorn-history@0.17.3"]["patterns"]
    new = run["configurations"]["hypercorn-history@0.18.0"]["patterns"]
    assert {p: old[p]["status"] for p in PATTERNS} == {p: "breaks" for p in PATTERNS}, old
    assert "shares one state dict between requests" in old["lifespan-state"]["explanation"]
    assert "read another request's headers" in old["litestar-headers"]["explanation"]
    assert {p: new[p]["status"] for p in PATTERNS} == {p: "works" for p in PATTERNS}, new
    assert set(run["suite"]["patterns_sha256"]) == set(PATTERNS)


def test_the_history_shows_where_the_patterns_changed(run):
    tracks = run["history"]["series"]["hypercorn-history"]["patterns"]
    assert list(tracks) == list(PATTERNS)
    for pattern in PATTERNS:
        assert tracks[pattern]["summary"] == "works since 0.18.0", tracks[pattern]
        [change] = tracks[pattern]["changes"]
        assert (change["previous"], change["from"], change["to"]) == ("0.17.3", "breaks",
                                                                      "works")
