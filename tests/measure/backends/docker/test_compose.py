"""docker-compose.yml is generated from the catalogue, and both Compose versions accept it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.measure.backends.docker import compose as _compose
from helpers import REPO as ROOT
from helpers.prerequisites import missing


def test_the_committed_compose_file_is_up_to_date():
    expected = _compose.render(Catalogue.load().select())
    assert (ROOT / "docker-compose.yml").read_text() == expected, \
        "regenerate it: make compose"


def test_every_default_configuration_has_a_service_on_loopback_only():
    text = (ROOT / "docker-compose.yml").read_text()
    for config in Catalogue.load().select():
        assert f"\n  {config.id}:\n" in text
    ports = [line.strip() for line in text.splitlines() if "::8000" in line]
    assert ports
    assert all(p == '- "127.0.0.1::8000"' for p in ports)


def test_compose_accepts_the_file():
    tool = shutil.which("docker-compose")
    if tool is None:
        missing("docker", "docker-compose is not installed: cannot check the file with it")
    done = subprocess.run([tool, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_an_id_compose_would_refuse_becomes_a_name_it_accepts(tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text('[[config]]\nid = "uvicorn+h11"\nserver = "uvicorn"\nrequires = ["uvicorn"]\n'
                     'argv = ["{python}", "-m", "uvicorn", "--port", "{port}", "{app}"]\n')
    config = Catalogue.load([extra]).get("uvicorn+h11")
    text = _compose.render([config])
    service = next(line for line in text.splitlines() if line.startswith("  uvicorn-h11"))
    assert re.fullmatch(r"  uvicorn-h11-[0-9a-f]{10}:", service), service
    assert "+" not in text.split("\n  uvicorn-h11")[1].split("\n\n")[0]
