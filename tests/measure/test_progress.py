"""run's progress lines (measure/run.py progress_line): done/total, elapsed, time left,
and an interrupted cell said as not run, as the results will say it."""

from __future__ import annotations

from asgi_matrix.measure.run import progress_line

CELL = {"status": "measured", "seconds": 12.04,
        "verdicts": {"a": {"status": "pass"}, "b": {"status": "fail"}},
        "patterns": {"x": {"status": "works"}, "y": {"status": "breaks"}}}


def test_a_line_says_done_of_total_elapsed_and_time_left() -> None:
    line = progress_line(3, 12, "uvicorn", CELL, True, 65.0)
    assert line.startswith("[3/12] uvicorn: measured fail=1 pass=1; patterns ")
    assert "breaks=1" in line
    assert "works=1" in line
    assert "(12.0 s)" in line
    assert line.endswith("; 1:05 elapsed, about 3:15 left")  # 65 s per 3 done, 9 to go


def test_the_last_line_has_no_time_left() -> None:
    assert progress_line(12, 12, "uvicorn", CELL, True, 600.4).endswith("; 10:00 elapsed")


def test_an_interrupted_cell_is_not_run_never_measured() -> None:
    line = progress_line(4, 12, "granian", {**CELL, "interrupted": True}, False, 30.0)
    assert line == "[4/12] granian: not run (interrupted); 0:30 elapsed, about 1:00 left"
    assert "measured" not in line
