"""Read one TOML file of ``[[name]]`` tables, each paired with the line it starts on, and
check each table's keys against the catalogue's JSON Schema.

Both catalogues (servers and app patterns) are files of such tables; every problem with
the file itself names the file, and every entry's own problem names its line. Their keys
are written once, in their schemas (catalogue.schema.json, patterns.schema.json, shipped
beside them for editors too): which keys exist, which are required, of what type, and
what each means.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from asgi_matrix.exceptions import CatalogueError


def read_tables(path: Path, name: str, what: str) -> list[tuple[Any, str]]:
    """``(entry, "path:line")`` for each ``[[name]]`` table of the file, in order.
    ``what`` names the file in messages ("catalogue", "pattern catalogue")."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise CatalogueError(f"{path}: cannot read {what}: {err.strerror or err}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise CatalogueError(f"{path}:{line}: not UTF-8 text (byte {raw[err.start]:#04x}); "
                             "TOML files are UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CatalogueError(f"{path}: not valid TOML: {err}") from err
    if unknown := sorted(set(data) - {name}):
        raise CatalogueError(f"{path}: unknown top-level key {unknown[0]!r} "
                             f"(entries go in [[{name}]] tables)")
    entries = data.get(name, [])
    if not isinstance(entries, list):
        raise CatalogueError(f"{path}: {name!r} must be an array of tables ([[{name}]])")
    starts = [m.start() for m in re.finditer(rf"^[ \t]*\[\[{name}\]\]", text, re.MULTILINE)]
    return [(entry, f"{path}:{text.count(chr(10), 0, starts[i]) + 1 if i < len(starts) else 0}")
            for i, entry in enumerate(entries)]


#: JSON Schema types, as the loader's messages name them (Python's names)
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "array": (list,), "integer": (int,), "boolean": (bool,),
    "object": (dict,), "number": (int, float)}
_NAMES = {"string": "str", "array": "list", "integer": "int", "boolean": "bool",
          "object": "dict", "number": "a number"}


@dataclass(frozen=True)
class Keys:
    """The keys of one kind of table, as its schema gives them."""

    table: str  #: "config", "pattern"
    types: dict[str, str]  #: key -> JSON Schema type
    required: tuple[str, ...]
    choices: dict[str, tuple[str, ...]]  #: key -> its values (the schema's enum)
    patterns: dict[str, tuple[str, str]]  #: key -> (regular expression, the rule in words)


@cache
def keys(schema: Path) -> Keys:
    """The table's keys from its schema (``$defs`` holds the one table definition)."""
    loaded = json.loads(schema.read_text())
    [(table, definition)] = loaded["$defs"].items()
    properties = definition["properties"]
    return Keys(table, {k: v["type"] for k, v in properties.items()},
                tuple(definition.get("required", ())),
                {k: tuple(v["enum"]) for k, v in properties.items() if "enum" in v},
                {k: (v["pattern"], v.get("x-rule", v["pattern"]))
                 for k, v in properties.items() if "pattern" in v})


def check_entry(raw: Any, where: str, schema: Path) -> str:
    """Refuse a table that is not one, has a key the schema does not know, misses a
    required key or has a value of another type; returns how messages name the entry
    ("file:line (id 'x')")."""
    known = keys(schema)
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: each [[{known.table}]] must be a table")
    here = f"{where} (id {raw.get('id', '?')!r})"
    if unknown := sorted(set(raw) - set(known.types)):
        raise CatalogueError(f"{here}: unknown key {unknown[0]!r}; known keys: "
                             + ", ".join(sorted(known.types)))
    for key in known.required:
        if key not in raw:
            raise CatalogueError(f"{here}: missing required key {key!r}")
    for key, value in raw.items():
        kind = known.types[key]
        if not isinstance(value, _TYPES[kind]) or (
                kind in ("integer", "number") and isinstance(value, bool)):
            raise CatalogueError(f"{here}: {key!r} must be {_NAMES[kind]}, got {value!r}")
        if key in known.choices and value not in known.choices[key]:
            raise CatalogueError(f"{here}: {key} must be one of "
                                 + ", ".join(known.choices[key]))
        if key in known.patterns and not re.search(known.patterns[key][0], str(value)):
            raise CatalogueError(f"{here}: {key} must be {known.patterns[key][1]}")
    return here
