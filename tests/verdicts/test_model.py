"""Combining attempts, and a crashing check never loses the other cells."""

from __future__ import annotations

import pytest
from asgi_matrix.verdicts import LEVELS, PROPERTIES, Property, Verdict, combine, evaluate
from asgi_matrix.verdicts._model import Reference
from helpers.observations import obs


def test_agreeing_attempts_keep_their_status():
    assert combine([Verdict("pass", "a"), Verdict("pass", "b")]).status == "pass"


def test_disagreeing_attempts_are_flaky_and_keep_every_attempt():
    verdict = combine([Verdict("pass", "a"), Verdict("fail", "b"), Verdict("pass", "c")])
    assert verdict.status == "flaky"
    assert [a["status"] for a in verdict.evidence["attempts"]] == ["pass", "fail", "pass"]


def test_every_property_is_judged_on_good_observations():
    verdicts = evaluate(obs())
    assert set(verdicts) == {p.id for p in PROPERTIES}
    assert {v.status for v in verdicts.values()} == {"pass"}, {
        k: v.explanation for k, v in verdicts.items() if v.status != "pass"}


def test_malformed_records_become_error_cells_not_crashes():
    verdicts = evaluate(obs(main={"ready": {"ok": True}, "events": [{"event": "http"}]}))
    assert verdicts["lifespan.per-loop"].status in {"error", "unsupported"}
    assert len(verdicts) == len(PROPERTIES)


def test_every_property_has_a_level_and_a_scenario_that_is_run():
    from asgi_matrix.measure.drive.scenarios import SCENARIOS

    for prop in PROPERTIES:
        assert prop.level in LEVELS, prop.id
        assert prop.scenario in SCENARIOS, prop.id
        if prop.level != "not-in-spec":
            assert prop.reference.quote, prop.id
        assert prop.to_json()["level"] == prop.level


def test_a_required_property_must_quote_the_spec():
    with pytest.raises(ValueError, match="quotes the spec"):
        Property("x.y", "lifespan", "t", "d", Reference("r", "u"), lambda o: Verdict("pass", ""),
                 level="MUST")
    with pytest.raises(ValueError, match="not one of"):
        Property("x.y", "lifespan", "t", "d", Reference("r", "u", "q"),
                 lambda o: Verdict("pass", ""), level="MAY")  # type: ignore[arg-type]


def test_a_guarded_check_gets_what_its_guard_found_or_the_guards_verdict() -> None:
    from asgi_matrix.verdicts._model import Observations, judged_on

    def guard(obs: Observations) -> dict[str, int] | Verdict:
        return obs.scenarios.get("main") or Verdict("error", "no main scenario")

    @judged_on(guard)
    def check(obs: Observations, record: dict[str, int]) -> Verdict:
        return Verdict("pass", f"read {record['n']}")

    assert check(Observations("c", "server", True, {"main": {"n": 3}})) == Verdict("pass", "read 3")
    assert check(Observations("c", "server", True, {})) == Verdict("error", "no main scenario")
    assert check.__name__ == "check"
