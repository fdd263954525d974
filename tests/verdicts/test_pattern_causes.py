"""A pattern breaks only for a cause it owns; explanations state only what their
evidence holds. On recorded starts (tests/verdicts/data), changed the way each
situation would change them.

Server's fault: the start shows the server ended every app's lifespan badly (a loop that
never delivered lifespan.shutdown, a kill at the stop) and the reference pattern served
by the same start (lifespan-state) fails too: the cell is "caveat", naming the server
property that fails. Where the reference got through, or the pattern's own requests
failed, it breaks.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import pattern_catalogue as catalogue
from asgi_matrix.verdicts.pattern_verdicts import judge, needs

DATA = Path(__file__).parent / "data"
PATTERNS = {p.id: p for p in catalogue.load()}
STARTS = sorted(p.name.removeprefix("patterns-").removesuffix(".json")
                for p in DATA.glob("patterns-*.json"))


def recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"patterns-{name}.json").read_text())
    return loaded


def verdict(pattern: str, start: dict[str, Any]) -> Any:
    return judge(needs(PATTERNS[pattern]), start)


def without_shutdowns(start: dict[str, Any]) -> dict[str, Any]:
    """The start as a server that never sent lifespan.shutdown would leave it: no app
    got its shutdown, no job finished after the stop, no resource closed."""
    changed = copy.deepcopy(start)
    changed["events"] = [e for e in changed["events"]
                         if e["event"] not in ("pattern.shutdown", "pattern.close")
                         and e.get("phase") != "finished"]
    return changed


def test_jobs_cut_where_no_app_got_its_shutdown_are_the_servers_fault():
    start = without_shutdowns(recorded("uvicorn"))
    got = verdict("taskgroup-on-instance", start)
    assert got.status == "caveat", got.explanation
    assert got.evidence["server_property"] == "shutdown.delivered.sigterm-main"
    assert got.evidence["reference"] == "lifespan-state"
    assert "the reference pattern lifespan-state in the same start shows it too" in \
        got.explanation
    assert "background jobs never completed" in got.evidence["breaks_alone_as"]
    # the reference fails there too, and it is the server's fault for it as well
    assert verdict("lifespan-state", start).status == "caveat"


def test_a_kill_at_the_stop_is_the_servers_fault_when_the_reference_fails_too():
    start = without_shutdowns(recorded("uvicorn"))
    start["stop"] = {"killed": True, "seconds": 8.0}
    got = verdict("factory-resource", start)
    assert got.status == "caveat", got.explanation
    assert got.evidence["server_property"] == "shutdown.clean-exit"
    assert "killed after 8.0 s" in got.explanation


def test_where_the_reference_got_through_the_failure_is_the_patterns_own():
    start = recorded("uvicorn")
    start["stop"] = {"killed": True, "seconds": 8.0}  # yet lifespan-state closed cleanly
    start["events"] = [e for e in start["events"] if not (
        e["pattern"] == "taskgroup-on-instance" and e.get("phase") == "finished")]
    assert verdict("lifespan-state", start).status == "works"
    assert verdict("taskgroup-on-instance", start).status == "breaks"


def test_a_patterns_own_cause_breaks_even_where_the_server_is_at_fault():
    start = without_shutdowns(recorded("control-multiloop"))
    got = verdict("global-resource", start)  # bound to another loop: its own cause
    assert got.status == "breaks"
    assert "is bound to a different event loop" in got.explanation


# -- explanations built from their evidence ---------------------------------------------

#: each count an explanation states, and the evidence it must equal
CLAIMS: list[tuple[str, Any]] = [
    (r"all (\d+) requests succeeded", lambda e, m: int(m[1]) == e["requests"]),
    (r"(\d+) of (\d+) requests failed", lambda e, m: (int(m[1]), int(m[2])) == (
        e["failed"], e["requests"])),
    (r"(\d+) of (\d+) requests got no answer", lambda e, m: int(m[2]) == e["requests"]
     and int(m[1]) == sum(c["requests"] - c["ok"] for c in e["carriers"].values())),
    (r"on (\d+) event loop\(s\) in (\d+) process\(es\)", lambda e, m: (int(m[1]), int(m[2]))
     == (e["loops"], e["processes"])),
    (r"all (\d+) background jobs completed", lambda e, m: int(m[1]) == e["jobs"]["queued"]
     == e["jobs"]["finished"]),
    (r"(\d+) of (\d+) background jobs never completed", lambda e, m: (int(m[1]), int(m[2]))
     == (e["jobs"]["queued"] - e["jobs"]["finished"], e["jobs"]["queued"])),
    (r"(\d+) lifespan\(s\) ran and exited cleanly", lambda e, m: int(m[1]) == len(
        e["lifespans"]) == sum(bool(s["clean"]) for s in e["shutdowns"])),
    (r"(\d+) lifespan\(s\) ran, (\d+) shut down cleanly on record", lambda e, m: (
        int(m[1]), int(m[2])) == (len(e["lifespans"]),
                                  sum(bool(s["clean"]) for s in e["shutdowns"]))),
    (r"(\d+) of (\d+) lifespans did not exit cleanly", lambda e, m: (int(m[1]), int(m[2]))
     == (sum(not s["clean"] for s in e["shutdowns"]), len(e["shutdowns"]))),
    (r"closed (\d+) time\(s\) for (\d+) lifespan\(s\)", lambda e, m: (int(m[1]), int(m[2]))
     == (e["closed"]["closes"], e["closed"]["lifespans"])),
    (r"(\d+) on new connections", lambda e, m: int(m[1]) == e["carriers"]["new"]["requests"]),
    (r"(\d+) pipelined", lambda e, m: int(m[1]) == e["carriers"]["pipe"]["requests"]),
    (r"(\d+) as HTTP/2 streams", lambda e, m: int(m[1]) == e["carriers"]["h2"]["requests"]),
    (r"no lifespan shutdown was ever delivered", lambda e, m: e["shutdowns"] == []),
    (r"every lifespan exited cleanly", lambda e, m: e["shutdowns"] != [] and all(
        s["clean"] for s in e["shutdowns"])),
]

VARIANTS = {"as recorded": lambda s: s, "no shutdown delivered": without_shutdowns}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", STARTS)
def test_every_count_an_explanation_states_is_the_evidence_it_publishes(name, variant):
    start = VARIANTS[variant](recorded(name))
    served = sorted({e["pattern"] for e in start["events"]} & set(PATTERNS))
    checked = 0
    for pattern in served:
        got = verdict(pattern, start)
        text = got.evidence.get("breaks_alone_as", got.explanation)
        for claim, holds in CLAIMS:
            for match in re.finditer(claim, text):
                assert holds(got.evidence, match), (pattern, match[0], got.evidence)
                checked += 1
    assert checked  # the starts state counts: none may go unchecked by accident


def test_one_app_alone_missing_its_shutdown_is_not_called_the_servers_fault():
    start = without_shutdowns(recorded("uvicorn"))
    start["events"] = [e for e in start["events"] if e["pattern"] == "taskgroup-on-instance"]
    assert verdict("taskgroup-on-instance", start).status == "breaks"
    start["stop"] = {"killed": True, "seconds": 8.0}  # a kill is the server's all the same
    assert verdict("taskgroup-on-instance", start).status == "caveat"
