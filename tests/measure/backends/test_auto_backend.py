"""``run --backend auto``: local where the host can run a configuration, docker for the
rest when the engine is reachable, "not run" with both reasons otherwise.

The choice is the runner's own logic, tested on fake backends (no server's behaviour is
claimed); the last test runs the command for real with the engine made unreachable.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.exceptions import DockerUnavailable, NotRunnable
from asgi_matrix.measure.backends import auto as _auto
from asgi_matrix.measure.backends.protocol import Prepared
from asgi_matrix.results import document as _results
from helpers import cli


class Fake:
    """A backend that can prepare only the configuration ids it is given."""

    def __init__(self, kind: str, runs: set[str]) -> None:
        self.kind, self.runs = kind, runs
        self.started: list[str] = []
        self.closed = False

    def prepare(self, config: Any) -> Prepared:
        if config.id not in self.runs:
            raise NotRunnable(f"{self.kind} cannot run {config.id}", hint="--backend docker")
        return Prepared(config=config, command=["x"], versions={}, python="3.11",
                        provenance={"where": self.kind})

    @contextmanager
    def start(self, prepared: Prepared, scenario: str, env: dict[str, str]) -> Any:
        self.started.append(f"{prepared.config.id}/{scenario}")
        yield self

    def stop_all(self) -> None: ...

    def close(self) -> None:
        self.closed = True

    def end_leftovers(self) -> int:
        return 0


def auto(monkeypatch: pytest.MonkeyPatch, local: set[str], docker: set[str] | None
         ) -> tuple[_auto.AutoBackend, Fake, Fake]:
    here, there = Fake("local", local), Fake("docker", docker or set())
    backend = _auto.AutoBackend()
    backend.local = here  # type: ignore[assignment]

    def make() -> Fake:
        if docker is None:
            raise DockerUnavailable("cannot reach the Docker engine (no socket)")
        return there

    monkeypatch.setattr("asgi_matrix.measure.backends.docker.backend.DockerBackend", make)
    return backend, here, there


CATALOGUE = Catalogue.load()
UVICORN, PY314 = CATALOGUE.get("uvicorn"), CATALOGUE.get("uvicorn-py314")


def test_local_first_then_docker_each_scenario_where_it_was_prepared(monkeypatch):
    backend, here, there = auto(monkeypatch, {"uvicorn"}, {"uvicorn", "uvicorn-py314"})
    first, second = backend.prepare(UVICORN), backend.prepare(PY314)
    assert (first.provenance, second.provenance) == ({"where": "local", "backend": "local"},
                                                     {"where": "docker", "backend": "docker"})
    for prepared in (first, second):
        with backend.start(prepared, "main", {}):
            pass
    assert (here.started, there.started) == (["uvicorn/main"], ["uvicorn-py314/main"])
    backend.close()
    assert here.closed
    assert there.closed


def test_a_configuration_keeps_the_backend_it_was_first_prepared_on(monkeypatch):
    backend, here, _ = auto(monkeypatch, set(), {"uvicorn-py314"})
    assert backend.prepare(PY314).provenance["backend"] == "docker"
    here.runs.add("uvicorn-py314")  # e.g. a pattern variant that would install locally
    assert backend.prepare(PY314).provenance["backend"] == "docker"


def test_without_the_engine_it_is_not_run_with_both_reasons(monkeypatch):
    backend, _, _ = auto(monkeypatch, {"uvicorn"}, None)
    assert backend.prepare(UVICORN).provenance["backend"] == "local"
    with pytest.raises(NotRunnable) as caught:
        backend.prepare(PY314)
    assert str(caught.value) == ("local cannot run uvicorn-py314; not in docker either: "
                                 "cannot reach the Docker engine (no socket)")
    assert backend._docker is None  # asked once, remembered


def test_what_neither_can_run_says_both(monkeypatch):
    backend, _, _ = auto(monkeypatch, set(), set())
    with pytest.raises(NotRunnable) as caught:
        backend.prepare(PY314)
    assert str(caught.value) == ("locally: local cannot run uvicorn-py314; in docker: "
                                 "docker cannot run uvicorn-py314")


@pytest.mark.servers
def test_run_backend_auto_measures_here_what_runs_here(tmp_path: Path) -> None:
    done = cli("run", "--backend", "auto", "control-multiloop", "uvicorn-py315",
               "--no-patterns", "--out", str(tmp_path),
               env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert done.returncode == 0, done.stderr
    document = _results.load(tmp_path)
    assert document["run"]["backend"] == "auto"
    cells = document["configurations"]
    here = cells["control-multiloop"]
    assert here["status"] == "measured", here.get("reason")
    assert here["provenance"]["backend"] == "local"
    missing = cells["uvicorn-py315"]
    if missing["status"] != "not-run":
        pytest.skip("this machine has a Python 3.15: uvicorn-py315 ran locally")
    assert "no Python interpreter matching '==3.15.*'" in missing["reason"]
    assert "not in docker either: cannot reach the Docker engine" in missing["reason"]
