"""The answers the front page and ``show`` give, from the recorded run and edits of it."""

from __future__ import annotations

import copy

import pytest
from asgi_matrix.report import answers
from helpers.results_docs import Document, sample, set_status, without_patterns


def _answers(document: Document, server: str) -> dict[str, dict]:
    row = next(r for r in answers.summary(document) if r["server"] == server)
    return {a["key"]: a for a in row["answers"]}


def test_each_server_is_answered_by_its_default_configuration() -> None:
    assert answers.defaults(sample()) == {
        "uvicorn": "uvicorn", "gunicorn": "gunicorn-uvicorn-worker2", "hypercorn": "hypercorn",
        "daphne": "daphne", "granian": "granian"}
    document = sample()
    del document["configurations"]["uvicorn"]  # then the fewest workers and threads
    assert answers.defaults(document)["uvicorn"] == "uvicorn-uvloop"


def test_the_newest_version_stands_for_a_server() -> None:
    document = sample()
    configs = document["configurations"]
    for config_id in ("uvicorn", "uvicorn-workers2"):
        del configs[config_id]
    newer = copy.deepcopy(configs["uvicorn-uvloop"])
    newer.update(id="uvicorn-asyncio")
    newer["versions"]["uvicorn"] = "0.100.0"  # newer than 0.54.0, though longer and later
    configs["uvicorn-asyncio"] = newer
    assert answers.defaults(document)["uvicorn"] == "uvicorn-asyncio"


def test_releases_stand_for_a_server_measured_only_by_releases() -> None:
    document = sample()
    configs = document["configurations"]
    base = configs.pop("daphne")
    for version in ("4.0.0", "4.10.0", "4.2.3"):
        release = copy.deepcopy(base)
        release["axes"] = {**release["axes"], "release": version}
        release["versions"]["daphne"] = version
        configs[f"daphne-history@{version}"] = release
    assert answers.defaults(document)["daphne"] == "daphne-history@4.10.0"


def test_answers_in_words_with_levels() -> None:
    document = sample()
    uvicorn = _answers(document, "uvicorn")
    assert (uvicorn["per-loop"]["word"], uvicorn["per-loop"]["glyph"]) == ("pass", "✓")
    # contextvars from the lifespan are not in the spec: a neutral "no", not a violation
    assert (uvicorn["context"]["status"], uvicorn["context"]["word"]) == ("no", "no")
    assert [p["id"] for p in uvicorn["context"]["parts"]] == [
        "context.propagates", "context.propagates-websocket"]
    set_status(document, "hypercorn", "shutdown.after-drain.sigterm-main", "pass")
    set_status(document, "hypercorn", "shutdown.after-drain.sigterm-group", "fail")
    hypercorn = _answers(document, "hypercorn")
    assert hypercorn["drain"]["status"] == "partly"  # main process yes, process group no
    assert [p["status"] for p in hypercorn["drain"]["parts"]] == ["pass", "no"]
    assert hypercorn["drain"]["first"] == "shutdown.after-drain.sigterm-group"  # the link
    assert _answers(document, "daphne")["per-loop"]["word"] == "unsupported"  # one vocabulary
    for part in _answers(document, "uvicorn")["state"]["parts"]:  # each MUST in the spec
        set_status(document, "uvicorn", part["id"], "fail")
    assert _answers(document, "uvicorn")["state"]["status"] == "fail"  # not a neutral "no"


def test_a_question_takes_properties_later_runs_add() -> None:
    document = without_patterns(sample())  # the verdicts' rule, patterns set here
    asked = [p["id"] for p in _answers(document, "uvicorn")["state"]["parts"]]
    assert _answers(document, "uvicorn")["state"]["status"] == "pass"
    prop = {**document["properties"]["state.shallow-copy"], "id": "state.keep-alive-isolated",
            "title": "State isolated on a reused connection"}
    document["properties"]["state.keep-alive-isolated"] = prop
    document["configurations"]["uvicorn"]["verdicts"]["state.keep-alive-isolated"] = {
        "status": "fail", "explanation": "request 2 saw request 1's key", "evidence": {}}
    state = _answers(document, "uvicorn")["state"]
    assert [p["id"] for p in state["parts"]] == [*asked, "state.keep-alive-isolated"]
    assert state["status"] == "partly"
    broken = answers.breaking(document)
    assert [(e["config"], [f["id"] for f in e["failed"]]) for e in broken] == [
        ("uvicorn", ["state.keep-alive-isolated"])]


def test_a_document_without_a_question_s_properties_does_not_ask_it() -> None:
    document = sample()
    del document["properties"]["startup-failure.exits-nonzero"]
    assert "startup-failure" not in [q.key for q in answers.questions(document)]


@pytest.mark.parametrize(("statuses", "combined"), [
    (["pass", "n/a"], "pass"), (["pass", "fail"], "partly"), (["no", "fail"], "fail"),
    (["no", "no"], "no"), (["error"], "error"), ([], "error"),
    (["unsupported", "n/a"], "unsupported"), (["flaky"], "flaky"), (["pass", "error"], "pass")])
def test_combine(statuses: list[str], combined: str) -> None:
    assert answers.combine(statuses) == combined


