"""Release sets: catalogue keys, resolution on a recorded index answer, selection, and
the reasons a release is "not run" (from the index, and from the installer)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue import release_index as _index
from asgi_matrix.catalogue import release_sets as _sets
from asgi_matrix.catalogue import selection as _selection
from asgi_matrix.catalogue.load import Catalogue, ServerConfig, load_file
from asgi_matrix.catalogue.release_index import Host, Index, IndexRelease, parse_index
from asgi_matrix.catalogue.release_sets import ReleaseSet
from asgi_matrix.catalogue.selection import Resolved, resolve
from asgi_matrix.exceptions import (
    AsgiMatrixError,
    CatalogueError,
    EnvironmentFailed,
    NotRunnable,
    UnknownConfig,
)
from asgi_matrix.measure.backends import releases as _releases
from helpers import FailingBackend, cli
from packaging.tags import Tag

DATA = Path(__file__).parents[1] / "data"
#: a real answer of https://pypi.org/pypi/uvicorn/json, trimmed (see its _fixture key)
UVICORN = json.loads((DATA / "pypi-uvicorn.json").read_text())
HOST = Host(python="3.11.9", tags=frozenset({Tag("py3", "none", "any"),
                                             Tag("cp311", "cp311", "manylinux_2_17_x86_64")}))


@pytest.fixture
def index() -> Index:
    return parse_index("uvicorn", UVICORN)


def versions(found: list[Resolved]) -> list[str]:
    return [r.version for r in found]


# -- resolution -------------------------------------------------------------------------

def test_one_release_per_minor_is_the_latest_patch_newest_first(index: Index) -> None:
    found = resolve(ReleaseSet("uvicorn", since="0.18", per="minor", max=8), index, HOST)
    assert versions(found) == ["0.54.0", "0.53.0", "0.52.4", "0.51.0", "0.50.2", "0.49.0",
                               "0.48.0", "0.47.0"]
    assert all(r.unavailable == "" for r in found)
    assert found[0].uploaded == "2026-09-25"


def test_since_is_inclusive_and_post_releases_count_as_patches(index: Index) -> None:
    found = versions(resolve(ReleaseSet("uvicorn", since="0.18"), index, HOST))
    assert found[-4:] == ["0.21.1", "0.20.0", "0.19.0", "0.18.3"]
    assert "0.24.0.post1" in found
    assert "0.24.0" not in found
    assert "0.27.1" in found
    assert "0.27.0.post1" not in found
    assert len(found) == 37  # 0.18 ... 0.54, one each


def test_yanked_and_pre_releases_are_skipped(index: Index) -> None:
    every = versions(resolve(ReleaseSet("uvicorn", since="0.7", per="release"), index, HOST))
    assert "0.17.0" not in every  # yanked ("Needs `python_requires` specifier")
    assert "0.17.0.post1" in every
    assert "0.7.0b1" not in every
    assert "0.7.0b2" not in every
    assert "0.7.0" in every
    minor17 = resolve(ReleaseSet("uvicorn", since="0.17", per="minor"), index, HOST)
    assert versions(minor17)[-1] == "0.17.6"


def test_per_major_and_an_unbounded_set(index: Index) -> None:
    assert versions(resolve(ReleaseSet("uvicorn", per="major"), index, HOST)) == ["0.54.0"]


def test_an_explicit_list_keeps_its_versions_newest_first(index: Index) -> None:
    found = resolve(ReleaseSet("uvicorn", versions=("0.20.0", "0.30.6")), index, HOST)
    assert versions(found) == ["0.30.6", "0.20.0"]
    assert [r.unavailable for r in found] == ["", ""]


# -- "not run" reasons from the index ---------------------------------------------------

def test_a_yanked_version_is_not_run_with_the_index_reason(index: Index) -> None:
    [found] = resolve(ReleaseSet("uvicorn", versions=("0.17.0",)), index, HOST)
    assert found.unavailable == ("uvicorn 0.17.0 was yanked from the package index "
                                 "(Needs `python_requires` specifier)")


def test_a_version_that_does_not_exist_is_not_run(index: Index) -> None:
    [found] = resolve(ReleaseSet("uvicorn", versions=("9.9.9",)), index, HOST)
    assert found.unavailable == "uvicorn 9.9.9 is not on the package index"


def test_a_release_for_another_python_is_not_run(index: Index) -> None:
    old = Host(python="3.8.10", tags=HOST.tags)
    [found] = resolve(ReleaseSet("uvicorn", versions=("0.54.0",)), index, old)
    assert found.unavailable == "uvicorn 0.54.0 needs Python >=3.10 (this is 3.8.10)"


def test_no_wheel_for_this_python_and_no_sdist_is_not_run() -> None:
    index = Index("fastserver", {"1.0": IndexRelease(
        "1.0", files=1, yanked=False, wheels=("fastserver-1.0-cp312-cp312-win_amd64.whl",))})
    [found] = resolve(ReleaseSet("fastserver", versions=("1.0",)), index, HOST)
    assert "has no wheel for this Python and platform" in found.unavailable
    assert "no source distribution" in found.unavailable


def test_only_an_sdist_may_still_install_so_the_installer_decides() -> None:
    index = Index("oldserver", {"1.0": IndexRelease("1.0", files=1, yanked=False, sdist=True)})
    [found] = resolve(ReleaseSet("oldserver", versions=("1.0",)), index, HOST)
    assert found.unavailable == ""


# -- "not run" reasons from the environment step ----------------------------------------

def release_config(version: str = "1.0", unavailable: str = "",
                   package: str = "oldserver") -> ServerConfig:
    base = ServerConfig(id="old-history", server="oldserver", argv=("{python}", "{port}"),
                        requires=(package,), releases=ReleaseSet(package, versions=(version,)))
    [config] = _selection.expand(base, [Resolved(version, unavailable)])
    return config


def test_a_release_the_index_refuses_is_not_run_without_installing() -> None:
    backend = FailingBackend(None)
    with pytest.raises(NotRunnable, match="was yanked"):
        _releases.prepare(backend, release_config(unavailable="oldserver 1.0 was yanked"))
    assert backend.prepared == []


BUILD_FAILURE = """\
  × Failed to build `oldserver==1.0`
  ├─▶ The build backend returned an error
  ╰─▶ Call to `setuptools.build_meta.build_wheel` failed (exit status: 1)
      [stderr]
      error: command 'gcc' failed: No such file or directory
      hint: This usually indicates a problem with the package or the build environment."""


@pytest.mark.parametrize(("tail", "meaning"), [
    pytest.param(BUILD_FAILURE, "its source distribution does not build here", id="build"),
    pytest.param("error: No solution found when resolving dependencies\n  cause: Because there "
                 "is no version of oldserver==1.0 and you require oldserver==1.0, we can "
                 "conclude that your requirements are unsatisfiable.",
                 "its requirements cannot be satisfied here", id="unsatisfiable"),
])
def test_an_installer_refusal_becomes_not_run_with_the_reason(tail: str, meaning: str) -> None:
    error = EnvironmentFailed("cannot install oldserver==1.0: " + tail.splitlines()[-1], tail)
    with pytest.raises(NotRunnable) as caught:
        _releases.prepare(FailingBackend(error), release_config())
    assert str(caught.value).startswith(f"cannot install oldserver==1.0 here: {meaning}: ")
    if "gcc" in tail:
        assert "error: command 'gcc' failed: No such file or directory" in str(caught.value)


@pytest.mark.parametrize("tail", [
    "error: Failed to download and build `oldserver==1.0`\n  Caused by: Failed to fetch: "
    "`https://files.pythonhosted.org/oldserver-1.0.tar.gz`\n  Caused by: dns error",
    "error: No solution found when resolving dependencies\n  Caused by: Request failed "
    "after 3 retries: error sending request for url (https://pypi.org/simple/oldserver/)",
    "error: Failed to build `oldserver==1.0`\n  Caused by: No space left on device (os "
    "error 28)",
])
def test_a_transient_failure_is_an_error_never_not_run(tail: str) -> None:
    """Not "cannot be installed here": that would be cached until --force."""
    error = EnvironmentFailed("cannot install oldserver==1.0: " + tail.splitlines()[-1], tail)
    with pytest.raises(EnvironmentFailed):
        _releases.prepare(FailingBackend(error), release_config())


def test_other_installer_failures_stay_errors() -> None:
    error = EnvironmentFailed("cannot install: error sending request for url",
                              "error: Failed to fetch: `https://pypi.org/simple/oldserver/`")
    with pytest.raises(EnvironmentFailed):
        _releases.prepare(FailingBackend(error), release_config())


SETUP_PY = """\
from setuptools import Extension, setup
setup(name="asgi-matrix-needs-compiler", version="1.0",
      ext_modules=[Extension("needs_compiler", ["needs_compiler.c"])])
