"""Facts shown beside the verdicts: what ran where, counted from the probe's records."""

from __future__ import annotations

from typing import Any

from asgi_matrix.verdicts._model import Observations


def facts(obs: Observations) -> dict[str, Any]:
    served = obs.served()
    startups = obs.startups()
    every = [e for record in obs.scenarios.values() for e in record.get("events", [])]
    lifespan_loops = {e["loop_id"] for e in startups}
    first_served: dict[str, float] = {}
    for event in served:
        first_served[event["loop_id"]] = min(first_served.get(event["loop_id"], event["t"]),
                                             event["t"])
    started_first = {loop: any(s["loop_id"] == loop and s["t"] <= t for s in startups)
                     for loop, t in first_served.items()}
    spec_versions = sorted({_spec_version(e) for e in served})
    lifespan_spec = sorted({_spec_version(e) for e in startups})
    main_pid = (obs.scenario("main") or {}).get("server_pid")
    return {
        "processes": len({e["pid"] for e in served}),
        "main_process_serves": (any(e["pid"] == main_pid for e in served)
                                if main_pid is not None else None),
        "threads": len({(e["pid"], e["thread_id"]) for e in served}),
        "interpreters": len({(e["pid"], e.get("interpreter", 0)) for e in served}),
        "loops": len(first_served),
        "loop_kinds": sorted({str(e.get("loop_kind")) for e in served}),
        "loop_classes": sorted({str(e.get("loop_class")) for e in served}),
        "lifespans": len(startups),
        "lifespan_loops": len(lifespan_loops),
        "serving_loops_started_first": started_first,
        "asgi_spec_version": spec_versions,
        "lifespan_spec_version": lifespan_spec,
        "asgi_version": sorted({str((e.get("asgi") or {}).get("version")) for e in served}),
        "python": sorted({str(e.get("python")) for e in every if e.get("python")}),
        "other_scope_types": sorted({str(e.get("scope_type")) for e in every
                                     if e.get("event") == "scope"}),
        # where the app could not run at all (the main scenario: in startup-fail, a
        # server may raise into the app on purpose when it sends startup.failed)
        "app_errors": sorted({str(e.get("error")) for e in obs.events("main", "app.error")})[:5],
        "requests_recorded": len(served),
    }


def _spec_version(event: dict[str, Any]) -> str:
    """scope["asgi"]["spec_version"] as recorded; a scope["asgi"] that was no mapping (the
    probe wrote its repr) says so instead of breaking the facts."""
    asgi = event.get("asgi") or {}
    if not isinstance(asgi, dict):
        return "scope['asgi'] not a dict"
    return str(asgi.get("spec_version", "missing"))
