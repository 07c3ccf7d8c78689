"""``paved up``: run the whole suite on this machine, each service a subprocess on 127.0.0.1 with SQLite.

Every service gets the addresses of the others through ``PAVED_<SERVICE>_<OTHER>_ADDRESS`` variables
(a service ignores the ones it does not use), its database under the data directory, and its log in
``<data dir>/logs/<service>.log``. ``up`` waits until each gRPC service reports SERVING on the standard
health service (and the gateway answers ``GET /healthz``), prints where everything listens, and stops
everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import grpc
import grpc.aio
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved_kit.client import create_channel
from paved_kit.settings import default_sqlite_url
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from paved_client.defaults import (
    DEFAULT_BASE_PORT,
    DEFAULT_DATA_DIR,
    DEFAULT_GATEWAY_PORT,
    DEFAULT_HOST,
    DEFAULT_STARTUP_TIMEOUT,
    GATEWAY,
    GRPC_SERVICES,
)

STOP_TIMEOUT = 15.0
LOG_TAIL_LINES = 25

Protocol = Literal["grpc", "http"]


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the suite: what to run and where it will listen."""

    name: str
    module: str
    protocol: Protocol
    port: int
    host: str = DEFAULT_HOST

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """How a user reaches it: an HTTP URL for the gateway, ``host:port`` for gRPC."""
        return f"http://{self.address}" if self.protocol == "http" else self.address

    @property
    def env_prefix(self) -> str:
        """``PAVED_<NAME>_``."""
        return f"PAVED_{self.name.upper()}_"


@dataclass(frozen=True)
class Health:
    """The outcome of waiting for a service."""

    healthy: bool
    detail: str


def suite_specs(
    *,
    base_port: int = DEFAULT_BASE_PORT,
    gateway_port: int = DEFAULT_GATEWAY_PORT,
    host: str = DEFAULT_HOST,
) -> list[ServiceSpec]:
    """The whole suite: gRPC services on consecutive ports from ``base_port``, then the gateway."""
    specs = [
        ServiceSpec(name, f"paved_{name}", "grpc", base_port + offset, host)
        for offset, name in enumerate(GRPC_SERVICES)
    ]
    specs.append(ServiceSpec(GATEWAY, "paved_gateway", "http", gateway_port, host))
    return specs


def select(specs: Sequence[ServiceSpec], only: Collection[str] | None) -> list[ServiceSpec]:
    """The specs named in ``only`` (all when empty); unknown names are an error."""
    if not only:
        return list(specs)
    known = {spec.name for spec in specs}
    unknown = sorted(set(only) - known)
    if unknown:
        raise ValueError(f"unknown service(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [spec for spec in specs if spec.name in only]


def service_environment(spec: ServiceSpec, suite: Sequence[ServiceSpec], data_dir: Path) -> dict[str, str]:
    """The variables ``spec`` is started with: where it listens, its database, where the others are."""
    prefix = spec.env_prefix
    env = {
        f"{prefix}HOST": spec.host,
        f"{prefix}PORT": str(spec.port),
        f"{prefix}DATABASE_URL": default_sqlite_url(spec.name, data_dir),
        f"{prefix}DATA_DIR": str(data_dir),
    }
    for other in suite:
        if other.name != spec.name:
            env[f"{prefix}{other.name.upper()}_ADDRESS"] = other.address
    return env


def is_runnable(module: str) -> bool:
    """Whether ``python -m module`` can run here (the package and its ``__main__`` are installed)."""
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ImportError:
        return False


async def _poll(
    probe: Callable[[], Awaitable[str | None]],
    healthy: str,
    *,
    within: float,
    alive: Callable[[], bool] | None,
    interval: float,
) -> Health:
    """Call ``probe`` (None: healthy, else what it saw) until healthy, the process dies, or time is up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if alive is not None and not alive():
            return Health(False, "exited")
        last = await probe()
        if last is None:
            return Health(True, healthy)
        if loop.time() >= deadline:
            return Health(False, f"not healthy after {within:g}s (last: {last})")
        await asyncio.sleep(interval)


async def wait_grpc_serving(
    address: str,
    *,
    within: float,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.2,
) -> Health:
    """Poll ``grpc.health.v1.Health/Check`` on ``address`` until SERVING, the process dies, or time is up."""
    async with create_channel(address, retry=False, default_timeout=1.0) as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def probe() -> str | None:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
            except grpc.aio.AioRpcError as exc:
                return exc.code().name
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return None
            return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        return await _poll(probe, "SERVING", within=within, alive=alive, interval=interval)


async def wait_http_ok(
    url: str,
    *,
    within: float,
    alive: Callable[[], bool] | None = None,
    interval: float = 0.2,
) -> Health:
    """Poll ``GET url`` until it answers 200, the process dies, or time is up."""
    async with httpx.AsyncClient(timeout=1.0) as client:

        async def probe() -> str | None:
            try:
                response = await client.get(url)
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return None if response.status_code == 200 else f"HTTP {response.status_code}"

        return await _poll(probe, "200 OK", within=within, alive=alive, interval=interval)


@dataclass
class Running:
    """A started service process and what is known about it."""

    spec: ServiceSpec
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    health: Health | None = None
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def status(self) -> str:
        if self.process is None:
            return self.health.detail if self.health else "not started"
        if self.process.returncode is not None:
            return f"exited with code {self.process.returncode}"
        if self.health is None:
            return "starting"
        return "healthy" if self.health.healthy else self.health.detail

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as log:
                return "".join(deque(log, maxlen=lines)).rstrip()
        except OSError:
            return ""


class Suite:
    """Starts, watches and stops the service processes."""

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        *,
        data_dir: Path,
        environment: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.specs = list(specs)
        self.environment = dict(os.environ if environment is None else environment)
        self.python = python
        self.running = [Running(spec, self.data_dir / "logs" / f"{spec.name}.log") for spec in self.specs]

    async def start(self, *, wiring: Sequence[ServiceSpec] | None = None) -> None:
        """Start every runnable service; ``wiring`` lists every service whose address to pass around."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        suite = list(wiring) if wiring is not None else self.specs
        for entry in self.running:
            if not is_runnable(entry.spec.module):
                entry.health = Health(False, f"not available (no {entry.spec.module}.__main__)")
                continue
            env = {
                **self.environment,
                **service_environment(entry.spec, suite, self.data_dir),
                "PYTHONUNBUFFERED": "1",
            }
            entry.log_file = entry.log_path.open("wb")
            entry.process = await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                entry.spec.module,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=entry.log_file,
                stderr=asyncio.subprocess.STDOUT,
                # Its own process group: Ctrl-C reaches only us, and we stop the services in order.
                start_new_session=True,
            )

    async def wait_healthy(self, *, within: float) -> bool:
        """Wait for every started service to become healthy; True when all of them are."""

        async def wait(entry: Running) -> None:
            if entry.process is None:
                return
            if entry.spec.protocol == "grpc":
                entry.health = await wait_grpc_serving(entry.spec.address, within=within, alive=entry.alive)
            else:
                entry.health = await wait_http_ok(
                    f"{entry.spec.url}/healthz", within=within, alive=entry.alive
                )

        await asyncio.gather(*(wait(entry) for entry in self.running))
        return all(entry.health is not None and entry.health.healthy for entry in self.running)

    async def wait_for_exit(self) -> Running:
        """Return the first service whose process exits."""
        waits = {
            asyncio.ensure_future(entry.process.wait()): entry
            for entry in self.running
            if entry.process is not None
        }
        if not waits:
            await asyncio.Event().wait()
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            return waits[done.pop()]
        finally:
            for waiter in waits:
                waiter.cancel()

    async def stop(self, *, patience: float = STOP_TIMEOUT) -> None:
        """SIGTERM every service (gateway first), wait up to ``patience`` seconds, then kill what is left."""
        alive = [entry for entry in reversed(self.running) if entry.alive()]
        for entry in alive:
            _signal_group(entry, signal.SIGTERM)
        if alive:
            waits = [entry.process.wait() for entry in alive if entry.process is not None]
            _, pending = await asyncio.wait([asyncio.ensure_future(w) for w in waits], timeout=patience)
            for entry in alive:
                if entry.alive():
                    _signal_group(entry, signal.SIGKILL)
            for entry in alive:
                if entry.process is not None:
                    await entry.process.wait()
            for waiter in pending:
                waiter.cancel()
        for entry in self.running:
            if entry.log_file is not None:
                entry.log_file.close()
                entry.log_file = None


