"""The catalogue: server configurations as data, loaded into frozen records.

Adding a configuration is a new ``[[config]]`` table in a TOML file, never code.
Unknown keys, duplicate ids and templates without ``{port}`` are rejected with the
file and entry named, so a typo never silently measures the wrong thing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from asgi_matrix.catalogue.release_sets import Release, ReleaseSet, parse_release_set
from asgi_matrix.catalogue.tables import check_entry, read_tables
from asgi_matrix.exceptions import CatalogueError, UnknownConfig
from asgi_matrix.resources import CATALOGUE_FILE, CATALOGUE_SCHEMA

DEFAULT_CATALOGUE = CATALOGUE_FILE
_PLACEHOLDERS = {"python", "host", "port", "app", "controls", "harnesses"}
#: {name}, or {{ and }} for a literal brace (as in str.format, which the catalogue's
#: commands were written for); everything else with a brace is refused at load.
_PLACEHOLDER = re.compile(r"{{|}}|{(\w+)}")
_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
#: ``python = "3.14t"``: that minor's free-threaded build (PEP 703), uv's spelling
_FREE_THREADED = re.compile(r"^\s*(\d+\.\d+)t\s*$")


def python_axis(spec: str) -> str:
    """The Python axis of a configuration: "3.13" for "==3.13.*", else the specifier;
    "any" when it runs on whatever interpreter the backend has (the local one, 3.11 in
    images)."""
    if match := re.fullmatch(r"==\s*(\d+\.\d+)(?:\.\*)?", spec.strip()):
        return match.group(1)
    return spec.replace(" ", "") or "any"


@dataclass(frozen=True)
class ServerConfig:
    """One configuration of one server: how to start it and what it claims to do."""

    id: str
    server: str
    argv: tuple[str, ...]
    requires: tuple[str, ...] = ()
    kind: str = "server"
    loop: str = "asyncio"
    workers: int = 1  #: worker processes
    threads: int = 1  #: event loop threads per process
    websocket: bool = True
    #: speaks HTTP/2 over cleartext with prior knowledge on its usual port; False makes
    #: the HTTP/2 properties "n/a" with that said, instead of sending it a preface
    http2: bool = False
    lifespan: bool = True  #: documented expectation only; verdicts come from evidence
    python: str = ""  #: PEP 440 specifier of the interpreters it runs on; "" = any
    free_threaded: bool = False  #: needs a free-threaded build (catalogue: python = "3.14t")
    system: tuple[str, ...] = ()  #: Debian packages it needs beside Python (libuv1, ...)
    default: bool = True  #: False keeps it out of the default matrix (fault controls)
    description: str = ""
    source: str = ""  #: "file:entry" it came from, for error messages
    releases: ReleaseSet | None = None  #: a release set: measured per release (_releases)
    release: Release | None = None  #: the one release this configuration is pinned to
    unavailable: str = ""  #: why that release cannot be installed here, from the index
    #: ("requests", N) or ("seconds", N): the server recycles workers after that many
    #: requests or that long (its flags in argv say so); the recycle scenario crosses it
    recycle: tuple[str, int] | None = None
    #: the arguments that make the server call the app reference as an app factory (e.g.
    #: ("--factory",)), appended to argv for the pattern axis; () when it cannot
    factory: tuple[str, ...] = ()
    #: the server's own graceful timeout after SIGTERM, where it has one (gunicorn's
    #: --graceful-timeout, 30 s): a stop never kills it before that ran out
    graceful_s: float = 0.0
    #: a flag row: the documented flag (as argv has it) this configuration adds to the
    #: configuration ``flag_of``; a property failing there and passing here is "fixed by"
    #: that flag on that configuration's page, from the measurements
    flag: str = ""
    flag_of: str = ""
    #: the HTTP implementation it runs where the server has several (uvicorn: httptools
    #: with uvicorn[standard], else h11); verdicts that depend on it name it
    http_impl: str = ""
    #: why a requirement holds it below the newest release (an upper bound or an exact
    #: pin); every other requirement resolves to the newest release, again each day
    pinned: str = ""

    @property
    def signals(self) -> bool:
        """Whether the configuration is a process we can stop with signals."""
        return self.kind != "harness"

    def axes(self) -> dict[str, Any]:
        """The coordinates of this configuration in the matrix (open to more axes)."""
        axes: dict[str, Any] = {"server": self.server, "loop": self.loop,
                                "workers": self.workers, "threads": self.threads,
                                "pattern": "runvar",
                                "python": python_axis(self.python) + ("t" if self.free_threaded
                                                                      else "")}
        if self.release is not None:
            axes["release"] = self.release.version
        return axes




def _entry(raw: Any, where: str) -> ServerConfig:
    here = check_entry(raw, where, CATALOGUE_SCHEMA)
    argv = raw["argv"]
    if not argv or not all(isinstance(a, str) for a in argv):
        raise CatalogueError(f"{here}: argv must be a non-empty list of strings")
    used = {m for a in argv for m in _PLACEHOLDER.findall(a) if m}
    if bad := sorted(used - _PLACEHOLDERS):
        raise CatalogueError(f"{here}: argv uses unknown placeholder {{{bad[0]}}}; "
                             f"known: {', '.join(sorted(_PLACEHOLDERS))}")
    if stray := next((a for a in argv if re.search(r"[{}]", _PLACEHOLDER.sub("", a))), None):
        raise CatalogueError(f"{here}: argv item {stray[:60]!r} has a brace that is not a "
                             "placeholder ({name} with name one of "
                             + ", ".join(sorted(_PLACEHOLDERS)) + "; {{ and }} for braces)")
    if "{port}" not in "".join(argv) and raw.get("kind", "server") != "harness":
        raise CatalogueError(f"{here}: argv has no {{port}}: the runner could not reach it")
    if not all(isinstance(r, str) for r in raw.get("requires", [])):
        raise CatalogueError(f"{here}: requires must be a list of strings")
    for requirement in raw.get("requires", []):
        _requirement(requirement, here)
    if not all(isinstance(p, str) and _DEBIAN_PACKAGE.match(p) for p in raw.get("system", [])):
        raise CatalogueError(f"{here}: system must be a list of Debian package names "
                             "(lowercase letters, digits and +-. e.g. \"libuv1\")")
    python, free_threaded = raw.get("python", ""), False
    if match := _FREE_THREADED.match(python):  # "3.14t": 3.14, free-threaded build only
        python, free_threaded = f"=={match.group(1)}.*", True
    try:
        SpecifierSet(python)
    except InvalidSpecifier as err:
        raise CatalogueError(f"{here}: python is not a version specifier (or X.Yt for a "
                             f"free-threaded build): {err}") from err
    for key in ("workers", "threads"):
        if raw.get(key, 1) < 1:
            raise CatalogueError(f"{here}: {key} must be at least 1")
    recycle = raw.get("recycle")
    if recycle is not None:
        items = list(recycle.items())
        if (len(items) != 1 or items[0][0] not in ("requests", "seconds")
                or not isinstance(items[0][1], int) or isinstance(items[0][1], bool)
                or items[0][1] < 1):
            raise CatalogueError(f"{here}: recycle must be {{ requests = N }} or "
                                 f"{{ seconds = N }} with N >= 1, got {recycle!r}")
        recycle = items[0]
    factory = raw.get("factory")
    if factory is not None and (not factory or not all(
            isinstance(a, str) and a and not re.search(r"[{}]", a) for a in factory)):
        raise CatalogueError(f"{here}: factory must be a non-empty list of the arguments that "
                             f"make the server call an app factory (e.g. [\"--factory\"]), "
                             f"without placeholders; got {factory!r}")
    values = {**raw, "argv": tuple(argv), "requires": tuple(raw.get("requires", ())),
              "system": tuple(raw.get("system", ())), "python": python,
              "free_threaded": free_threaded, "recycle": recycle,
              "factory": tuple(factory or ()),
              "graceful_s": _graceful(raw.get("graceful_s", 0.0), here),
              "http_impl": raw.get("http_impl", ""), "pinned": raw.get("pinned", ""),
              **_flag(raw, here)}
    if "releases" in raw:  # a history entry: never in the default matrix
        if raw.get("default") is True:
            raise CatalogueError(f"{here}: an entry with releases cannot be default = true "
                                 "(run it with --history or by id)")
        values.update(releases=parse_release_set(raw["releases"], here), default=False)
    return ServerConfig(**values, source=here)


def _flag(raw: dict[str, Any], here: str) -> dict[str, str]:
    flag, of = raw.get("flag", ""), raw.get("flag_of", "")
    if bool(flag) != bool(of):
        raise CatalogueError(f"{here}: a flag row names both its flag and the configuration "
                             f"it adds it to (flag and flag_of); got flag={flag!r}, "
                             f"flag_of={of!r}")
    if flag and flag.split()[0] not in [str(a).split("=")[0] for a in raw.get("argv", [])]:
        raise CatalogueError(f"{here}: flag {flag!r} is not in its argv")
    return {"flag": flag, "flag_of": of}


def _graceful(value: Any, here: str) -> float:
    if isinstance(value, bool) or not 0 <= value <= 600:
        raise CatalogueError(f"{here}: graceful_s must be the server's graceful timeout in "
                             f"seconds, 0 to 600; got {value!r}")
    return float(value)


def _requirement(text: str, here: str) -> None:
    """A PEP 508 requirement, or a CatalogueError: the string reaches an installer's
    command line, where one starting with "-" would be an option."""
    if text.lstrip().startswith("-"):
        raise CatalogueError(f"{here}: requires item {text!r} starts with '-': an installer "
                             "option, not a requirement")
    try:
        Requirement(text)
    except InvalidRequirement as err:
        raise CatalogueError(f"{here}: requires item {text!r} is not a requirement "
                             f"(PEP 508): {str(err).splitlines()[0]}") from err


def fill(argv: Iterable[str], **values: str) -> list[str]:
    """A command from its template: each {name} replaced by name only, nothing evaluated
    (str.format would read attributes and indexes); the loader refused other braces.
    Placeholders without a value are left as they are (filled in a later step)."""
    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)[0]  # {{ or }}: a literal brace
        return values.get(match.group(1), match.group(0))

    return [_PLACEHOLDER.sub(one, arg) for arg in argv]


def load_file(path: Path) -> list[ServerConfig]:
    """Read one catalogue file; every problem names the file and the entry's line."""
    return [_entry(raw, where) for raw, where in read_tables(path, "config", "catalogue")]


