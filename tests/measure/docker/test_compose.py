"""docker-compose.yml is generated from the catalogue, and both Compose versions accept it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from asgi_matrix.catalogue.load import Catalogue
from asgi_matrix.measure.docker import compose as _compose
from helpers.prerequisites import missing

ROOT = Path(__file__).resolve().parents[3]


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
