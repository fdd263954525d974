"""Whose fault a pattern's failure is: a pattern breaks only for a cause it owns.

A failure of a lifespan's end (jobs cut, a shutdown never delivered or unclean, a
resource never closed) is the server's when the start shows the server did it to every
app in it (a kill at the stop, a loop that never delivered lifespan.shutdown to any of
them) and the reference pattern served by the same start fails too: the cell is then
"caveat" (works with a caveat, the server's fault), naming the server property that
fails (``shutdown.delivered.sigterm-main``, ``shutdown.clean-exit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgi_matrix.verdicts._model import Verdict

#: The reference patterns: where one shares a start with a pattern, a failure it shows
#: too is the server's (lifespan state yielded per loop; the RunVar task group)
REFERENCES = ("lifespan-state", "taskgroup-runvar")


def lifespan_fault(start: dict[str, Any]) -> tuple[str, str] | None:
    """What the start shows the server did to every app in it: (what, the server property
    that fails), or None: a kill at the stop, or a loop that ran the start's lifespans and
    never delivered lifespan.shutdown to any of them."""
    stop = start.get("stop") or {}
    if stop.get("killed"):
        return (f"the server ignored SIGTERM and was killed after {stop.get('seconds')} s",
                "shutdown.clean-exit")
    events = start.get("events") or []
    started = {e.get("loop_id") for e in events if e.get("event") == "pattern.startup"
               and e.get("ok")}
    shut = {e.get("loop_id") for e in events if e.get("event") == "pattern.shutdown"}
    missing = sorted(str(loop) for loop in started - shut)
    if started and missing:
        return (f"{len(missing)} of {len(started)} event loop(s) that ran the apps' "
                "lifespans never delivered lifespan.shutdown to any of them",
                "shutdown.delivered.sigterm-main")
    return None


def servers_fault(pattern: str, start: dict[str, Any], verdict: Verdict,
                  judge_reference: Callable[[str, dict[str, Any]], Verdict]) -> Verdict | None:
    """A failure of the lifespan's end that the server owns: the start shows the
    server's fault for every app in it, and the reference pattern served by the same
    start (where there is one) does not work either. Then the cell works with a caveat,
    naming the server property that fails; else None (the pattern's own)."""
    fault = lifespan_fault(start)
    if fault is None:
        return None
    what, prop = fault
    served = set(start.get("patterns") or []) | {e.get("pattern") for e in
                                                 start.get("events") or []}
    reference = next((r for r in REFERENCES if r in served and r != pattern), None)
    if reference is not None:
        if judge_reference(reference, start).status == "works":
            return None  # the reference got through: the failure is this pattern's
        shown = f"the reference pattern {reference} in the same start shows it too"
    elif prop != "shutdown.clean-exit" and len({e.get("pattern") for e in start.get(
            "events") or [] if e.get("event") == "pattern.startup"}) < 2:
        return None  # one app alone: its missing shutdown may be its own doing
    else:
        shown = "the start shows it for every app in it"
    return Verdict("caveat", f"works with a caveat, the server's fault ({prop} "
                          f"fails): {what}; {shown}. Here: {verdict.explanation}",
                          {**verdict.evidence, "server_fault": what,
                           "server_property": prop, "reference": reference,
                           "breaks_alone_as": verdict.explanation})
