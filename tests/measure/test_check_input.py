"""What check is given, made into a plan or refused with the option named."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from asgi_matrix.catalogue.for_check import default_for_check, select_for_check
from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.exceptions import CheckInputError
from asgi_matrix.measure import check_input as _input
from asgi_matrix.measure.check_run import with_requirements


@pytest.mark.parametrize(("text", "reference"), [
    pytest.param("main:app", "main:app", id="module-attr"),
    pytest.param("main", "main:app", id="attr-defaults-to-app"),
    pytest.param("pkg.web:api.asgi", "pkg.web:api.asgi", id="dotted"),
])
def test_app_references(text: str, reference: str) -> None:
    assert _input.app_reference(text) == reference


@pytest.mark.parametrize("text", ["main:", ":app", "main app", "main:app()", "a/b:app"])
def test_what_is_not_an_app_reference_is_refused(text: str) -> None:
    with pytest.raises(CheckInputError, match="is not an app reference: use MODULE:ATTR"):
        _input.app_reference(text)


def test_requests_keep_their_order_bodies_and_content_types(tmp_path: Path) -> None:
    (tmp_path / "item.json").write_text('{"name": "x"}')
    (tmp_path / "raw.bin").write_bytes(b"\x00\x01")
    got = _input.requests_from([("GET", ("/health",)),
                                ("POST", ("/items", f"@{tmp_path / 'item.json'}")),
                                ("PUT", ("/blob", f"@{tmp_path / 'raw.bin'}")),
                                ("PATCH", ("/items/1", '{"n": 2}')),
                                ("DELETE", ("/items/1", "plain words"))])
    assert [(r.method, r.path, r.content_type) for r in got] == [
        ("GET", "/health", ""), ("POST", "/items", "application/json"),
        ("PUT", "/blob", "application/octet-stream"), ("PATCH", "/items/1", "application/json"),
        ("DELETE", "/items/1", "application/octet-stream")]
    assert got[1].body == b'{"name": "x"}'
    assert _input.requests_from([])[0].describe() == "GET /"


@pytest.mark.parametrize(("pairs", "message"), [
    pytest.param([("GET", ("health",))], "--get 'health': a path starts with /", id="no-slash"),
    pytest.param([("POST", ("/x", "@/nonexistent/body.json"))],
                 "--post /x @/nonexistent/body.json: cannot read", id="missing-body"),
    pytest.param([("GET", ())], "--get takes PATH", id="no-path"),
])
def test_bad_requests_name_the_option(pairs: list[tuple[str, tuple[str, ...]]],
                                      message: str) -> None:
    with pytest.raises(CheckInputError, match=message.replace("(", r"\(")):
        _input.requests_from(pairs)


def test_requirements_files_are_read_and_bad_lines_named(tmp_path: Path) -> None:
    good = tmp_path / "requirements.txt"
    good.write_text("# the app\nfastapi>=0.110  # web\n\n-r other.txt\nasyncpg==0.30.0\n")
    assert _input.read_requirements(good) == ("fastapi>=0.110", "asyncpg==0.30.0")
    bad = tmp_path / "bad.txt"
    bad.write_text("fastapi\nnot a requirement!!\n")
    with pytest.raises(CheckInputError, match=r"--requirements .*bad.txt:2: "):
        _input.read_requirements(bad)
    with pytest.raises(CheckInputError, match=r"--requirements .*missing.txt"):
        _input.read_requirements(tmp_path / "missing.txt")


def test_a_virtualenvs_pinned_packages_are_reused_and_editables_named() -> None:
    """Our own virtualenv: pinned packages, and asgi-matrix itself installed editable."""
    pinned, left = _input.freeze(Path(sys.prefix))
    names = {line.split("==")[0].lower() for line in pinned}
    assert {"httpx", "click"} <= names
    assert all("==" in line for line in pinned)
    assert any(line.startswith("-e ") for line in left), left  # asgi-matrix, editable


def test_no_virtualenv_there_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CheckInputError, match=r"--venv .*: no bin/python there"):
        _input.freeze(tmp_path)


def test_the_apps_pins_of_the_servers_own_packages_give_way() -> None:
    uvicorn = Catalogue.load().get("uvicorn")
    config = with_requirements(uvicorn, ["uvicorn==0.20.0", "fastapi==0.115.0"])
    assert config.requires == (*uvicorn.requires, "fastapi==0.115.0")


def test_the_default_configurations_are_each_servers_own_and_the_multiloop_ones() -> None:
    catalogue = Catalogue.load()
    chosen = default_for_check(catalogue)
    ids = [c.id for c in chosen]
    assert {"uvicorn", "hypercorn", "granian", "daphne"} <= set(ids)
    assert len({c.server for c in chosen if c.threads == 1}) == len(
        [c for c in chosen if c.threads == 1])  # one plain configuration per server
    assert {"control-multiloop", "granian-mt2", "pyvoy-threads2"} <= set(ids)
    assert all(c.kind == "server" or c.id == "control-multiloop" for c in chosen)
    assert "uvicorn-workers2" not in ids  # worker processes: not multi-loop, not default
    with pytest.raises(CheckInputError, match="a test-client harness"):
        select_for_check(catalogue, ["starlette-testclient"])


def test_headers_are_name_value_pairs() -> None:
    assert _input.headers(["Authorization: Bearer x", "X-Tenant:acme"]) == (
        ("Authorization", "Bearer x"), ("X-Tenant", "acme"))
    with pytest.raises(CheckInputError, match="--header 'no colon': use 'Name: value'"):
        _input.headers(["no colon"])
    with pytest.raises(CheckInputError, match="use 'Name: value'"):
        _input.headers(["bad name: x"])
