"""Failure handling: a failed startup stops the server; an app without lifespan is served."""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts import references as refs
from asgi_matrix.verdicts._model import Observations, Property, Verdict, judged_on


def _scenario(obs: Observations, name: str) -> dict[str, Any] | Verdict:
    """The scenario's record, or the error verdict saying why it has none."""
    record = obs.scenario(name)
    if record is None or record.get("error"):
        return Verdict("error", (record or {}).get("error") or f"the {name} scenario was not "
                       "run", {"log_tail": (record or {}).get("log_tail", "")})
    return record


def _never_sends_lifespan(obs: Observations) -> bool:
    """The server sent no lifespan scope at all, in the main and the failing scenario."""
    return not obs.events("main", "lifespan.startup", "lifespan.rejected") and \
        not obs.events("startup-fail", "lifespan.startup")


@judged_on(lambda obs: _scenario(obs, "startup-fail"))
def startup_failure_exits(obs: Observations, record: dict[str, Any]) -> Verdict:
    failures = [e for e in obs.events("startup-fail", "lifespan.startup")
                if e.get("outcome") == "failed"]
    if not failures:
        if _never_sends_lifespan(obs):
            return Verdict("n/a", "the server never sends a lifespan scope, so the app cannot "
                           "fail its startup", {"log_tail": record.get("log_tail", "")})
        return Verdict("unsupported", "the server never ran the lifespan startup, so the app "
                       "could not fail it", {"log_tail": record.get("log_tail", "")})
    failed_at = min(e["t"] for e in failures)
    after = [e for e in obs.served("startup-fail") if e.get("t", 0) > failed_at]
    code = record.get("exit_code")
    if obs.kind == "harness":
        client = record.get("client") or {}
        error = str(client.get("error") or "")
        hung = (f" and had not exited {record.get('seconds')} s after it started"
                if record.get("timed_out") else "")
        if after:
            return Verdict("fail", f"the test client served {len(after)} request(s) after the "
                           f"app's startup failed{hung}", {"log_tail": record.get("log_tail")})
        if hung:
            return Verdict("fail", "the test client hung after the app's startup failed")
        if "timeout" in error.lower():
            return Verdict("fail", "the test client ignored lifespan.startup.failed: it stopped "
                           f"only by its own timeout, after {record.get('seconds')} s ({error})",
                           {"client_error": error})
        if code not in (0, None):
            return Verdict("pass", f"the failed startup raised in the test after "
                           f"{record.get('seconds')} s ({error})")
        return Verdict("fail", "the test client carried on after the app's startup failed")
    evidence = {"exit_code": code, "seconds": record.get("seconds"),
                "log_tail": record.get("log_tail", "")}
    exited = record.get("exited_by_itself")
    end = (f"; it exited with status {code} {record.get('seconds')} s after it started"
           if exited else f"; it was still running {record.get('seconds')} s after it started")
    if after:
        return Verdict("fail", f"the server kept serving after the app's lifespan startup "
                       f"failed ({len(after)} request(s) reached the app after the failure)"
                       f"{end}", {**evidence, "served_after": [e.get("tag") for e in after]})
    if not exited:
        return Verdict("fail", f"the server was still running {record.get('seconds')} s after "
                       "the app's lifespan startup failed", evidence)
    if code == 0:
        return Verdict("fail", "the server exited with status 0 after the startup failed: a "
                       "supervisor would take it for a clean exit", evidence)
    return Verdict("pass", f"the server exited with status {code} in {record.get('seconds')} s "
                   "and served nothing after the failure", evidence)


@judged_on(lambda obs: _scenario(obs, "reject-lifespan"))
def rejected_keeps_serving(obs: Observations, record: dict[str, Any]) -> Verdict:
    evidence = {"exit_code": record.get("exit_code"), "log_tail": record.get("log_tail", "")}
    requests = record.get("requests") or (record.get("client") or {}).get("requests") or []
    ok = [r for r in requests if r.get("status") == 200]
    answered_all = bool(requests) and len(ok) == len(requests)
    if not obs.events("reject-lifespan", "lifespan.rejected"):
        if answered_all and _never_sends_lifespan(obs):
            return Verdict("pass", "the server never sends a lifespan scope, so an app without "
                           f"lifespan is served as any other ({len(ok)} requests answered)",
                           evidence)
        if answered_all:
            return Verdict("n/a", "the server sent no lifespan scope in this run, so there "
                           "was nothing for the app to reject", evidence)
        return Verdict("fail", f"the server sent no lifespan scope and answered {len(ok)} of "
                       f"{len(requests)} requests", evidence)
    if answered_all:
        return Verdict("pass", f"the app raised on the lifespan scope and the server went on "
                       f"serving ({len(ok)} requests answered)", evidence)
    ready = record.get("ready") or {}
    why = "it exited" if ready.get("exited") or record.get("exit_code") is not None else \
        "it did not answer"
    return Verdict("fail", f"after the app raised on the lifespan scope {why}; the spec says "
                   "the server must continue without lifespan events", evidence)


#: this group's properties, in the order the matrix shows them
PROPERTIES: tuple[Property, ...] = (
    Property("startup-failure.exits-nonzero", "failure", "Failed startup exits",
             "When the app sends lifespan.startup.failed, the server serves nothing and exits "
             "with a non-zero status.",
             refs.STARTUP_FAILURE_EXITS_NONZERO, startup_failure_exits,
             "no request is served; the exit status is not 0", level="SHOULD",
             scenario="startup-fail"),
    Property("lifespan-rejected.keeps-serving", "failure", "Serves apps without lifespan",
             "When the app raises on the lifespan scope, the server carries on serving.",
             refs.LIFESPAN_REJECTED_KEEPS_SERVING,
             rejected_keeps_serving, "requests are answered as usual", level="MUST",
             scenario="reject-lifespan"),
)
