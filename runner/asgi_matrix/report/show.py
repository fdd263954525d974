"""Results as text for a terminal: the matrix, or one configuration's verdicts."""

from __future__ import annotations

from typing import Any

GLYPHS = {"pass": "✓", "fail": "✗", "unsupported": "–", "error": "!", "n/a": "·", "flaky": "~"}


def _abbrev(property_id: str) -> str:
    return "".join(part[0] for part in property_id.replace("-", ".").split(".") if part)


def render_matrix(document: dict[str, Any]) -> str:
    properties = list(document["properties"])
    width = max([len(c) for c in document["configurations"]] + [13])
    lines = [f"asgi-matrix results, run {document['run']['id']} "
             f"({document['run']['started']}, backend {document['run']['backend']})", ""]
    header = " ".join(f"{_abbrev(p):>5}" for p in properties)
    lines.append(f"{'configuration':{width}}  {header}")
    for config_id, config in document["configurations"].items():
        cells = []
        for prop in properties:
            status = config.get("verdicts", {}).get(prop, {}).get("status", "")
            cells.append(f"{GLYPHS.get(status, '?') + ' ' + status[:3]:>5}")
        lines.append(f"{config_id:{width}}  {' '.join(cells)}")
    lines.append("")
    lines += [f"  {_abbrev(p):>5} = {p}" for p in properties]
    lines.append("  " + "  ".join(f"{g} {s}" for s, g in GLYPHS.items()))
    return "\n".join(lines)


def render_config(document: dict[str, Any], config_id: str) -> str:
    config = document["configurations"][config_id]
    lines = [f"{config_id} ({config['server']}, {config['kind']}): {config['status']}"]
    if config.get("command"):
        lines.append("command:  " + " ".join(config["command"]))
    versions = config.get("versions") or {}
    if versions:
        lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    facts = config.get("facts") or {}
    if facts:
        lines.append(f"served by {facts.get('processes')} process(es), {facts.get('threads')} "
                     f"thread(s), {facts.get('loops')} loop(s) "
                     f"({', '.join(facts.get('loop_kinds', []))}); "
                     f"{facts.get('lifespans')} lifespan startup(s)")
    lines.append("")
    for prop, verdict in config.get("verdicts", {}).items():
        glyph = GLYPHS.get(verdict["status"], "?")
        lines.append(f"{glyph} {verdict['status']:11} {prop:34} {verdict['explanation']}")
    if config.get("status") == "error" and config.get("log_tail"):
        lines += ["", "log tail:", config["log_tail"]]
    return "\n".join(lines)
