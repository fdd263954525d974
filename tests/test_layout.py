"""The package's layout is its architecture: stages import only the stages before them.

Every module of ``asgi_matrix`` is read with ``ast`` (nothing is imported), and every
import of another ``asgi_matrix`` module counts, at module level or inside a function
(a lazy import is still a dependency), including those only for the type checker.
The order, lowest first::

    resources, exceptions,  facts every stage needs: where files live, the error tree,
    files                   the one atomic write
    catalogue               which configurations exist (data), release sets, the index
    verdicts                pure functions from observations to verdicts
    results                 the document: schema, merge, diff, history (uses verdicts'
                            property list)
    measure                 three floors: backends (where servers run), drive (what is
                            sent and read back), then the run, the judge step and the
                            cell cache; it writes results documents, so it sits above
                            results (a results module never starts a server)
    report                  show and the dashboard, from results documents
    cli                     the command line
    asgi_matrix, __main__   the public face and ``python -m``: above everything

A module may import its own stage and any stage below; within a stage, nothing may
import in a circle. No two stages have a module of one name: a module's name says what
it is without its folder. Also here: what ``bench/`` and the composite action import is
public (in ``asgi_matrix.__all__``), and long modules say why they are long.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
import types
from pathlib import Path

import asgi_matrix
import pytest
from asgi_matrix.measure.backends.docker.compose import BUILD_REQUIREMENTS

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "runner"
LAYERS = [("asgi_matrix.resources", "asgi_matrix.exceptions", "asgi_matrix.files"),
          ("asgi_matrix.catalogue",),
          ("asgi_matrix.verdicts",), ("asgi_matrix.results",),
          ("asgi_matrix.measure.backends",), ("asgi_matrix.measure.drive",),
          ("asgi_matrix.measure",),
          ("asgi_matrix.report",), ("asgi_matrix.cli",), ("asgi_matrix", "asgi_matrix.__main__")]
LONG = 400  #: lines; a module longer than this says why in its docstring
LONG_REASON = "Long because"


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SOURCE / "asgi_matrix").rglob("*.py")):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The asgi_matrix modules ``name`` imports (a package's __init__ for ``from pkg import x``
    when x is not a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        for target in targets:
            while target not in MODULES and "." in target:
                target = target.rpartition(".")[0]
            if target in MODULES and target != name and target.startswith("asgi_matrix"):
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(name: str) -> int:
    best = None
    for index, roots in enumerate(LAYERS):
        for root in roots:
            if (name == root or name.startswith(root + ".")) and (
                    best is None or len(root) > best[1]):
                best = (index, len(root))
    assert best is not None, f"{name} is in no layer of tests/test_layout.py"
    return best[0]


def test_the_graph_is_read() -> None:
    # A test that finds no imports would pass for the wrong reason.
    assert "asgi_matrix.catalogue.load" in GRAPH["asgi_matrix.measure.backends.protocol"]
    assert "asgi_matrix.verdicts.judge" in GRAPH["asgi_matrix.measure.cell_cache"]
    assert len(MODULES) > 40


def test_the_floors_of_measure_are_read() -> None:
    assert _layer("asgi_matrix.measure.backends.local.backend") < _layer(
        "asgi_matrix.measure.drive.scenarios") < _layer("asgi_matrix.measure.run")
    assert "asgi_matrix.measure.backends.protocol" in GRAPH["asgi_matrix.measure.drive.scenarios"]


def test_imports_point_downward_only() -> None:
    upward = [f"{name} (layer {_layer(name)}) imports {dep} (layer {_layer(dep)})"
              for name, deps in GRAPH.items() for dep in sorted(deps)
              if _layer(dep) > _layer(name)]
    assert upward == []


def _cycles() -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(GRAPH[name]):
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    return cycles


def test_no_import_cycles() -> None:
    assert [" -> ".join(c) for c in _cycles()] == []


def test_the_cycle_test_finds_a_cycle() -> None:
    GRAPH["asgi_matrix.exceptions"].add("asgi_matrix.resources")
    GRAPH["asgi_matrix.resources"].add("asgi_matrix.exceptions")
    try:
        pair = {"asgi_matrix.exceptions", "asgi_matrix.resources"}
        assert any(set(c) == pair for c in _cycles())
    finally:
        GRAPH["asgi_matrix.exceptions"].discard("asgi_matrix.resources")
        GRAPH["asgi_matrix.resources"].discard("asgi_matrix.exceptions")


def _long() -> list[str]:
    found = []
    for name, path in MODULES.items():
        lines = len(path.read_text().splitlines())
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > LONG and LONG_REASON not in docstring:
            found.append(name)
    return found


def test_long_modules_say_why() -> None:
    unexplained = _long()
    assert unexplained == [], f"split them, or say '{LONG_REASON} ...' in the docstring"


STAGES = ("catalogue", "measure", "verdicts", "results", "report")


def _shared_names() -> dict[str, list[str]]:
    """Module file names found in more than one stage."""
    stages: dict[str, dict[str, str]] = {}
    for name, path in MODULES.items():
        parts = name.split(".")
        if path.name != "__init__.py" and len(parts) > 2 and parts[1] in STAGES:
            stages.setdefault(path.stem, {})[parts[1]] = name
    return {stem: sorted(found.values()) for stem, found in stages.items() if len(found) > 1}


def test_no_two_stages_share_a_module_name() -> None:
    assert _shared_names() == {}


def test_the_name_test_finds_a_shared_name() -> None:
    MODULES["asgi_matrix.report.site.traffic"] = MODULES["asgi_matrix.measure.drive.traffic"]
    try:
        assert "traffic" in _shared_names()
    finally:
        del MODULES["asgi_matrix.report.site.traffic"]


# -- the public face ----------------------------------------------------------------------

def test_every_exported_name_resolves_and_all_is_complete() -> None:
    for name in asgi_matrix.__all__:
        assert getattr(asgi_matrix, name) is not None, name
    public = {n for n in dir(asgi_matrix) if not n.startswith("_")
              and not isinstance(getattr(asgi_matrix, n), types.ModuleType)}
    assert public - {"annotations", "Any"} <= set(asgi_matrix.__all__)
    assert len(set(asgi_matrix.__all__)) == len(asgi_matrix.__all__)
    with pytest.raises(AttributeError):
        _ = asgi_matrix.no_such_name  # type: ignore[attr-defined]


def _script_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every asgi_matrix import of a script outside the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("asgi_matrix"):
            found += [(node.module or "", alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name, "") for a in node.names if a.name.startswith("asgi_matrix")]
    return found


SCRIPTS = [*sorted((REPO / "bench").glob("*.py")),
           REPO / ".github" / "actions" / "asgi-matrix" / "branch_catalogue.py"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_import_only_the_public_face(script: Path) -> None:
    for module, name in _script_imports(script):
        assert module == "asgi_matrix", f"{script.name}: imports {module}: use asgi_matrix"
        assert name in asgi_matrix.__all__, f"{script.name}: {name} is not public"


def test_the_scripts_use_the_public_face() -> None:
    # The parametrized test above passes on scripts that import nothing: make sure not.
    assert all(_script_imports(s) for s in SCRIPTS)


# -- facts with one source ----------------------------------------------------------------

def test_the_runner_wheels_include_what_building_it_needs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert list(BUILD_REQUIREMENTS) == pyproject["build-system"]["requires"]


def test_the_version_is_the_packages() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert asgi_matrix.__version__ == pyproject["project"]["version"]


def test_the_wheel_lists_every_package() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = {n for n, p in MODULES.items() if p.name == "__init__.py"}
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    assert packages <= listed
    for extra in listed - packages:  # the package data: probes and site
        importlib.import_module(extra)


def test_test_modules_import_no_other_test_module() -> None:
    """What tests share lives in tests/helpers/; a test module is never imported."""
    tests = REPO / "tests"
    local = {p.stem for p in tests.rglob("*.py")} - {"__init__"}
    found = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(tests)} imports {name}" for name in names
                      if name.split(".")[0] in local and name.split(".")[0] != "helpers"]
    assert found == []


def test_the_readme_draws_every_folder() -> None:
    readme = (REPO / "README.md").read_text()
    drawing = readme.split("## Layout", 1)[1].split("```")[1]
    lines = drawing.splitlines()
    folders = [p for root in (SOURCE / "asgi_matrix", REPO / "probes", REPO / "dashboard")
               for p in sorted(root.rglob("*")) if p.is_dir() and p.name != "__pycache__"]
    drawn = {line.split()[0].rstrip("/") for line in lines if line.strip()}
    missing = [str(p.relative_to(REPO)) for p in folders if p.name not in drawn]
    assert missing == [], "README's Layout: one line per folder"
