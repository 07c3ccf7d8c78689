"""``paved up``: run the whole suite on this machine, each service a subprocess on 127.0.0.1, as a dev server.

Every service gets the addresses of the others through ``PAVED_<SERVICE>_<OTHER>_ADDRESS`` variables
(a service ignores the ones it does not use), its database (SQLite under the data directory, or its own
database on a PostgreSQL server), and its log appended to ``<data dir>/logs/<service>.log``; the GitOps
repository is in the data directory too. Before starting, ``up`` names ports already taken and services
left running by an earlier run. It waits until each gRPC service reports SERVING on the standard health
service (and the gateway answers ``GET /healthz``), prints where everything listens, restarts a service
that crashes (with backoff, and says so), and stops everything on Ctrl-C, SIGTERM or SIGHUP. The services
die with it however it dies, SIGKILL included (the kernel's parent-death signal).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import grpc
import grpc.aio
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved_kit.cancellation import wait_event
from paved_kit.client import create_channel
from paved_kit.settings import default_sqlite_url
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from paved_client import up_databases, up_preflight
from paved_client.commands.feedback import Elapsed
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
# A crashed service is restarted after 1, 2, 4, ... s (at most MAX_BACKOFF); after MAX_RESTARTS crashes in a
# row, each within STABLE_AFTER seconds of its start, the suite gives up on it and stops.
MAX_BACKOFF = 30.0
MAX_RESTARTS = 5
STABLE_AFTER = 60.0
PR_SET_PDEATHSIG = 1

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


def service_environment(
    spec: ServiceSpec,
    suite: Sequence[ServiceSpec],
    data_dir: Path,
    *,
    database_url: str | None = None,
    inherited: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables ``spec`` is started with: where it listens, its database, where the others are.

    The database: ``PAVED_<SERVICE>_DATABASE_URL`` when the caller's environment (``inherited``) sets it,
    else the service's own database on the ``database_url`` server, else SQLite under ``data_dir``.
    """
    prefix = spec.env_prefix
    inherited = inherited or {}
    if inherited.get(f"{prefix}DATABASE_URL"):
        database = inherited[f"{prefix}DATABASE_URL"]
    elif database_url:
        database = up_databases.service_database_url(database_url, spec.name)
    else:
        database = default_sqlite_url(spec.name, data_dir)
    env = {
        f"{prefix}HOST": spec.host,
        f"{prefix}PORT": str(spec.port),
        f"{prefix}DATABASE_URL": database,
        f"{prefix}DATA_DIR": str(data_dir),
    }
    if spec.name == "provisioning" and not inherited.get(f"{prefix}GITOPS_REPOSITORY"):
        env[f"{prefix}GITOPS_REPOSITORY"] = str(data_dir / "gitops.git")
    if spec.name == "catalog" and not inherited.get(f"{prefix}BACKSTAGE_LOCATION_URL"):
        gateway = next((other for other in suite if other.protocol == "http"), None)
        if gateway is not None:
            env[f"{prefix}BACKSTAGE_LOCATION_URL"] = f"{gateway.url}/api/backstage/entities"
    for other in suite:
        if other.name != spec.name:
            env[f"{prefix}{other.name.upper()}_ADDRESS"] = other.address
    return env


