"""State: is scope["state"] given to the lifespan and a shallow copy of it to each request?"""

from __future__ import annotations

from asgi_matrix.verdicts._model import Observations, Verdict, lifespan_ran, measured


def _state_unsupported(obs: Observations) -> Verdict | None:
    if problem := measured(obs, "main") or lifespan_ran(obs):
        return problem
    if not any(e.get("state_present") for e in obs.startups()):
        return Verdict("unsupported", "the lifespan scope had no 'state' key: the server does "
                       "not offer lifespan state")
    return None


def supported(obs: Observations) -> Verdict:
    if problem := _state_unsupported(obs):
        return problem
    tokens = {(e["pid"], e["token"]) for e in obs.startups()}
    served = obs.served()
    missing = [e for e in served if (e["pid"], e.get("state_token")) not in tokens]
    if missing:
        without = sum(not e.get("state_present") for e in missing)
        return Verdict("fail", f"{len(missing)} of {len(served)} requests did not get the "
                       f"state the lifespan set ({without} had no scope['state'] at all)")
    return Verdict("pass", f"all {len(served)} requests got scope['state'] with what their "
                   "process's lifespan put there")


def shallow_copy(obs: Observations) -> Verdict:
    if problem := _state_unsupported(obs):
        return problem
    with_state = [e for e in obs.served() if e.get("state_present")]
    leaked = [e for e in with_state if e.get("state_foreign_keys")]
    if leaked:
        return Verdict("fail", f"{len(leaked)} of {len(with_state)} requests saw keys another "
                       "request added to scope['state']: the state is shared, not copied",
                       {"example": (leaked[0].get("state_foreign_keys") or [])[:3]})
    if len(with_state) < 2:
        return Verdict("error", "fewer than two requests carried state: nothing to compare")
    return Verdict("pass", f"none of {len(with_state)} requests saw a key another request "
                   "added: each got its own shallow copy")