"""
BACKEND_PY = '''\
"""An in-tree build backend that, like setuptools for a C extension, runs $CC."""
import os, subprocess

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    compiler = os.environ.get("CC", "cc")
    try:
        subprocess.run([compiler, "-c", "needs_compiler.c"], check=True)
    except OSError as err:
        raise SystemExit(f"error: command {compiler!r} failed: {err.strerror}")
    raise SystemExit("error: this fixture never produces a wheel")
'''


def sdist_needing_a_compiler(folder: Path) -> Path:
    """A source-only release whose build needs a C compiler: the fixture of old releases."""
    import tarfile

    name = "asgi_matrix_needs_compiler-1.0"
    src = folder / "src" / name
    src.mkdir(parents=True)
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: asgi-matrix-needs-compiler\n"
                                  "Version: 1.0\n")
    (src / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "asgi-matrix-needs-compiler"\nversion = "1.0"\n')
    (src / "backend.py").write_text(BACKEND_PY)
    (src / "setup.py").write_text(SETUP_PY)
    (src / "needs_compiler.c").write_text("int answer(void) { return 42; }\n")
    links = folder / "links"
    links.mkdir()
    with tarfile.open(links / f"{name}.tar.gz", "w:gz") as tar:
        tar.add(src, arcname=name)
    return links


def test_a_source_release_that_needs_a_compiler_is_not_run(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The real environment step (uv) on an sdist whose build finds no compiler."""
    from asgi_matrix.measure.backends.local.backend import LocalBackend

    links = sdist_needing_a_compiler(tmp_path)
    monkeypatch.setenv("ASGI_MATRIX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal once cut the reason in two
    config = release_config(package="asgi-matrix-needs-compiler")
    assert config.requires == ("asgi-matrix-needs-compiler==1.0",)
    with pytest.raises(NotRunnable) as caught:
        _releases.prepare(LocalBackend(), config)
    message = str(caught.value)
    assert message.startswith("cannot install asgi-matrix-needs-compiler==1.0 here: its "
                              "source distribution does not build here: "), message
    assert "no-such-compiler" in message
    assert "failed" in message


# -- pins and ids -----------------------------------------------------------------------

def test_the_pin_replaces_the_requirement_on_the_package_and_keeps_extras() -> None:
    pinned = _sets.pin(["uvicorn[standard]>=0.18; python_version >= '3.8'", "websockets"],
                           "uvicorn", "0.21.1")
    assert pinned == ('uvicorn[standard]==0.21.1; python_version >= "3.8"', "websockets")
    assert _sets.pin(["websockets"], "Uvicorn", "0.21.1") == ("websockets",
                                                                  "Uvicorn==0.21.1")


def test_each_release_is_a_configuration_of_its_own(index: Index) -> None:
    base = Catalogue.load().get("uvicorn-history")
    assert base.releases is not None
    assert not base.default
    configs = _selection.expand(base, resolve(replace(base.releases, max=2), index, HOST))
    assert [c.id for c in configs] == ["uvicorn-history@0.54.0", "uvicorn-history@0.53.0"]
    assert configs[1].requires == ("uvicorn==0.53.0", "websockets")
    assert configs[1].axes()["release"] == "0.53.0"
    assert configs[1].release is not None
    assert configs[1].release.series == "uvicorn-history"
    assert configs[1].argv == base.argv
    assert not configs[1].default


# -- the catalogue ----------------------------------------------------------------------

ENTRY = '''
[[config]]
id = "mine-history"
server = "mine"
argv = ["{python}", "-m", "mine", "--port", "{port}", "{app}"]
'''


def test_the_default_history_sets_are_in_the_catalogue_and_not_default() -> None:
    catalogue = Catalogue.load()
    sets = {c.id: c.releases for c in catalogue.configs if c.releases is not None}
    assert {k: (v.package, v.since, v.per) for k, v in sets.items()} == {
        "uvicorn-history": ("uvicorn", "0.18", "minor"),
        "hypercorn-history": ("hypercorn", "0.13", "minor"),
        "granian-history": ("granian", "1.0", "minor"),
        "daphne-history": ("daphne", "3.0", "minor")}
    assert all(v.max > 0 for v in sets.values())
    assert not any(c.id in sets for c in catalogue.select())


@pytest.mark.parametrize(("line", "message"), [
    pytest.param('releases = { package = "mine", sinse = "1.0" }', "unknown key 'sinse'",
                 id="unknown-key"),
    pytest.param('releases = { package = "mine", versions = ["1.0"], since = "0.1" }',
                 "either 'versions' or since/per/max", id="both"),
    pytest.param('releases = { package = "mine", per = "week" }', "'per' must be one of",
                 id="bad-per"),
    pytest.param('releases = { package = "mine", since = "one" }', "'one' is not a version",
                 id="bad-since"),
    pytest.param('releases = { package = "mine", versions = [] }', "non-empty list",
                 id="empty-list"),
    pytest.param('releases = { package = "mine", max = -1 }', "'max' must be a whole number",
                 id="bad-max"),
    pytest.param('releases = { since = "1.0" }', "'package' must be a package name",
                 id="no-package"),
    pytest.param('releases = "mine"', "releases' must be dict", id="not-a-table"),
    pytest.param('releases = { package = "mine" }\ndefault = true', "cannot be default = true",
                 id="default"),
])
def test_malformed_release_sets_name_the_entry(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(ENTRY + line + "\n")
    with pytest.raises(CatalogueError) as caught:
        load_file(path)
    assert message in str(caught.value)
    assert f"{path}:2 (id 'mine-history')" in str(caught.value)


# -- selection --------------------------------------------------------------------------

def fake_index(package: str) -> Index:
    if package != "uvicorn":
        return Index(package, {"9.0": IndexRelease("9.0", files=1, yanked=False, sdist=True)})
    return parse_index("uvicorn", UVICORN)


def test_the_default_run_is_unchanged() -> None:
    catalogue = Catalogue.load()
    assert _selection.select(catalogue, index=fake_index) == catalogue.select()
    by_server = _selection.select(catalogue, servers=["uvicorn"], index=fake_index)
    assert [c.id for c in by_server] == ["uvicorn", "uvicorn-h11", "uvicorn-reset-contextvars",
                                         "uvicorn-timeout-graceful-shutdown",
                                         "uvicorn-uvloop", "uvicorn-workers2",
                                         "uvicorn-recycle", "uvicorn-workers2-recycle",
                                         "uvicorn-py313", "uvicorn-py314", "uvicorn-py315"]


def test_history_adds_every_release_of_every_set() -> None:
    catalogue = Catalogue.load()
    chosen = _selection.select(catalogue, history=True, index=fake_index)
    ids = [c.id for c in chosen]
    assert ids[:len(catalogue.select())] == [c.id for c in catalogue.select()]
    uvicorn = [i for i in ids if i.startswith("uvicorn-history@")]
    assert uvicorn[0] == "uvicorn-history@0.54.0"
    assert uvicorn[-1] == "uvicorn-history@0.18.3"
    assert "hypercorn-history@9.0" in ids
    assert "daphne-history@9.0" in ids


def test_history_with_a_server_adds_only_that_servers_sets() -> None:
    chosen = _selection.select(Catalogue.load(), servers=["hypercorn"], history=True,
                              index=fake_index)
    assert [c.id for c in chosen if c.release] == ["hypercorn-history@9.0"]


def test_one_release_by_id_any_version_on_the_index() -> None:
    chosen = _selection.select(Catalogue.load(), ["uvicorn-history@0.16.0",
                                                 "uvicorn-history@0.17.0"], index=fake_index)
    assert [c.id for c in chosen] == ["uvicorn-history@0.16.0", "uvicorn-history@0.17.0"]
    assert chosen[0].requires[0] == "uvicorn==0.16.0"
    assert chosen[0].unavailable == ""
    assert "yanked" in chosen[1].unavailable
    whole = _selection.select(Catalogue.load(), ["uvicorn-history", "daphne"],
                             index=fake_index)
    assert [c.id for c in whole][-1] == "daphne"
    assert len(whole) == 38


@pytest.mark.parametrize(("ident", "message"), [
    ("uvicorn@0.21.1", "'uvicorn' is not a release set"),
    ("nothing@1.0", "unknown configuration 'nothing'"),
    ("uvicorn-history@latest", "'latest' is not a version"),
])
def test_bad_release_ids_are_refused(ident: str, message: str) -> None:
    with pytest.raises(UnknownConfig, match=message):
        _selection.select(Catalogue.load(), [ident], index=fake_index)


# -- the index over HTTP ----------------------------------------------------------------

@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[str]:
    """PyPI's JSON API for uvicorn, from the recorded answer, on 127.0.0.1."""
    root = tmp_path / "index"
    (root / "uvicorn").mkdir(parents=True)
    (root / "uvicorn" / "json").write_text(json.dumps(UVICORN))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_index_is_fetched_and_kept_for_when_it_cannot_be_reached(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: str) -> None:
    monkeypatch.setenv("ASGI_MATRIX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASGI_MATRIX_INDEX_URL", index_server)
    fetched = _index.fetch_index("uvicorn")
    assert fetched.find("0.21.1") is not None
    assert fetched.note == ""
    assert (tmp_path / "cache" / "history" / "index" / "uvicorn.json").is_file()
    monkeypatch.setenv("ASGI_MATRIX_INDEX_URL", "http://127.0.0.1:9")  # nothing listens
    again = _index.fetch_index("uvicorn", timeout=2)
    assert "could not be reached" in again.note
    assert again.releases == fetched.releases
    with pytest.raises(AsgiMatrixError, match="cannot read the releases of hypercorn"):
        _index.fetch_index("hypercorn", timeout=2)


def test_a_package_the_index_does_not_have(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           index_server: str) -> None:
    monkeypatch.setenv("ASGI_MATRIX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ASGI_MATRIX_INDEX_URL", index_server)
    with pytest.raises(AsgiMatrixError, match="'nosuchserver' is not on the package index"):
        _index.fetch_index("nosuchserver")


# -- the command line -------------------------------------------------------------------

def test_list_marks_release_sets() -> None:
    done = cli("list")
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("@ ")]
    assert [ln.split()[1] for ln in lines] == ["uvicorn-history", "hypercorn-history",
                                               "granian-history", "daphne-history"]
    assert "releases: uvicorn since 0.18, latest patch of each minor, newest" in lines[0]


def test_history_without_an_index_is_one_line_and_measures_nothing(tmp_path: Path) -> None:
    done = cli("run", "--history", "--out", str(tmp_path / "out"),
               env={"ASGI_MATRIX_CACHE": str(tmp_path / "cache"),
                    "ASGI_MATRIX_INDEX_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert done.stderr.startswith("asgi-matrix: cannot read the releases of uvicorn from "
                                  "http://127.0.0.1:9/uvicorn/json")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_bad_release_id_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("run", "uvicorn@0.21.1", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "'uvicorn' is not a release set" in done.stderr


@pytest.mark.parametrize("content", ['{"source": "x", "fetched"', '[1]',
                                     '{"source": "x", "fetched": "y"}'])
def test_history_offline_with_a_corrupt_cached_index_is_one_line(tmp_path: Path,
                                                                  content: str) -> None:
    cache = tmp_path / "cache"
    copy = cache / "history" / "index" / "uvicorn.json"
    copy.parent.mkdir(parents=True)
    copy.write_text(content)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text("kept")
    done = cli("run", "--history", "--out", str(out),
               env={"ASGI_MATRIX_CACHE": str(cache), "ASGI_MATRIX_INDEX_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"the copy kept in {copy} is unusable" in done.stderr
    assert "delete it or retry online" in done.stderr
    assert (out / "results.json").read_text() == "kept"