def _signal_group(entry: Running, sig: signal.Signals) -> None:
    if entry.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(entry.process.pid, sig)


def status_table(suite: Suite) -> Table:
    """What runs where, and how it is doing."""
    table = Table(title="Paved suite", title_justify="left")
    table.add_column("Service", style="bold")
    table.add_column("Listens on")
    table.add_column("Status")
    table.add_column("PID", justify="right")
    table.add_column("Log")
    for entry in suite.running:
        status = entry.status()
        style = "green" if status == "healthy" else "yellow" if status == "starting" else "red"
        pid = str(entry.process.pid) if entry.process is not None else "-"
        table.add_row(
            entry.spec.name,
            entry.spec.url,
            f"[{style}]{status}[/{style}]",
            pid,
            _short(entry.log_path) if entry.process is not None else "-",
        )
    return table


def _short(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def _show_failures(console: Console, suite: Suite) -> None:
    for entry in suite.running:
        if entry.process is None or entry.status() == "healthy":
            continue
        tail = entry.tail() or "(no output)"
        console.print(Panel(tail, title=f"{entry.spec.name}: last log lines", border_style="red"))


async def run_up(
    specs: Sequence[ServiceSpec],
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    console: Console | None = None,
    wiring: Sequence[ServiceSpec] | None = None,
    environment: Mapping[str, str] | None = None,
    stop_event: asyncio.Event | None = None,
    ready_event: asyncio.Event | None = None,
) -> int:
    """Start ``specs``, wait until healthy, serve until Ctrl-C/SIGTERM (or ``stop_event``); exit code.

    ``ready_event`` is set once every service is healthy and the table is printed.
    """
    console = console or Console()
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    suite = Suite(specs, data_dir=data_dir, environment=environment)
    try:
        await suite.start(wiring=wiring)
        with console.status(f"Starting {len(specs)} service(s)…"):
            waiting = asyncio.ensure_future(suite.wait_healthy(within=startup_timeout))
            interrupted = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            interrupted.cancel()
        if not waiting.done():
            waiting.cancel()
            console.print("Interrupted while starting; stopping.")
            return 130
        healthy = waiting.result()
        console.print(status_table(suite))
        if not healthy:
            _show_failures(console, suite)
            console.print("[red]Not every service became healthy; stopping the suite.[/red]")
            return 1

        console.print(
            f"Data in {suite.data_dir}. Try: grpcurl -plaintext {specs[0].address} list   "
            "Press Ctrl-C to stop."
        )
        if ready_event is not None:
            ready_event.set()
        exited = asyncio.ensure_future(suite.wait_for_exit())
        interrupted = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        interrupted.cancel()
        if exited.done():
            entry = exited.result()
            console.print(f"[red]{entry.spec.name} stopped unexpectedly ({entry.status()}).[/red]")
            _show_failures(console, suite)
            return 1
        exited.cancel()
        return 0
    finally:
        with console.status("Stopping…"):
            await suite.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        console.print("All services stopped.")
