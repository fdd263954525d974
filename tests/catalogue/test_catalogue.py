"""The catalogue: defaults load, and every malformed entry is named with file and line."""

from __future__ import annotations

import pytest
from asgi_matrix.catalogue.load import Catalogue, load_file
from asgi_matrix.exceptions import CatalogueError, UnknownConfig

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
    pytest.param(GOOD + 'python = "3.14x"\n', "or X.Yt for a free-threaded build",
                 id="bad-free-threaded"),
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


def test_system_packages_are_debian_names_kept_in_order(tmp_path):
    path = tmp_path / "sys.toml"
    path.write_text(GOOD + 'system = ["libuv1", "libpython3.11"]\n')
    assert load_file(path)[0].system == ("libuv1", "libpython3.11")


@pytest.mark.parametrize("system", ['["libuv1 libz"]', '["LibUV"]', '"libuv1"', "[1]"])
def test_system_must_be_a_list_of_package_names(tmp_path, system):
    path = tmp_path / "sys.toml"
    path.write_text(GOOD + f"system = {system}\n")
    with pytest.raises(CatalogueError, match=r"system'? must be"):
        load_file(path)


@pytest.mark.parametrize(("spec", "axis"), [
    ("", "any"), ("==3.13.*", "3.13"), ("== 3.14.*", "3.14"), ("==3.14", "3.14"),
    (">=3.12", ">=3.12"), (">=3.11, <3.14", ">=3.11,<3.14"), ("3.14t", "3.14t"),
    ("3.13t", "3.13t")])
def test_the_python_axis_is_short_for_one_minor(tmp_path, spec, axis):
    path = tmp_path / "py.toml"
    path.write_text(GOOD + f'python = "{spec}"\n')
    assert load_file(path)[0].axes()["python"] == axis


def test_the_new_servers_are_in_the_default_matrix_on_the_pythons_they_support():
    catalogue = Catalogue.load()
    default = {c.id for c in catalogue.select()}
    for server in ("pounce", "caddysnake", "socketify", "echocorn", "fastpysgi", "falcorn",
                   "asgiri"):
        assert any(catalogue.get(i).server == server for i in default), server
    for name in ("uvicorn", "hypercorn", "granian", "daphne"):
        assert {name, f"{name}-py313", f"{name}-py314"} <= default
        assert catalogue.get(f"{name}-py314").axes()["python"] == "3.14"
    assert catalogue.get("pounce-subinterpreter2").python == ">=3.14"
    assert catalogue.get("caddysnake-thread").system == ("libpython3.11",)


def test_a_free_threaded_python_is_that_minor_plus_the_build():
    catalogue = Catalogue.load()
    config = catalogue.get("granian-py314t-workers2")
    assert (config.python, config.free_threaded) == ("==3.14.*", True)
    assert not catalogue.get("granian-py314").free_threaded


def test_the_more_servers_of_16_are_in_the_default_matrix():
    catalogue = Catalogue.load()
    default = {c.id for c in catalogue.select()}
    assert {"gunicorn-asgi", "gunicorn-asgi-workers2", "anycorn", "anycorn-trio",
            "anycorn-workers2", "peregrine", "peregrine-workers2", "pyvoy", "pyvoy-threads2",
            "caddysnake-lifespan-thread", "caddysnake-lifespan-process2"} <= default
    for name in ("uvicorn", "hypercorn", "granian", "daphne", "gunicorn-asgi"):
        assert catalogue.get(f"{name}-py315").axes()["python"] == "3.15"
    assert catalogue.get("pyvoy-threads2").threads == 2
    # the Caddyfile entry is data: written from the placeholders, braces escaped
    from asgi_matrix.catalogue.load import fill

    caddyfile = fill(catalogue.get("caddysnake-lifespan-thread").argv[-1:],
                     host="127.0.0.1", port="8000", app="asgi_probe:app")[0]
    assert "lifespan on" in caddyfile
    assert "venv {$VIRTUAL_ENV}" in caddyfile
    assert "http://127.0.0.1:8000 {" in caddyfile


def test_a_recycle_budget_is_requests_or_seconds(tmp_path):
    base = '[[config]]\nid = "x"\nserver = "x"\nargv = ["{python}", "{port}"]\n'
    good = tmp_path / "good.toml"
    good.write_text(base + "recycle = { requests = 100 }\n")
    assert load_file(good)[0].recycle == ("requests", 100)
    for bad in ("{ requests = 0 }", "{ minutes = 1 }", "{ requests = 1, seconds = 2 }"):
        path = tmp_path / "bad.toml"
        path.write_text(base + f"recycle = {bad}\n")
        with pytest.raises(CatalogueError, match="recycle must be"):
            load_file(path)


