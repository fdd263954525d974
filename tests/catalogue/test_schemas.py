"""The catalogues' keys have one source: their JSON Schemas, shipped beside them.

The loaders read keys, required keys and types from the schemas (catalogue/tables.py);
here: each schema is a valid JSON Schema, the shipped catalogues validate against it,
its keys are the fields of the record they load into, and each key says what it means.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from asgi_matrix.catalogue.load import ServerConfig
from asgi_matrix.catalogue.pattern_catalogue import Pattern
from asgi_matrix.catalogue.tables import check_entry, keys
from asgi_matrix.exceptions import CatalogueError
from asgi_matrix.resources import (
    CATALOGUE_FILE,
    CATALOGUE_SCHEMA,
    PATTERNS_FILE,
    PATTERNS_SCHEMA,
)

#: record fields the loader derives, never written in a table
DERIVED = {ServerConfig: {"source", "free_threaded", "release", "unavailable"}, Pattern: set()}
CATALOGUES = [pytest.param(CATALOGUE_FILE, CATALOGUE_SCHEMA, ServerConfig, id="servers"),
              pytest.param(PATTERNS_FILE, PATTERNS_SCHEMA, Pattern, id="patterns")]


@pytest.mark.parametrize(("catalogue", "schema", "record"), CATALOGUES)
def test_the_shipped_catalogue_validates_against_its_schema(catalogue: Path, schema: Path,
                                                             record: type) -> None:
    loaded = json.loads(schema.read_text())
    jsonschema.Draft202012Validator.check_schema(loaded)
    jsonschema.validate(tomllib.loads(catalogue.read_text()), loaded)
    assert catalogue.read_text().startswith(f"#:schema ./{schema.name}\n")  # for editors


@pytest.mark.parametrize(("catalogue", "schema", "record"), CATALOGUES)
def test_the_schema_keys_are_the_record_fields(catalogue: Path, schema: Path,
                                               record: type) -> None:
    fields = {f.name for f in dataclasses.fields(record)}
    assert set(keys(schema).types) == fields - DERIVED[record]
    described = json.loads(schema.read_text())["$defs"][keys(schema).table]["properties"]
    assert all(len(d["description"]) > 10 for d in described.values())


@pytest.mark.parametrize(("raw", "message"), [
    ({"id": "x", "server": "s", "argv": ["{port}"], "colour": "blue"}, "unknown key 'colour'"),
    ({"id": "x", "server": "s"}, "missing required key 'argv'"),
    ({"id": "x", "server": "s", "argv": ["{port}"], "workers": True}, "'workers' must be int"),
    ({"id": "x", "server": "s", "argv": ["{port}"], "graceful_s": "1"},
     "'graceful_s' must be a number"),
    ("not a table", "each [[config]] must be a table"),
    ({"id": "x", "server": "s", "argv": ["{port}"], "kind": "robot"},
     "kind must be one of server, harness, control"),
    ({"id": "X Y", "server": "s", "argv": ["{port}"]}, "id must be lowercase letters"),
])
def test_the_shared_checker_refuses_naming_the_entry(raw: object, message: str) -> None:
    with pytest.raises(CatalogueError, match=r"^f\.toml:3.*" + message.replace("[", r"\[")
                       .replace("]", r"\]")):
        check_entry(raw, "f.toml:3", CATALOGUE_SCHEMA)


def test_the_shared_checker_passes_a_good_entry() -> None:
    good = {"id": "x", "title": "t", "app": "m:app", "source": "patterns/m.py", "jobs": True}
    assert check_entry(good, "p.toml:1", PATTERNS_SCHEMA) == "p.toml:1 (id 'x')"
