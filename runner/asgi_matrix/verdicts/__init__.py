"""Verdicts: pure functions from recorded observations to pass/fail with evidence.

Each property has a stable id, a group (a column group on the dashboard), a one-line
description, the spec text or issue it checks (references.py), its level (MUST / SHOULD
in the spec's own words, or not-in-spec) and the scenario it is judged from. Each group
module lists its own properties beside their checks; ``PROPERTIES`` joins them, in the
order the matrix shows them: adding a property is adding an entry to its group's tuple.
"""

from __future__ import annotations

from asgi_matrix.verdicts import (
    context,
    failure,
    lifecycle,
    lifespan,
    recycle,
    requests,
    shutdown,
    state,
)
from asgi_matrix.verdicts._model import (
    LEVELS,
    PATTERN_STATUSES,
    PROPERTY_STATUSES,
    STATUSES,
    Observations,
    Property,
    Status,
    Verdict,
    combine,
    summary,
)
from asgi_matrix.verdicts.facts import facts

__all__ = ["LEVELS", "PATTERN_STATUSES", "PROPERTIES", "PROPERTY_STATUSES", "STATUSES",
           "Observations", "Property", "Status", "Verdict", "combine", "evaluate", "facts",
           "property_by_id", "summary"]

#: The matrix's columns, in order: each group's own, joined.
PROPERTIES: tuple[Property, ...] = (
    *lifespan.PROPERTIES,
    *context.PROPERTIES,
    *state.PROPERTIES,
    *requests.PROPERTIES,
    *shutdown.PROPERTIES,
    *failure.PROPERTIES,
    *lifecycle.PROPERTIES,
    *recycle.PROPERTIES,
)


def property_by_id(property_id: str) -> Property:
    for prop in PROPERTIES:
        if prop.id == property_id:
            return prop
    raise KeyError(property_id)


def evaluate(obs: Observations) -> dict[str, Verdict]:
    """Every property's verdict for one attempt; a check that crashes is an error cell."""
    verdicts: dict[str, Verdict] = {}
    for prop in PROPERTIES:
        try:
            verdicts[prop.id] = prop.check(obs)
        except Exception as err:  # a malformed record must not lose the other cells
            verdicts[prop.id] = Verdict("error", f"could not judge: {type(err).__name__}: {err}")
    return verdicts