def test_configurations_that_break_apps_multi_loop_first() -> None:
    document = without_patterns(sample())  # the verdicts' rule, patterns set here
    assert answers.breaking(document) == []
    set_status(document, "hypercorn-workers2", "state.shallow-copy", "fail")
    set_status(document, "granian-mt2", "lifespan.per-loop", "fail")
    document["configurations"]["granian-mt2"]["facts"]["loops"] = 2
    control = copy.deepcopy(document["configurations"]["granian-mt2"])
    control.update(id="control-broken", server="control", kind="control")
    document["configurations"]["control-broken"] = control  # fails on purpose: not listed
    found = answers.breaking(document)
    assert [(e["config"], e["multi_loop"]) for e in found] == [
        ("granian-mt2", True), ("hypercorn-workers2", False)]
    assert found[0]["failed"][0]["status"] == "no"  # per-loop is SHOULD: still breaks apps
    assert found[1]["failed"][0]["status"] == "fail"


def test_fails_only_here() -> None:
    document = sample()
    set_status(document, "granian-mt2", "lifespan.per-loop", "fail")
    only = answers.fails_only(document)
    configs = document["configurations"]
    assert [i["id"] for i in only["granian-mt2"]] == ["lifespan.per-loop"]
    peers = [cid for cid, c in configs.items() if c["kind"] == "server" and cid != "granian-mt2"
             and c["verdicts"]["lifespan.per-loop"]["status"] == "pass"]
    assert only["granian-mt2"][0]["peers"] == len(peers)  # daphne is unsupported: no finding
    assert "daphne" not in peers
    # the rule, checked for every entry
    for config_id, items in only.items():
        for item in items:
            assert configs[config_id]["verdicts"][item["id"]]["status"] == "fail"
            others = [c["verdicts"][item["id"]]["status"] for cid, c in configs.items()
                      if cid != config_id and c["kind"] == configs[config_id]["kind"]]
            assert "fail" not in others
            assert "pass" in others
    set_status(document, "granian", "lifespan.per-loop", "fail")  # no longer only one
    assert "granian-mt2" not in answers.fails_only(document)


def test_compare_puts_differences_first() -> None:
    document = sample()
    configs = document["configurations"]
    one, two = configs["uvicorn"]["verdicts"], configs["uvicorn-workers2"]["verdicts"]
    set_status(document, "uvicorn-workers2", "lifespan.supported", "fail")  # one difference
    differing = [p for p in one if one[p]["status"] != two[p]["status"]]  # in their order
    found = answers.compare(document, "uvicorn", "uvicorn-workers2")
    assert found["differences"] == len(differing)
    assert [r["id"] for r in found["rows"][:len(differing)]] == differing
    assert all(r["differs"] for r in found["rows"][:len(differing)])
    assert not any(r["differs"] for r in found["rows"][len(differing):])
    assert len(found["rows"]) == len(document["properties"]) + len(document["patterns"])
    assert (found["rows"][0]["a"], found["rows"][0]["b"]) == ("pass", "no")
    # an app pattern that differs is a difference too, after the properties that differ
    configs["uvicorn-workers2"]["patterns"]["fastapi-app-state"]["status"] = "breaks"
    found = answers.compare(document, "uvicorn", "uvicorn-workers2")
    assert found["differences"] == len(differing) + 1
    assert found["rows"][len(differing)]["id"] == "pattern:fastapi-app-state"
    assert (found["rows"][len(differing)]["a"], found["rows"][len(differing)]["b"]) == (
        "works", "breaks")


def test_short_labels() -> None:
    props = sample()["properties"]
    assert answers.short_label(props["lifespan.per-loop"]) == "per loop"
    assert answers.short_label(props["startup-failure.exits-nonzero"]) == "exits nonzero"
    assert answers.short_label({**props["lifespan.per-loop"], "short": "1/loop"}) == "1/loop"


def test_an_app_pattern_that_breaks_is_called_out() -> None:
    document = without_patterns(sample())  # the verdicts' rule, patterns set here
    document["patterns"] = {"taskgroup-on-instance": {
        "id": "taskgroup-on-instance", "title": "Task group on the app object",
        "kind": "pattern", "app": "x", "source": "x"}}
    document["configurations"]["granian"]["patterns"] = {
        "taskgroup-on-instance": {"status": "breaks", "explanation": "3 of 3 jobs cancelled"},
        "taskgroup-runvar": {"status": "works", "explanation": "all jobs completed"}}
    found = answers.breaking(document)
    assert [(e["config"], [(f["title"], f["pattern"]) for f in e["failed"]]) for e in found] \
        == [("granian", [("Task group on the app object", True)])]


def test_a_contextvar_pattern_breaking_is_not_called_out_as_breaking_apps() -> None:
    # asgiref #322 is open: the answers' contextvar row says it; the callout keeps to
    # per-loop resources, state isolation and the naive resource patterns.
    document = without_patterns(sample())  # the verdicts' rule, patterns set here
    document["configurations"]["granian"]["patterns"] = {
        "contextvar-resource": {"status": "breaks", "explanation": "LookupError"}}
    assert answers.breaking(document) == []
    document["configurations"]["granian"]["patterns"]["global-resource"] = {
        "status": "breaks", "explanation": "bound to a different event loop"}
    assert [[f["id"] for f in e["failed"]] for e in answers.breaking(document)] \
        == [["global-resource"]]
