"""What ``paved up`` checks before it starts anything, so that a problem is named in a second, not found in
a log after a timeout: ports already taken (and the option that moves them), and services left running by
an earlier run (found through the pid files under the data directory)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Spec(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def module(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class Leftover:
    """A service process from an earlier run that is still alive."""

    service: str
    pid: int
    pid_file: Path


def run_dir(data_dir: Path) -> Path:
    """Where the pid files live."""
    return data_dir / "run"


def pid_file(data_dir: Path, service: str) -> Path:
    return run_dir(data_dir) / f"{service}.pid"


def write_pid_file(data_dir: Path, service: str, module: str, pid: int) -> None:
    path = pid_file(data_dir, service)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"pid": pid, "module": module, "parent": os.getpid()}) + "\n", encoding="utf-8"
    )


def remove_pid_file(data_dir: Path, service: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        pid_file(data_dir, service).unlink()


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def leftovers(data_dir: Path, specs: Sequence[_Spec]) -> list[Leftover]:
    """Services of an earlier run still alive; pid files of processes that are gone are removed.

    A pid is only believed when that process still runs the service's module (pids are reused).
    """
    found: list[Leftover] = []
    for spec in specs:
        path = pid_file(data_dir, spec.name)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            pid = int(record["pid"])
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):
            remove_pid_file(data_dir, spec.name)
            continue
        if _alive(pid) and spec.module in _command_line(pid):
            found.append(Leftover(spec.name, pid, path))
        else:
            remove_pid_file(data_dir, spec.name)
    return found


def port_in_use(host: str, port: int) -> bool:
    """Whether binding ``host:port`` fails because something holds it (SO_REUSEADDR, as servers bind)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def busy_ports(specs: Sequence[_Spec]) -> list[str]:
    """One sentence per port that is taken, naming the service and the option that moves it."""
    problems = []
    for spec in specs:
        if not port_in_use(spec.host, spec.port):
            continue
        if spec.protocol == "http":
            how = "--gateway-port N"
        else:
            how = "--base-port N (the five gRPC services take N to N+4)"
        problems.append(
            f"port {spec.port} on {spec.host}, where {spec.name} should listen, is already in use; "
            f"choose another with {how}"
        )
    return problems