def _die_with_parent(parent: int) -> Callable[[], None]:
    """For the child, between fork and exec: ask the kernel for SIGTERM when ``up`` dies, however it dies.

    libc's prctl is looked up here, in the parent: the child only calls it (no loading between fork and exec).
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: Ctrl-C, SIGTERM and SIGHUP still stop the services
        prctl = None

    def arrange() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # up died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return arrange


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
    started_at: float = 0.0
    restarts: int = 0
    crashes_in_a_row: int = 0

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
    """Starts, watches, restarts and stops the service processes."""

    def __init__(
        self,
        specs: Sequence[ServiceSpec],
        *,
        data_dir: Path,
        environment: Mapping[str, str] | None = None,
        python: str = sys.executable,
        database_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.specs = list(specs)
        self.environment = dict(os.environ if environment is None else environment)
        self.python = python
        self.database_url = database_url
        self.wiring: list[ServiceSpec] = list(specs)
        self.running = [Running(spec, self.data_dir / "logs" / f"{spec.name}.log") for spec in self.specs]

    async def start(self, *, wiring: Sequence[ServiceSpec] | None = None) -> None:
        """Start every runnable service; ``wiring`` lists every service whose address to pass around."""
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.wiring = list(wiring) if wiring is not None else self.specs
        for entry in self.running:
            if not is_runnable(entry.spec.module):
                entry.health = Health(False, f"not available (no {entry.spec.module}.__main__)")
                continue
            await self.spawn(entry)

    async def spawn(self, entry: Running) -> None:
        """Start (or restart) one service, appending to its log and recording its pid file."""
        env = {
            **self.environment,
            **service_environment(
                entry.spec,
                self.wiring,
                self.data_dir,
                database_url=self.database_url,
                inherited=self.environment,
            ),
            "PYTHONUNBUFFERED": "1",
        }
        if entry.log_file is None:
            # Appended, never truncated: the log of the run (or the crash) before is still there to read.
            entry.log_file = entry.log_path.open("ab")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        entry.log_file.write(f"----- paved up: starting {entry.spec.name} at {stamp} -----\n".encode())
        entry.log_file.flush()
        entry.health = None
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
            preexec_fn=_die_with_parent(os.getpid()),
        )
        entry.started_at = time.monotonic()
        up_preflight.write_pid_file(self.data_dir, entry.spec.name, entry.spec.module, entry.process.pid)

    async def wait_one_healthy(self, entry: Running, *, within: float) -> None:
        if entry.process is None:
            return
        if entry.spec.protocol == "grpc":
            entry.health = await wait_grpc_serving(entry.spec.address, within=within, alive=entry.alive)
        else:
            entry.health = await wait_http_ok(f"{entry.spec.url}/healthz", within=within, alive=entry.alive)

    async def wait_healthy(self, *, within: float) -> bool:
        """Wait for every started service to become healthy; True when all of them are."""
        await asyncio.gather(*(self.wait_one_healthy(entry, within=within) for entry in self.running))
        return all(entry.health is not None and entry.health.healthy for entry in self.running)

    async def wait_for_exit(self) -> Running:
        """Return the first service whose process exits."""
        waits = {
            asyncio.ensure_future(entry.process.wait()): entry
            for entry in self.running
            if entry.process is not None and entry.alive()
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
            if entry.process is not None:
                up_preflight.remove_pid_file(self.data_dir, entry.spec.name)
            if entry.log_file is not None:
                entry.log_file.close()
                entry.log_file = None


def _signal_group(entry: Running, sig: signal.Signals) -> None:
    if entry.process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(entry.process.pid, sig)


def backoff(crashes_in_a_row: int) -> float:
    """Seconds before restarting after the n-th crash in a row: 1, 2, 4, ... up to MAX_BACKOFF."""
    return float(min(MAX_BACKOFF, 2 ** max(0, crashes_in_a_row - 1)))


def status_table(suite: Suite) -> Table:
    """What runs where, and how it is doing (fits 80 columns: the logs' folder is printed under it)."""
    table = Table(title="Paved suite", title_justify="left")
    table.add_column("Service", style="bold", no_wrap=True)
    table.add_column("Listens on", no_wrap=True)
    table.add_column("Status")
    table.add_column("PID", justify="right", no_wrap=True)
    for entry in suite.running:
        status = entry.status()
        style = "green" if status == "healthy" else "yellow" if status == "starting" else "red"
        pid = str(entry.process.pid) if entry.process is not None else "-"
        table.add_row(entry.spec.name, entry.spec.url, f"[{style}]{escape(status)}[/{style}]", pid)
    return table


def _short(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def _show_failures(console: Console, suite: Suite) -> None:
    for entry in suite.running:
        if entry.process is None or entry.status() == "healthy":
            continue
        _show_tail(console, entry)


def _show_tail(console: Console, entry: Running) -> None:
    tail = entry.tail() or "(no output)"
    console.print(
        Panel(
            escape(tail),
            title=f"{entry.spec.name}: last log lines ({_short(entry.log_path)})",
            border_style="red",
        )
    )


def preflight(suite: Suite) -> list[str]:
    """Problems that stop ``up`` before it starts anything: leftovers of an earlier run, ports in use."""
    problems = []
    found = up_preflight.leftovers(suite.data_dir, suite.specs)
    for leftover in found:
        problems.append(
            f"{leftover.service} from an earlier `paved up` is still running (pid {leftover.pid}, "
            f"pid file {_short(leftover.pid_file)})"
        )
    if found:
        pids = " ".join(str(leftover.pid) for leftover in found)
        problems.append(f"stop them with: kill {pids}   (then run paved up again)")
        return problems
    return problems + up_preflight.busy_ports([entry.spec for entry in suite.running])


async def _restart(
    console: Console, suite: Suite, entry: Running, stop: asyncio.Event, within: float
) -> bool:
    """Restart a crashed service after its backoff; False when it crashed too often to go on."""
    ran_for = time.monotonic() - entry.started_at
    entry.crashes_in_a_row = 1 if ran_for >= STABLE_AFTER else entry.crashes_in_a_row + 1
    code = entry.process.returncode if entry.process is not None else None
    if entry.crashes_in_a_row > MAX_RESTARTS:
        console.print(
            f"[red]{entry.spec.name} exited with code {code} {MAX_RESTARTS + 1} times in a row; "
            "giving up.[/red]"
        )
        _show_tail(console, entry)
        return False
    delay = backoff(entry.crashes_in_a_row)
    console.print(
        f"[yellow]{entry.spec.name} exited with code {code} after {ran_for:.0f}s; "
        f"restarting in {delay:g}s (restart {entry.restarts + 1}).[/yellow]"
    )
    if await wait_event(stop, delay):
        return True
    entry.restarts += 1
    await suite.spawn(entry)
    await suite.wait_one_healthy(entry, within=within)
    if entry.health is not None and entry.health.healthy:
        console.print(
            f"[green]{entry.spec.name} is back (pid {entry.process.pid if entry.process else '-'}).[/green]"
        )
    else:
        console.print(f"[red]{entry.spec.name} did not come back: {escape(entry.status())}.[/red]")
    return True


async def run_up(
    specs: Sequence[ServiceSpec],
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    console: Console | None = None,
    wiring: Sequence[ServiceSpec] | None = None,
    environment: Mapping[str, str] | None = None,
    database_url: str | None = None,
    stop_event: asyncio.Event | None = None,
    ready_event: asyncio.Event | None = None,
) -> int:
    """Start ``specs``, wait until healthy, serve until Ctrl-C/SIGTERM/SIGHUP (or ``stop_event``); exit code.

    ``database_url`` (a PostgreSQL server) gives each service its own database there, created if missing.
    ``ready_event`` is set once every service is healthy and the table is printed.
    """
    console = console or Console()
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    suite = Suite(specs, data_dir=data_dir, environment=environment, database_url=database_url)
    problems = preflight(suite)
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/red] {escape(problem)}")
        console.print("[red]Nothing was started.[/red]")
        for sig in installed:
            loop.remove_signal_handler(sig)
        return 1
    if database_url:
        try:
            created = await up_databases.ensure_databases(database_url, [spec.name for spec in specs])
        except Exception as exc:
            server = escape(_safe_url(database_url))
            console.print(f"[red]✗ cannot prepare the databases on {server}: {escape(str(exc))}[/red]")
            for sig in installed:
                loop.remove_signal_handler(sig)
            return 1
        if created:
            console.print(f"Created database(s) {', '.join(created)} on {escape(_safe_url(database_url))}.")
    try:
        await suite.start(wiring=wiring)
        with _waiting(console, f"Starting {len(specs)} service(s)…"):
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

        where = _safe_url(database_url) if database_url else f"{_short(suite.data_dir)}/*.db"
        console.print(f"Logs: {_short(suite.data_dir / 'logs')}/   Databases: {escape(where)}")
        console.print(f"Try: grpcurl -plaintext {specs[0].address} list   Press Ctrl-C to stop.")
        if ready_event is not None:
            ready_event.set()
        while True:
            exited = asyncio.ensure_future(suite.wait_for_exit())
            interrupted = asyncio.ensure_future(stop.wait())
            await asyncio.wait({exited, interrupted}, return_when=asyncio.FIRST_COMPLETED)
            interrupted.cancel()
            if not exited.done():
                exited.cancel()
                return 0
            if not await _restart(console, suite, exited.result(), stop, startup_timeout):
                return 1
    finally:
        with _waiting(console, "Stopping…"):
            await suite.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
        console.print("All services stopped.")


def _waiting(console: Console, label: str) -> Live:
    """A spinner with the seconds elapsed since the wait began (drawn on terminals only)."""
    return Live(Elapsed(label), console=console, refresh_per_second=10, transient=True)


def _safe_url(url: str | None) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url or "").render_as_string(hide_password=True)
