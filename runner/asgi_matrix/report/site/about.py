"""The about page: how a configuration is measured, how to read a verdict, provenance."""

from __future__ import annotations

from asgi_matrix.report.site.base import SCENARIOS, STATUS_MEANING, Site, scenario_for
from asgi_matrix.report.words import MEANINGS, VOCABULARY


def render(site: Site) -> dict[str, str]:
    used_by = {name: [p for p in site.properties.values() if scenario_for(p) == name]
               for name in SCENARIOS}
    return {"about.html": site.page("about.html", 0, "About", doc=site.doc, scenarios=SCENARIOS,
                                    used_by=used_by,
                                    meanings={**MEANINGS, **STATUS_MEANING},
                                    statuses=list(VOCABULARY))}
