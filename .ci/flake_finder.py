#!/usr/bin/env python3
"""The flake finder: run chosen tests N times, each time in a fresh pytest, and count.

    python .ci/flake_finder.py -n 30 tests/measure/test_reliability.py::test_x tests/...
    make flaky TESTS="tests/measure/test_reliability.py::test_x" N=30

Each round is one pytest process over all the chosen tests (module fixtures, such as a
module's warm run, are made again every round: a flake in a fixture is found too). Every
failure is printed as it happens, with the round, the phase (setup, call, teardown) and
pytest's message; at the end, one line per test: "K of N passed", with the skips and
the rounds it was not run in, and the machine's load average at the start and the end
(a figure measured on a loaded machine says so). The exit status is 1 when any test did
not pass every round (a skip is not a pass), 2 when nothing was collected.

The same file is the pytest plugin each round loads (``-p flake_finder``): it appends one JSON
line per test phase to the file named by FLAKY_LOG.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

LOG = "FLAKY_LOG"


# -- the plugin side (inside each round's pytest) --------------------------------------

def pytest_runtest_logreport(report: Any) -> None:
    path = os.environ.get(LOG)
    if not path:
        return
    message = ""
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else str(report.longrepr)
    elif report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])  # (file, line, reason)
    with open(path, "a") as handle:
        handle.write(json.dumps({"nodeid": report.nodeid, "when": report.when,
                                 "outcome": report.outcome, "message": message,
                                 "seconds": round(report.duration, 3)}) + "\n")


# -- the driver side -------------------------------------------------------------------

def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _round(tests: list[str], pytest_args: list[str], log: Path) -> tuple[int, list[dict[str, Any]]]:
    log.write_text("")
    env = {**os.environ, LOG: str(log),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                        os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pytest", "-p", "flake_finder", "-p", "no:cacheprovider",
               "-q", "--no-header", "-m", "", *pytest_args, *tests]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if done.returncode not in (0, 1) or not records:  # 1: some test failed; else: pytest's
        tail = "\n".join(done.stdout.strip().splitlines()[-15:])
        print(f"  pytest exited with status {done.returncode}:\n{tail}", flush=True)
    return done.returncode, records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("tests", nargs="+", help="pytest node ids, files or folders")
    parser.add_argument("-n", "--rounds", type=int, default=30, help="rounds (default 30)")
    parser.add_argument("--pytest-args", default="",
                        help="more pytest arguments, one string (e.g. '-n 2')")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("-n must be at least 1")
    passed: dict[str, int] = defaultdict(int)
    skipped: dict[str, int] = defaultdict(int)
    ran: dict[str, set[int]] = defaultdict(set)
    broken_rounds = []
    print(f"flaky: {args.rounds} round(s) of {' '.join(args.tests)}; load average {_load()}",
          flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="flaky-") as tmp:
        for i in range(1, args.rounds + 1):
            t0 = time.monotonic()
            status, records = _round(args.tests, args.pytest_args.split(), Path(tmp) / "log")
            outcome: dict[str, str] = {}
            for record in records:
                nodeid = record["nodeid"]
                ran[nodeid].add(i)
                if record["outcome"] == "failed":
                    message = record["message"].replace("\n", "\n    ")
                    print(f"round {i}: FAILED {nodeid} ({record['when']}): {message}", flush=True)
                    outcome[nodeid] = "failed"
                elif record["outcome"] == "skipped" and outcome.get(nodeid) != "failed":
                    outcome[nodeid] = "skipped"
                    print(f"round {i}: SKIPPED {nodeid}: {record['message']}", flush=True)
                else:
                    outcome.setdefault(nodeid, "passed")
            for nodeid, result in outcome.items():
                passed[nodeid] += result == "passed"
                skipped[nodeid] += result == "skipped"
            if status not in (0, 1) or not records:
                broken_rounds.append(i)
                if not ran:  # the first round collected nothing: so would every other
                    break
            bad = sum(r != "passed" for r in outcome.values())
            print(f"round {i}/{args.rounds}: {len(outcome) - bad} passed, {bad} not "
                  f"({time.monotonic() - t0:.1f} s; load average {_load()})", flush=True)
    print(f"flaky: {args.rounds} round(s) in {time.monotonic() - started:.0f} s; "
          f"load average at the end {_load()}")
    if not ran:
        print("flaky: no test was collected", file=sys.stderr)
        return 2
    for nodeid in sorted(ran):
        notes = []
        if skipped[nodeid]:
            notes.append(f"{skipped[nodeid]} skipped")
        if missing := args.rounds - len(ran[nodeid]):
            notes.append(f"not run in {missing}")
        print(f"{passed[nodeid]} of {args.rounds} passed: {nodeid}"
              + (f" ({', '.join(notes)})" if notes else ""))
    if broken_rounds:
        print(f"flaky: pytest itself failed in round(s) {broken_rounds}", file=sys.stderr)
    everything = all(passed[n] == args.rounds for n in ran) and not broken_rounds
    return 0 if everything else 1


if __name__ == "__main__":
    sys.exit(main())
