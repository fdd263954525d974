"""Read one TOML file of ``[[name]]`` tables, each paired with the line it starts on.

Both catalogues (servers and app patterns) are files of such tables; every problem with
the file itself names the file, and every entry's own problem names its line.
"""

from __future__ import annotations

import re
import tomllib
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
