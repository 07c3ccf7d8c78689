"""``paved up`` as a dev server, with real processes: its services die with it however it dies, a crashed
service comes back, a taken port and an earlier run's leftovers are named before anything starts, logs are
appended, the data dir holds everything, and the suite runs on PostgreSQL with a database per service."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paved_client import up as up_module
from paved_client.up import ServiceSpec, run_up, service_environment, suite_specs, wait_grpc_serving
from rich.console import Console

DEMO_PATH = Path(__file__).with_name("demo")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(**values: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(DEMO_PATH), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PAVED_DEMO_GRACE_PERIOD_SECONDS": "0", **values}


@pytest.fixture(autouse=True)
def demo_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(DEMO_PATH))  # `up` checks the module can run before starting it


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except OSError:
        return False


def _child_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "run" / "demo.pid").read_text())["pid"])


def _wait_for(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_services_die_with_up_however_it_dies(tmp_path: Path, sig: signal.Signals) -> None:
    up = subprocess.Popen(
        [sys.executable, str(DEMO_PATH / "run_demo_up.py"), str(_free_port()), str(tmp_path)],
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        seen = []
        for line in up.stdout:
            seen.append(line)
            if "Press Ctrl-C" in line:
                break
        else:
            pytest.fail("".join(seen))
        child = _child_pid(tmp_path)
        assert _alive(child)
        up.send_signal(sig)
        assert _wait_for(lambda: not _alive(child), 20), f"demo (pid {child}) outlived paved up ({sig.name})"
    finally:
        up.kill()
        up.wait()


async def _start(
    tmp_path: Path, console: Console, **kwargs: object
) -> tuple[asyncio.Task[int], asyncio.Event]:
    demo = ServiceSpec("demo", "paved_demo", "grpc", _free_port())
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_up(
            [demo],
            data_dir=tmp_path,
            startup_timeout=60,
            console=console,
            environment=_environment(),
            stop_event=stop,
            ready_event=ready,
            **kwargs,  # type: ignore[arg-type]
        )
    )
    await asyncio.wait_for(ready.wait(), timeout=60)
    return task, stop


async def test_a_crashed_service_is_restarted_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(up_module, "backoff", lambda crashes: 0.2)
    console = Console(record=True, width=120)
    task, stop = await _start(tmp_path, console)
    first = _child_pid(tmp_path)
    os.kill(first, signal.SIGKILL)
    assert await asyncio.to_thread(_wait_for, lambda: "is back" in console.export_text(clear=False), 60)
    second = _child_pid(tmp_path)
    assert second != first and _alive(second)
    stop.set()
    assert await asyncio.wait_for(task, timeout=30) == 0

    output = console.export_text()
    assert "demo exited with code -9" in output and "restarting in" in output
    log = (tmp_path / "logs" / "demo.log").read_text()
    assert log.count("paved up: starting demo") == 2  # appended across the restart, not truncated
    assert not (tmp_path / "run" / "demo.pid").exists()


async def test_a_service_that_keeps_crashing_stops_the_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(up_module, "backoff", lambda crashes: 0.1)
    monkeypatch.setattr(up_module, "MAX_RESTARTS", 1)
    console = Console(record=True, width=120)
    task, _stop = await _start(tmp_path, console)
    os.kill(_child_pid(tmp_path), signal.SIGKILL)
    assert await asyncio.to_thread(_wait_for, lambda: "is back" in console.export_text(clear=False), 60)
    os.kill(_child_pid(tmp_path), signal.SIGKILL)
    assert await asyncio.wait_for(task, timeout=60) == 1
    assert "2 times in a row; giving up" in console.export_text()


async def test_a_port_in_use_is_named_with_the_option_that_moves_it(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        console = Console(record=True, width=200)
        started = time.monotonic()
        code = await run_up(
            [ServiceSpec("demo", "paved_demo", "grpc", port)],
            data_dir=tmp_path,
            console=console,
            environment=_environment(),
        )
    assert code == 1 and time.monotonic() - started < 5
    output = console.export_text()
    assert f"port {port} on 127.0.0.1, where demo should listen, is already in use" in output
    assert "--base-port" in output and "Nothing was started" in output
    assert not (tmp_path / "logs" / "demo.log").exists()


async def test_leftovers_of_an_earlier_run_are_named(tmp_path: Path) -> None:
    # A process that looks like the demo service (its command line names the module), recorded as running.
    leftover = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)", "paved_demo"
    )
    try:
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "demo.pid").write_text(json.dumps({"pid": leftover.pid, "module": "paved_demo"}))
        console = Console(record=True, width=200)
        code = await run_up(
            [ServiceSpec("demo", "paved_demo", "grpc", _free_port())], data_dir=tmp_path, console=console
        )
        output = console.export_text()
        assert code == 1
        assert f"demo from an earlier `paved up` is still running (pid {leftover.pid}" in output
        assert f"kill {leftover.pid}" in output
    finally:
        leftover.kill()
        await leftover.wait()


async def test_a_stale_pid_file_does_not_block(tmp_path: Path) -> None:
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "demo.pid").write_text(json.dumps({"pid": gone.pid, "module": "paved_demo"}))
    console = Console(record=True, width=120)
    task, stop = await _start(tmp_path, console)
    stop.set()
    assert await asyncio.wait_for(task, timeout=30) == 0


def test_the_data_dir_holds_the_gitops_repository_and_links_name_the_gateway(tmp_path: Path) -> None:
    suite = suite_specs(base_port=6000, gateway_port=9000)
    by_name = {spec.name: spec for spec in suite}
    provisioning = service_environment(by_name["provisioning"], suite, tmp_path)
    assert provisioning["PAVED_PROVISIONING_GITOPS_REPOSITORY"] == str(tmp_path / "gitops.git")
    catalog = service_environment(by_name["catalog"], suite, tmp_path)
    assert catalog["PAVED_CATALOG_BACKSTAGE_LOCATION_URL"] == "http://127.0.0.1:9000/api/backstage/entities"


def test_database_choice_an_explicit_service_url_wins(tmp_path: Path) -> None:
    suite = suite_specs()
    cost = next(spec for spec in suite if spec.name == "cost")
    server = "postgresql+asyncpg://paved:pw@db:5432/postgres"
    on_server = service_environment(cost, suite, tmp_path, database_url=server)
    assert on_server["PAVED_COST_DATABASE_URL"] == "postgresql+asyncpg://paved:pw@db:5432/paved_cost"
    explicit = {"PAVED_COST_DATABASE_URL": "postgresql+asyncpg://x@y/mine"}
    kept = service_environment(cost, suite, tmp_path, database_url=server, inherited=explicit)
    assert kept["PAVED_COST_DATABASE_URL"] == "postgresql+asyncpg://x@y/mine"
    sqlite = service_environment(cost, suite, tmp_path)
    assert sqlite["PAVED_COST_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path}/cost.db"


@pytest.mark.postgres
async def test_the_suite_runs_on_postgresql_with_a_database_per_service(
    tmp_path: Path, postgres_server_url: str
) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    admin_dsn = (
        make_url(postgres_server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute('DROP DATABASE IF EXISTS "paved_demo" WITH (FORCE)')
    finally:
        await admin.close()
    console = Console(record=True, width=200)
    task, stop = await _start(tmp_path, console, database_url=postgres_server_url)
    try:
        demo_dsn = make_url(postgres_server_url).set(drivername="postgresql", database="paved_demo")
        connection = await asyncpg.connect(demo_dsn.render_as_string(hide_password=False))
        try:
            tables = {row[0] for row in await connection.fetch("SELECT tablename FROM pg_tables")}
        finally:
            await connection.close()
        assert "note" in tables  # the demo service created its table in its own database
    finally:
        stop.set()
        assert await asyncio.wait_for(task, timeout=30) == 0
    assert "Created database(s) paved_demo" in console.export_text()
    assert not await asyncio.to_thread(lambda: list(tmp_path.glob("*.db")))
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute('DROP DATABASE IF EXISTS "paved_demo" WITH (FORCE)')
    finally:
        await admin.close()


async def test_the_table_fits_80_columns_with_every_address_whole(tmp_path: Path) -> None:
    console = Console(record=True, width=80)
    task, stop = await _start(tmp_path, console)
    stop.set()
    assert await asyncio.wait_for(task, timeout=30) == 0
    table = [line for line in console.export_text().splitlines() if "demo" in line and "│" in line]
    assert table and "127.0.0.1:" in table[0]
    assert all(len(line) <= 80 for line in console.export_text().splitlines())
    assert (await wait_grpc_serving(f"127.0.0.1:{_free_port()}", within=0.2)).healthy is False