def test_a_factory_is_the_arguments_that_make_the_server_call_one(tmp_path):
    base = '[[config]]\nid = "x"\nserver = "x"\nargv = ["{python}", "{port}"]\n'
    good = tmp_path / "good.toml"
    good.write_text(base + 'factory = ["--factory"]\n')
    assert load_file(good)[0].factory == ("--factory",)
    good.write_text(base)
    assert load_file(good)[0].factory == ()  # it cannot call a factory: one app object
    for bad in ("[]", '[""]', '["--factory", 1]', '["--app={app}"]', '"--factory"'):
        path = tmp_path / "bad.toml"
        path.write_text(base + f"factory = {bad}\n")
        with pytest.raises(CatalogueError, match=r"factory.? must be"):
            load_file(path)
    assert Catalogue.load().get("control-multiloop").factory == ("--factory",)


def test_graceful_s_is_the_servers_own_graceful_timeout_and_no_stop_kills_before_it(tmp_path):
    from asgi_matrix.measure.drive.scenarios import LIMITS, for_server

    base = '[[config]]\nid = "x"\nserver = "x"\nargv = ["{python}", "{port}"]\n'
    good = tmp_path / "good.toml"
    good.write_text(base + "graceful_s = 30\n")
    assert load_file(good)[0].graceful_s == 30.0
    good.write_text(base)
    assert load_file(good)[0].graceful_s == 0.0
    for bad in ("-1", "601", "true", '"30"'):
        path = tmp_path / "bad.toml"
        path.write_text(base + f"graceful_s = {bad}\n")
        with pytest.raises(CatalogueError, match="graceful"):
            load_file(path)
    # gunicorn waits 30 s (--graceful-timeout) for its workers: we wait longer
    gunicorn = Catalogue.load().get("gunicorn-uvicorn-worker2")
    limits = for_server(LIMITS, gunicorn.graceful_s)
    assert limits.stop_s > 30
    assert limits.open_stop_s > 30
    assert for_server(LIMITS, Catalogue.load().get("uvicorn").graceful_s) == LIMITS


def test_a_flag_row_names_its_flag_in_argv_and_the_configuration_it_adds_it_to(tmp_path):
    base = '[[config]]\nid = "x"\nserver = "x"\nargv = ["{python}", "{port}", "--fix"]\n'
    good = tmp_path / "good.toml"
    good.write_text(base + 'flag = "--fix"\nflag_of = "y"\n')
    assert (load_file(good)[0].flag, load_file(good)[0].flag_of) == ("--fix", "y")
    for bad, words in (('flag = "--fix"\n', "names both"), ('flag_of = "y"\n', "names both"),
                       ('flag = "--other"\nflag_of = "y"\n', "not in its argv")):
        path = tmp_path / "bad.toml"
        path.write_text(base + bad)
        with pytest.raises(CatalogueError, match=words):
            load_file(path)
    catalogue = Catalogue.load()
    row = catalogue.get("uvicorn-reset-contextvars")
    assert (row.flag, catalogue.get(row.flag_of).id) == ("--reset-contextvars", "uvicorn")


def test_the_default_uvicorn_row_is_the_install_users_run_and_h11_has_its_own():
    catalogue = Catalogue.load()
    assert catalogue.get("uvicorn").requires[0].startswith("uvicorn[standard]")
    assert catalogue.get("uvicorn").http_impl == "httptools"
    assert catalogue.get("uvicorn-h11").http_impl == "h11"
    assert "h11" in catalogue.get("uvicorn-h11").argv
    assert catalogue.get("gunicorn-uvicorn-worker2").http_impl == "httptools"
    assert "uvicorn_worker.UvicornH11Worker" in catalogue.get(
        "gunicorn-uvicorn-worker2-h11").argv


def _holds_below_newest(requirement: str) -> bool:
    from packaging.requirements import Requirement

    return any(spec.operator in ("<", "<=", "==", "===", "~=")
               for spec in Requirement(requirement).specifier)


def test_a_configuration_held_below_the_newest_release_says_why():
    held = [c for c in Catalogue.load().configs
            if any(_holds_below_newest(r) for r in c.requires)]
    assert held  # caddysnake 0.3, granian's history (click)
    assert [c.id for c in held if not c.pinned] == []
    assert not any(_holds_below_newest(r) for c in Catalogue.load().configs if not c.pinned
                   for r in c.requires)
