"""The pattern catalogue (patterns.toml): data only, checked when it loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from asgi_matrix.catalogue import pattern_catalogue as patterns
from asgi_matrix.exceptions import CatalogueError, UnknownConfig
from asgi_matrix.resources import PROBES_DIR


def test_every_pattern_has_its_module_and_a_page_text():
    loaded = patterns.load()
    assert {p.id for p in loaded} >= {"taskgroup-on-instance", "taskgroup-runvar",
                                      "global-resource", "factory-resource",
                                      "contextvar-resource", "lifespan-state"}
    for pattern in loaded:
        module = pattern.app.partition(":")[0].replace(".", "/") + ".py"
        assert (PROBES_DIR / module).is_file(), pattern.id
        assert (PROBES_DIR / pattern.source).is_file(), pattern.id
        assert pattern.why, pattern.id
        assert pattern.instead, pattern.id


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "patterns.toml"
    path.write_text(body)
    return path


GOOD = 'id = "x"\ntitle = "X"\napp = "patterns.x:app"\nsource = "patterns/x.py"\n'


@pytest.mark.parametrize(("body", "message"), [
    (f'[[pattern]]\n{GOOD}colour = "red"\n', "unknown key 'colour'"),
    (f'[[pattern]]\n{GOOD}[[pattern]]\n{GOOD}', "duplicate pattern id 'x'"),
    ('[[pattern]]\nid = "x"\ntitle = "X"\napp = "nocolon"\nsource = "s"\n', "MODULE:ATTR"),
    (f'[[pattern]]\n{GOOD}kind = "library"\n', "kind must be one of"),
    (f'[[pattern]]\n{GOOD}jobs = "yes"\n', "'jobs' must be bool"),
    ('[[config]]\nid = "x"\n', "unknown top-level key 'config'"),
])
def test_bad_entries_name_the_file_and_line(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(CatalogueError) as caught:
        patterns.load(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_select_defaults_and_unknown_ids():
    loaded = patterns.load()
    assert patterns.select(loaded, []) == [p for p in loaded if p.default]
    assert [p.id for p in patterns.select(loaded, ["lifespan-state"])] == ["lifespan-state"]
    with pytest.raises(UnknownConfig, match="unknown pattern 'nope'"):
        patterns.select(loaded, ["nope"])


def test_a_file_that_is_not_utf8_names_its_line(tmp_path):
    path = tmp_path / "patterns.toml"
    path.write_bytes(f'[[pattern]]\n{GOOD}'.encode() + b'why = "caf\xe9"\n')
    with pytest.raises(CatalogueError, match=rf"{path}:6: not UTF-8 text \(byte 0xe9\)"):
        patterns.load(path)


def test_an_entry_error_names_the_line_its_table_starts_on(tmp_path):
    path = write(tmp_path, f'# two lines of comment\n\n[[pattern]]\n{GOOD}jobs = 1\n')
    with pytest.raises(CatalogueError, match=rf"^{path}:3 \(id 'x'\): 'jobs' must be bool"):
        patterns.load(path)
