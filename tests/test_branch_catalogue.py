"""The composite action's branch catalogue: every catalogue entry survives the copy.

``branch_catalogue.py`` writes each chosen configuration back as TOML from its loaded
record; a field the catalogue spells differently from the record (python = "3.14t",
recycle = { requests = N }) must come back as the catalogue spells it, or the action
fails before measuring anything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from asgi_matrix import Catalogue
from helpers import REPO

SCRIPT = REPO / ".github" / "actions" / "asgi-matrix" / "branch_catalogue.py"


def test_every_entry_is_copied_as_the_catalogue_spells_it(tmp_path: Path) -> None:
    catalogue = Catalogue.load()
    ids = [c.id for c in catalogue.configs if c.releases is None]
    out = tmp_path / "branch.toml"
    done = subprocess.run([sys.executable, str(SCRIPT), "anyio>=4", str(out), *ids],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [f"{i}+branch" for i in ids]
    copies = {c.id: c for c in Catalogue.load([out]).configs if c.id.endswith("+branch")}
    for config in catalogue.configs:
        if config.releases is None:
            copy = copies[f"{config.id}+branch"]
            assert (copy.argv, copy.python, copy.free_threaded, copy.recycle, copy.system,
                    copy.kind, copy.workers, copy.threads) == (
                config.argv, config.python, config.free_threaded, config.recycle,
                config.system, config.kind, config.workers, config.threads), config.id
            assert "anyio>=4" in copy.requires


def test_a_bad_server_spec_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "uvicorn >>= 1", str(tmp_path / "b"),
                           "uvicorn"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("asgi-matrix action: server 'uvicorn >>= 1' is not a")
    assert "Traceback" not in done.stderr
