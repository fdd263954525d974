"""Write an extra catalogue that measures a server from a branch instead of its release.

Each chosen configuration is copied under the id ``<id>+branch`` with the server's
requirement replaced by the given spec (a copy, because catalogue ids are unique).
Prints the new ids, one per line, for ``asgi-matrix run``.

    python branch_catalogue.py SPEC OUT.toml [CONFIG_ID ...]

SPEC is a PEP 508 requirement ("uvicorn @ git+https://github.com/encode/uvicorn@<sha>")
or a path to the server's source tree ("." = the checked-out project). Without config
ids, every default configuration that installs the named package is chosen.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

from asgi_matrix import AsgiMatrixError, Catalogue, ServerConfig
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

SUFFIX = "+branch"
_SKIP = {"id", "source", "description", "default",  # rewritten below, or not catalogue keys
         "free_threaded",  # spelled in python ("3.14t"), as the catalogue does
         "releases", "release", "unavailable"}  # a branch build is one version, not a release set


def requirement(spec: str) -> Requirement:
    """The spec as a requirement; a source tree becomes ``name @ file:///abs/path``."""
    path = Path(spec)
    if spec.startswith((".", "/")) or (path / "pyproject.toml").is_file():
        pyproject = path / "pyproject.toml"
        try:
            name = tomllib.loads(pyproject.read_text())["project"]["name"]
        except (OSError, KeyError, tomllib.TOMLDecodeError) as err:
            sys.exit(f"asgi-matrix action: {pyproject}: cannot read the project's name ({err})")
        return Requirement(f"{name} @ {path.resolve().as_uri()}")
    try:
        return Requirement(spec)
    except InvalidRequirement as err:
        sys.exit(f"asgi-matrix action: server {spec!r} is not a requirement: "
                 + str(err).splitlines()[0])


def _installs(config: ServerConfig, name: str) -> bool:
    return any(canonicalize_name(Requirement(r).name) == name for r in config.requires)


def rebased(config: ServerConfig, req: Requirement) -> dict[str, object]:
    name = canonicalize_name(req.name)
    requires = [str(req) if canonicalize_name(Requirement(r).name) == name else r
                for r in config.requires]
    if str(req) not in requires:
        requires.append(str(req))  # a dependency of what it installs (uvicorn-worker)
    entry = {f.name: getattr(config, f.name) for f in fields(config) if f.name not in _SKIP}
    if config.free_threaded:  # "==3.14.*" plus the flag: the catalogue's "3.14t"
        entry["python"] = config.python.removeprefix("==").removesuffix(".*") + "t"
    if config.recycle is not None:  # ("requests", 100): the catalogue's { requests = 100 }
        entry["recycle"] = dict([config.recycle])
    if not config.factory:  # () = no factory flag: the catalogue leaves the key out
        entry.pop("factory", None)
    entry = {k: v for k, v in entry.items() if v is not None}  # absent in the catalogue
    return {"id": config.id + SUFFIX, **entry, "requires": requires, "default": False,
            "description": f"{config.id} with {req}"}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):  # a float's repr ("0.0", "1e-05") is a TOML float
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        sys.exit(__doc__)
    req, out, ids = requirement(argv[0]), Path(argv[1]), argv[2:]
    name = canonicalize_name(req.name)
    try:
        catalogue = Catalogue.load()
        chosen = ([catalogue.get(i) for i in ids] if ids else
                  [c for c in catalogue.configs if c.default and _installs(c, name)])
    except AsgiMatrixError as err:
        sys.exit(f"asgi-matrix action: {err}")
    if not chosen:
        sys.exit(f"asgi-matrix action: no default configuration installs {req.name}; "
                 "name the configurations (input 'configs')")
    tables = ["[[config]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in rebased(c, req).items())
              for c in chosen]
    out.write_text("# Written by the asgi-matrix action.\n\n" + "\n".join(tables))
    try:
        Catalogue.load([out])  # refuse here, not mid-run, if the copy is not a valid catalogue
    except AsgiMatrixError as err:
        sys.exit(f"asgi-matrix action: {err}")
    print("\n".join(c.id + SUFFIX for c in chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
