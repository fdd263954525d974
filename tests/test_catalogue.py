"""The catalogue: defaults load, and every malformed entry is named with file and line."""

from __future__ import annotations

import pytest

from runner._catalogue import Catalogue, load_file
from runner.exceptions import CatalogueError, UnknownConfig

REQUIRED_DEFAULTS = [
    "uvicorn", "uvicorn-uvloop", "uvicorn-workers2", "gunicorn-uvicorn-worker2", "hypercorn",
    "hypercorn-uvloop", "hypercorn-trio", "hypercorn-workers2", "daphne", "granian",
    "granian-asyncio", "granian-workers2", "granian-mt2", "starlette-testclient",
    "starlette-testclient-bare", "asgi-lifespan", "control-multiloop", "control-broken"]

GOOD = '''
[[config]]
id = "mine"
server = "mine"
argv = ["{python}", "-m", "mine", "--port", "{port}", "{app}"]
'''


def test_default_catalogue_has_the_required_entries():
    ids = [c.id for c in Catalogue.load().select()]
    assert all(i in ids for i in REQUIRED_DEFAULTS), set(REQUIRED_DEFAULTS) - set(ids)


def test_an_extra_file_adds_a_configuration_without_code(tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text(GOOD)
    catalogue = Catalogue.load([extra])
    assert catalogue.get("mine").argv[-1] == "{app}"


@pytest.mark.parametrize(("text", "message"), [
    pytest.param(GOOD + 'colour = "blue"\n', "unknown key 'colour'", id="unknown-key"),
    pytest.param(GOOD.replace('"--port", "{port}", ', ""), "has no {port}", id="no-port"),
    pytest.param(GOOD.replace('id = "mine"\n', ""), "missing required key 'id'", id="no-id"),
    pytest.param(GOOD + "workers = 'two'\n", "'workers' must be int", id="wrong-type"),
    pytest.param(GOOD + 'python = "three"\n', "not a version specifier", id="bad-python"),
    pytest.param(GOOD.replace("{app}", "{ap}"), "unknown placeholder {ap}", id="bad-placeholder"),
    pytest.param(GOOD + "[oops\n", "not valid TOML", id="syntax-error"),
])
def test_malformed_entries_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(CatalogueError) as caught:
        load_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_entry_errors_carry_the_line_of_the_table(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD + GOOD.replace('"mine"', '"other"') + "colour = 1\n")
    with pytest.raises(CatalogueError, match=r"bad\.toml:7 \(id 'other'\)"):
        load_file(path)


def test_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text(GOOD.replace('"mine"', '"uvicorn"', 1))
    with pytest.raises(CatalogueError, match="duplicate id 'uvicorn'"):
        Catalogue.load([path])


def test_unknown_ids_list_the_valid_ones():
    with pytest.raises(UnknownConfig, match="known: uvicorn, "):
        Catalogue.load().select(["nope"])
