"""Failure handling: a failed startup stops the server; an app without lifespan is served."""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts._model import Observations, Verdict


def _scenario(obs: Observations, name: str) -> dict[str, Any] | Verdict:
    """The scenario's record, or the error verdict saying why it has none."""
    record = obs.scenario(name)
    if record is None or record.get("error"):
        return Verdict("error", (record or {}).get("error") or f"the {name} scenario was not "
                       "run", {"log_tail": (record or {}).get("log_tail", "")})
    return record


def startup_failure_exits(obs: Observations) -> Verdict:
    record = _scenario(obs, "startup-fail")
    if isinstance(record, Verdict):
        return record
    if not obs.events("startup-fail", "lifespan.startup"):
        return Verdict("unsupported", "the server never ran the lifespan startup, so the app "
                       "could not fail it", {"log_tail": record.get("log_tail", "")})
    code = record.get("exit_code")
    if obs.kind == "harness":
        served = obs.served("startup-fail")
        hung = (f" and had not exited {record.get('seconds')} s after it started"
                if record.get("timed_out") else "")
        if served:
            return Verdict("fail", f"the test client served {len(served)} request(s) after the "
                           f"app's startup failed{hung}", {"log_tail": record.get("log_tail")})
        if hung:
            return Verdict("fail", "the test client hung after the app's startup failed")
        if code not in (0, None):
            error = (record.get("client") or {}).get("error")
            return Verdict("pass", f"the failed startup raised in the test after "
                           f"{record.get('seconds')} s ({error})")
        return Verdict("fail", "the test client carried on after the app's startup failed")
    served = record.get("served") or []
    evidence = {"exit_code": code, "seconds": record.get("seconds"),
                "log_tail": record.get("log_tail", "")}
    if served:
        return Verdict("fail", "the server kept serving requests after the app's lifespan "
                       "startup failed", evidence)
    if not record.get("exited_by_itself"):
        return Verdict("fail", f"the server was still running {record.get('seconds')} s after "
                       "the app's lifespan startup failed", evidence)
    if code == 0:
        return Verdict("fail", "the server exited with status 0 after the startup failed: a "
                       "supervisor would take it for a clean exit", evidence)
    return Verdict("pass", f"the server exited with status {code} in {record.get('seconds')} s "
                   "and served nothing", evidence)


def rejected_keeps_serving(obs: Observations) -> Verdict:
    record = _scenario(obs, "reject-lifespan")
    if isinstance(record, Verdict):
        return record
    if not obs.events("reject-lifespan", "lifespan.rejected"):
        return Verdict("n/a", "the server never sent a lifespan scope, so there was nothing "
                       "for the app to reject")
    evidence = {"exit_code": record.get("exit_code"), "log_tail": record.get("log_tail", "")}
    requests = record.get("requests") or (record.get("client") or {}).get("requests") or []
    ok = [r for r in requests if r.get("status") == 200]
    if requests and len(ok) == len(requests):
        return Verdict("pass", f"the app raised on the lifespan scope and the server went on "
                       f"serving ({len(ok)} requests answered)", evidence)
    ready = record.get("ready") or {}
    why = "it exited" if ready.get("exited") or record.get("exit_code") is not None else \
        "it did not answer"
    return Verdict("fail", f"after the app raised on the lifespan scope {why}; the spec says "
                   "the server must continue without lifespan events", evidence)
