"""shutdown.long-lived-task: lifespan.shutdown at SIGTERM while the lifespan keeps a ticker."""

from __future__ import annotations

from asgi_matrix.verdicts import shutdown
from helpers.observations import lifespan_task, obs


def test_passes_when_every_loop_gets_its_shutdown_and_says_how_long_it_took():
    verdict = shutdown.long_lived_task(obs(lifespan_task=lifespan_task(("L1", "L2"))))
    assert verdict.status == "pass", verdict.explanation
    assert "every one of 2 loop(s) got lifespan.shutdown" in verdict.explanation
    assert "0.05 s after SIGTERM" in verdict.explanation
    assert "exited 0.3 s after the signal" in verdict.explanation
    assert verdict.evidence["tickers"] == 2


def test_fails_when_the_server_waits_for_the_ticker_and_is_killed():
    verdict = shutdown.long_lived_task(obs(lifespan_task=lifespan_task(
        shut=(), killed=True, seconds=8.0)))
    assert verdict.status == "fail"
    assert verdict.explanation == \
        "1 of 1 loop(s) never got lifespan.shutdown while the lifespan kept a long-lived " \
           "task (1 ticker(s) running); it ignored SIGTERM and was killed after 8.0 s"


def test_fails_for_the_one_loop_that_missed_it():
    verdict = shutdown.long_lived_task(obs(lifespan_task=lifespan_task(("L1", "L2"),
                                                                       shut=("L1",))))
    assert verdict.status == "fail"
    assert verdict.evidence["missing"] == ["L2"]


def test_is_unsupported_without_a_lifespan_and_na_in_process():
    assert shutdown.long_lived_task(obs(lifespan_task=lifespan_task(loops=()))).status \
        == "unsupported"
    assert shutdown.long_lived_task(obs(kind="harness")).status == "n/a"


def test_a_server_that_died_before_the_stop_is_an_error():
    record = {**lifespan_task(), "exited_early": {"exit_code": -11, "exit_signal": "SIGSEGV"}}
    assert shutdown.long_lived_task(obs(lifespan_task=record)).status == "error"
