"""Every error the command line can meet is one line ``asgi-matrix: ...`` and an exit code."""

from __future__ import annotations

from pathlib import Path

from helpers import cli, one_line_error


def test_a_bad_requirement_is_refused_when_the_catalogue_loads(tmp_path: Path) -> None:
    extra = tmp_path / "mine.toml"
    extra.write_text('[[config]]\nid = "mine"\nserver = "mine"\n'
                     'argv = ["{python}", "-m", "mine", "--port", "{port}"]\n\n'
                     '[[config]]\nid = "mine-2"\nserver = "mine"\n'
                     'argv = ["{python}", "-m", "mine", "--port", "{port}"]\n'
                     'requires = ["uvicorn >= 0.30 ; ; python_version"]\n')
    line = one_line_error(cli("list", "--catalogue", extra), code=2)
    assert f"{extra}:6 (id 'mine-2'): requires item 'uvicorn >= 0.30 ; ; python_version'" in line


def test_no_docker_engine_is_one_line(tmp_path: Path) -> None:
    done = cli("run", "--backend", "docker", "--out", tmp_path, "control-multiloop",
               env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert "cannot reach the Docker engine" in one_line_error(done)


def test_runner_wheels_that_cannot_be_downloaded_are_one_line(tmp_path: Path) -> None:
    # No index answers: pip fails at once, and the wheelhouse error is the command's line.
    done = cli("images", "--runner-wheels", tmp_path / "wheels",
               env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0",
                    "PIP_TIMEOUT": "2", "ASGI_MATRIX_CACHE": str(tmp_path / "cache"),
                    "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}, timeout=120)
    assert "Python 3.11" in one_line_error(done), done.stderr