@dataclass(frozen=True)
class Catalogue:
    """All known configurations, in catalogue order, with unique ids."""

    configs: tuple[ServerConfig, ...]
    files: tuple[Path, ...] = field(default=())

    @classmethod
    def load(cls, paths: Iterable[Path] = ()) -> Catalogue:
        files = [DEFAULT_CATALOGUE, *paths]
        configs: list[ServerConfig] = []
        seen: dict[str, str] = {}
        for path in files:
            for config in load_file(Path(path)):
                if config.id in seen:
                    raise CatalogueError(f"{config.source}: duplicate id {config.id!r} "
                                         f"(first defined at {seen[config.id]})")
                seen[config.id] = config.source
                configs.append(config)
        return cls(tuple(configs), tuple(Path(p) for p in files))

    def ids(self) -> list[str]:
        return [c.id for c in self.configs]

    def get(self, config_id: str) -> ServerConfig:
        for config in self.configs:
            if config.id == config_id:
                return config
        raise UnknownConfig(f"unknown configuration {config_id!r}; known: {', '.join(self.ids())}")

    def select(self, ids: Sequence[str] = (), servers: Sequence[str] = ()) -> list[ServerConfig]:
        """The configurations named by id or server; none named means the default matrix."""
        known_servers = {c.server for c in self.configs}
        for server in servers:
            if server not in known_servers:
                raise UnknownConfig(f"unknown server {server!r}; known: "
                                    + ", ".join(sorted(known_servers)))
        chosen = [self.get(i) for i in ids]
        chosen += [c for c in self.configs if c.server in servers and c not in chosen
                   and c.releases is None]  # release sets: only by id or with --history
        if not ids and not servers:
            chosen = [c for c in self.configs if c.default]
        return chosen
