"""The embedded default backend: each server is a local process on 127.0.0.1.

Every server gets its own session (process group), port, working folder and log,
so configurations can run side by side, and the whole tree of processes a server
forks can be signalled, checked for leftovers and killed as one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from asgi_matrix.catalogue.load import ServerConfig, fill
from asgi_matrix.measure.backends import leftovers as _leftovers
from asgi_matrix.measure.backends.local import envs as _envs
from asgi_matrix.measure.backends.local import system as _system
from asgi_matrix.measure.backends.observations import CLIENT, OBSERVATIONS
from asgi_matrix.measure.backends.protocol import Prepared, StopOutcome, StopScope
from asgi_matrix.resources import CONTROLS_DIR, HARNESSES_DIR, PROBE_APP, PROBES_DIR

HOST = "127.0.0.1"
_handed_out: set[int] = set()
_ports_lock = threading.Lock()


def free_port() -> int:
    """A port nobody listens on now, never handed out twice by this process."""
    with _ports_lock:
        while True:
            with socket.socket() as sock:
                sock.bind((HOST, 0))
                port = int(sock.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port


def render(argv: tuple[str, ...] | list[str], **values: str) -> list[str]:
    """Fill a command template; every placeholder was checked when the catalogue loaded."""
    return fill(argv, **values)


#: What a server inherits from our environment: what a process needs to run, and
#: nothing else (a CI job's tokens and credentials stay with us); and variables with
#: the prefixes (locale; the probe's own settings and the run's tag).
INHERITED = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "USER", "LOGNAME")
INHERITED_PREFIXES = ("LC_", "ASGI_MATRIX_")


def server_environment(extra: dict[str, str]) -> dict[str, str]:
    """The allow-listed environment of a server process, plus ``extra``."""
    kept = {k: v for k, v in os.environ.items()
            if k in INHERITED or k.startswith(INHERITED_PREFIXES)}
    return {**kept, **extra}


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


def carrying(marker: bytes) -> list[int]:
    """Live processes whose environment holds ``marker``: a server's processes that left
    its process group (setsid, double fork) still inherit its environment."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if marker in Path(f"/proc/{entry}/environ").read_bytes():
                stat = Path(f"/proc/{entry}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry))
        except (OSError, IndexError):
            continue
    return found


class LocalServer:
    """A server process we started, in its own process group."""

    def __init__(self, proc: subprocess.Popen[bytes], base_url: str, workdir: Path,
                 observations: Path, log: Path) -> None:
        self.proc = proc
        self.base_url = base_url
        self.workdir = workdir
        self.observations = observations
        self.log = log

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read_file(self, name: str) -> bytes | None:
        try:
            return (self.workdir / name).read_bytes()
        except FileNotFoundError:
            return None

    def is_alive(self) -> bool:
        return self.proc.poll() is None

    def exit_code(self) -> int | None:
        return self.proc.poll()

    def send_signal(self, name: str) -> None:
        with suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.Signals[name])

    def stop(self, scope: StopScope, grace_s: float) -> StopOutcome:
        """SIGTERM to the main process or the whole group; SIGKILL after the grace period."""
        start = time.monotonic()
        try:
            if scope == "main":
                os.kill(self.proc.pid, signal.SIGTERM)
            else:
                os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        killed = False
        try:
            code = self.proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            killed = True
            self.kill_group()
            code = self.proc.wait(timeout=10)
        seconds = time.monotonic() - start
        orphans = self._leftovers()
        return StopOutcome(scope=scope, exit_code=None if killed else code,
                           exit_signal=signal.Signals(-code).name if code < 0 else None,
                           seconds=round(seconds, 3), killed=killed, orphans=orphans)

    def _members(self) -> list[int]:
        marker = f"ASGI_MATRIX_OBS={self.observations}\0".encode()
        return sorted(set(group_members(self.proc.pid)) | set(carrying(marker)))

    def _leftovers(self) -> list[int]:
        """Processes of the server still running once its main process exited, also
        those that left its process group."""
        deadline = time.monotonic() + 1.0  # children may take a moment to follow
        while (left := self._members()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return left

    def kill_group(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for pid in self._members():  # the ones that escaped the group
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def cleanup(self) -> None:
        """Nothing of the server may outlive its scenario."""
        if self.proc.poll() is None or self._members():
            self.kill_group()
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        try:
            with open(self.log, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - 16384))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class LocalBackend:
    """Servers as local processes, each in a virtualenv of its own (made with uv)."""

    kind = "local"

    def __init__(self, interpreter: str | None = None, workroot: Path | None = None) -> None:
        self.interpreter = interpreter
        self.workroot = workroot
        self._live: set[LocalServer] = set()
        self._lock = threading.Lock()

    def stop_all(self) -> None:
        """Kill every server still running (asgi-matrix itself is being stopped)."""
        with self._lock:
            live = list(self._live)
        for server in live:
            server.kill_group()

    def close(self) -> None:
        """Nothing outlives a scenario here: each server's folder goes with it."""

    def end_leftovers(self) -> int:
        """End the servers of runs that were killed (SIGKILL leaves them running)."""
        return _leftovers.end_local_leftovers()

    def prepare(self, config: ServerConfig) -> Prepared:
        interpreter = _envs.find_interpreter(config.python, self.interpreter, config.free_threaded)
        _system.require(config.system)  # NotRunnable: it names what is missing
        env = _envs.ensure(config.requires, interpreter)
        command = render(config.argv, python=str(env.python), host=HOST, port="{port}",
                         app=PROBE_APP, controls=str(CONTROLS_DIR),
                         harnesses=str(HARNESSES_DIR))
        python = env.versions.get("python", "") or _python_version(env.python)
        return Prepared(config=config, command=command, versions=env.versions, python=python,
                        provenance={"environment": str(env.path)}, created=env.created)

    @contextmanager
    def start(self, prepared: Prepared, scenario: str,
              env: dict[str, str]) -> Iterator[LocalServer]:
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix=f"asgi-matrix-{prepared.config.id}-{scenario}-",
                                        dir=self.workroot))
        observations = workdir / OBSERVATIONS
        log = workdir / "server.log"
        child_env = server_environment({**env, "PYTHONPATH": str(PROBES_DIR),
                                        "ASGI_MATRIX_OBS": str(observations),
                                        "ASGI_MATRIX_CLIENT": str(workdir / CLIENT),
                                        "PYTHONUNBUFFERED": "1",
                                        _leftovers.MARK: _leftovers.runner_mark()})
        argv = [a.replace("{port}", str(port)) for a in prepared.command]
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(argv, cwd=workdir, env=child_env, stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # its own group: stop it whole
        server = LocalServer(proc, f"http://{HOST}:{port}", workdir, observations, log)
        with self._lock:
            self._live.add(server)
        try:
            yield server
        finally:
            server.cleanup()
            with self._lock:
                self._live.discard(server)
            shutil.rmtree(workdir, ignore_errors=True)


def _python_version(python: Path) -> str:
    done = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip()
