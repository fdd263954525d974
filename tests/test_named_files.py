"""Every module or file that a docstring, a comment or the README names exists.

Moves leave names behind: a docstring that says ``measure/patterns.py`` after the file
became ``measure/drive/pattern_starts.py`` sends the reader nowhere. Read here: the
docstrings and comments of the package, the probes, the tests, the benchmarks and the
workflow scripts, and the Markdown files. A name counts as a Python or TOML file
(``x.py``, ``a/b/x.py``) or a dotted module of the package (``asgi_matrix.a.b``); it
exists when a file of the checkout ends with it (a bare file name: any file of that
name), and a dotted name when it is a module or a name defined in one.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FILE = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w-]+\.(?:py|toml))\b")
DOTTED = re.compile(r"\basgi_matrix(?:\.\w+)+")
#: a module named from its stage down, as docstrings do (``measure.drive.traffic``)
STAGED = re.compile(r"(?<![\w./-])(?:catalogue|measure|verdicts|results|report)(?:\.[a-z_]\w*)+")
#: the ends of file names, which STAGED would take for modules (results.partial.json)
SUFFIXES = ("json", "jsonl", "gz", "toml", "py", "html", "md", "partial", "interrupted",
            "schema")
#: names of files that are not in the checkout on purpose: made by a run or a user
NOT_OURS = {"OUT.toml", "x.py"}  # an output argument; a placeholder test


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True,
                            text=True, check=True).stdout.split()
    return [p for p in listed if (REPO / p).exists()]


TRACKED = _tracked()
NAMES = {Path(p).name for p in TRACKED}


def _prose(path: Path) -> str:
    """The docstrings and comments of a Python file; the whole of any other."""
    text = path.read_text()
    if path.suffix != ".py":
        return text
    found = [token.string for token in tokenize.generate_tokens(io.StringIO(text).readline)
             if token.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(ast.get_docstring(node) or "")
    return "\n".join(found)


def _file_exists(name: str) -> bool:
    if name.rpartition("/")[2] in NOT_OURS:
        return True
    if "/" not in name:
        return name in NAMES
    return any(p == name or p.endswith("/" + name) for p in TRACKED)


def _dotted_exists(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        value: object = module
        for attribute in parts[cut:]:
            if not hasattr(value, attribute):
                return False
            value = getattr(value, attribute)
        return True
    return False


#: every file read (not this one: its docstring names moved modules as examples)
SOURCES = [p for p in TRACKED if p.endswith((".py", ".md")) and not p.startswith("tests/data")
           and p != "tests/test_named_files.py"]


def missing_names(paths: list[str]) -> list[str]:
    missing = []
    for relative in paths:
        prose = _prose(REPO / relative)
        missing += [f"{relative}: {n}" for n in FILE.findall(prose) if not _file_exists(n)]
        missing += [f"{relative}: {n}" for n in DOTTED.findall(prose)
                    if not _dotted_exists(n)]
        missing += [f"{relative}: {n}" for n in STAGED.findall(prose)
                    if n.rsplit(".", 1)[1] not in SUFFIXES
                    and not _dotted_exists(f"asgi_matrix.{n}")]
    return missing


def test_every_named_module_or_file_exists() -> None:
    assert missing_names(SOURCES) == []


def test_a_name_that_is_gone_is_found(tmp_path: Path) -> None:
    # The check can fail: a docstring naming a module that moved away.
    assert not _file_exists("measure/patterns.py")
    assert not _dotted_exists("asgi_matrix.measure.traffic")
    assert missing_names(["runner/asgi_matrix/catalogue/release_sets.py"]) == []
    assert STAGED.findall("see ``measure.releases``") == ["measure.releases"]
    assert _file_exists("measure/drive/traffic.py")
    assert _dotted_exists("asgi_matrix.measure.drive.traffic.send")


@pytest.mark.parametrize("path", ["runner/asgi_matrix/measure/run.py", "README.md"])
def test_the_reader_finds_names(path: str) -> None:
    # Not vacuous: the files the test reads do name files and modules.
    prose = _prose(REPO / path)
    assert FILE.findall(prose) or DOTTED.findall(prose)
