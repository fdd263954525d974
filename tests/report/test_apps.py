"""report/apps.py: the answer per app (framework or pattern) and server, on the recorded
run, with a server-caused caveat added (as issue #23's status reads)."""

from __future__ import annotations

from asgi_matrix.report import answers, apps
from helpers.site_docs import CAVEAT, sample, with_caveat


def test_frameworks_come_first_fastapi_leading() -> None:
    document = sample()
    order = apps.ordered(document)
    kinds = [document["patterns"][a]["kind"] for a in order]
    assert kinds == sorted(kinds, key=lambda k: k != "framework")  # frameworks, then patterns
    assert order[:2] == ["fastapi-app-state", "fastapi-yielded-state"]
    assert order.index("starlette-app-state") < order.index("litestar-state") \
        < order.index("quart-serving") < order.index("django-asgi")
    assert sorted(order) == sorted(document["patterns"])  # every app, once


def test_each_server_default_reads_its_own_pattern_cell() -> None:
    document = with_caveat(sample())
    defaults = answers.defaults(document)
    for app_id in document["patterns"]:
        found = apps.for_app(document, app_id)
        assert [e["server"] for e in found["servers"]] == sorted(
            defaults, key=lambda s: (apps.RANK[found["servers"][[e["server"] for e in
                                                                 found["servers"]].index(s)]
                                               ["status"]], list(defaults).index(s)))
        for entry in found["servers"]:
            cell = document["configurations"][entry["config"]]["patterns"][app_id]
            assert entry["config"] == defaults[entry["server"]]
            assert entry["status"] == cell["status"]
        assert found["recommended"] == [e["server"] for e in found["servers"]
                                        if e["status"] == "works"]


def test_a_server_caused_caveat_is_not_recommended_and_not_a_break() -> None:
    found = apps.for_app(with_caveat(sample()), "fastapi-app-state")
    statuses = [e["status"] for e in found["servers"]]
    assert statuses == sorted(statuses, key=apps.RANK.__getitem__)  # works first
    assert "hypercorn" not in found["recommended"]
    assert found["caveat"] == ["hypercorn"]
    assert "hypercorn" not in found["breaks"]
    caveat = next(e for e in found["servers"] if e["server"] == "hypercorn")
    assert caveat["reason"] == apps.one_line_reason(CAVEAT)
    assert "never delivered lifespan.shutdown" in caveat["reason"]
    assert caveat["explanation"] == CAVEAT  # the whole of it, with the property, on its page


def test_a_pattern_owned_break_is_named_on_every_server_it_breaks() -> None:
    document = sample()
    found = apps.for_app(document, "contextvar-resource")
    breaking = {s for s, cid in answers.defaults(document).items()
                if document["configurations"][cid]["patterns"]["contextvar-resource"]["status"]
                == "breaks"}
    assert breaking, "the recording has no pattern-owned break"
    assert set(found["breaks"]) == breaking
    assert not set(found["recommended"]) & breaking
    reason = next(e["reason"] for e in found["servers"] if e["status"] == "breaks")
    assert "LookupError" in reason  # the pattern's own cause: the contextvar was never set


def test_controls_never_answer_and_test_clients_stand_apart() -> None:
    document = sample()
    harness = dict(document["configurations"]["uvicorn"], id="tc", server="tc",
                   kind="harness")
    document["configurations"]["tc"] = harness
    found = apps.for_app(document, "fastapi-app-state")
    configs = {e["config"] for e in found["servers"]}
    assert not any(document["configurations"][c]["kind"] != "server" for c in configs)
    assert "control-multiloop" not in configs
    assert [e["config"] for e in found["clients"]] == ["tc"]


def test_a_configuration_not_run_answers_not_run_with_its_reason() -> None:
    document = sample()
    document["configurations"]["daphne"].update(status="not-run", reason="no Python 3.14")
    entry = next(e for e in apps.for_app(document, "django-asgi")["servers"]
                 if e["server"] == "daphne")
    assert (entry["status"], entry["reason"]) == ("not-run", "no Python 3.14")
    assert apps.for_app(document, "django-asgi")["servers"][-1]["server"] == "daphne"  # last


def test_one_line_reason_drops_asides_and_stays_short() -> None:
    text = ("14 of 18 requests failed, the first with RuntimeError: bound to a different loop "
            "(request seq-1 on a new connection (port 37940); pid 3080)")
    assert apps.one_line_reason(text) == ("14 of 18 requests failed, the first with "
                                          "RuntimeError: bound to a different loop")
    assert len(apps.one_line_reason("x " * 200)) == apps.REASON_CHARS


def test_advice_names_where_the_alternative_breaks_while_the_original_works() -> None:
    document = sample()
    assert "fastapi-yielded-state" in document["patterns"]["fastapi-app-state"]["instead"]
    found = apps.alternatives(document, "fastapi-app-state")
    assert [a["id"] for a in found] == ["fastapi-yielded-state"]
    assert found[0]["breaks_where"] == []  # the recording: works wherever app.state does
    document["configurations"]["uvicorn"]["patterns"]["fastapi-yielded-state"]["status"] = \
        "breaks"
    assert apps.alternatives(document, "fastapi-app-state")[0]["breaks_where"] == ["uvicorn"]
