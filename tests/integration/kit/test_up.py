"""``paved up``: wiring between services, health waiting against real servers, and a whole run."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
from paved_client.up import (
    ServiceSpec,
    Suite,
    run_up,
    select,
    service_environment,
    suite_specs,
    wait_grpc_serving,
)
from paved_kit.server import GrpcServer
from rich.console import Console

DEMO_PATH = Path(__file__).with_name("demo")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_every_service_learns_where_the_others_are(tmp_path: Path) -> None:
    suite = suite_specs(base_port=6000, gateway_port=9000)
    by_name = {spec.name: spec for spec in suite}
    assert [spec.port for spec in suite] == [6000, 6001, 6002, 6003, 6004, 9000]

    provisioning = service_environment(by_name["provisioning"], suite, tmp_path)
    assert provisioning["PAVED_PROVISIONING_PORT"] == "6001"
    assert provisioning["PAVED_PROVISIONING_CATALOG_ADDRESS"] == "127.0.0.1:6000"
    assert provisioning["PAVED_PROVISIONING_ALERTING_ADDRESS"] == "127.0.0.1:6004"
    assert (
        provisioning["PAVED_PROVISIONING_DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path}/provisioning.db"
    )
    assert "PAVED_PROVISIONING_PROVISIONING_ADDRESS" not in provisioning

    gateway = service_environment(by_name["gateway"], suite, tmp_path)
    assert gateway["PAVED_GATEWAY_PORT"] == "9000"
    assert gateway["PAVED_GATEWAY_COST_ADDRESS"] == "127.0.0.1:6003"

    assert [spec.name for spec in select(suite, ["policy", "gateway"])] == ["policy", "gateway"]
    with pytest.raises(ValueError, match="unknown service"):
        select(suite, ["billing"])


async def test_health_wait_sees_serving_and_not_serving(echo_server: GrpcServer) -> None:
    healthy = await wait_grpc_serving(echo_server.address, within=5)
    assert healthy.healthy

    await echo_server.health.enter_graceful_shutdown()
    draining = await wait_grpc_serving(echo_server.address, within=0.5, interval=0.1)
    assert not draining.healthy
    assert "NOT_SERVING" in draining.detail


async def test_health_wait_gives_up_on_silence_and_on_exit() -> None:
    address = f"127.0.0.1:{_free_port()}"
    silent = await wait_grpc_serving(address, within=0.5, interval=0.1)
    assert not silent.healthy
    assert "UNAVAILABLE" in silent.detail

    exited = await wait_grpc_serving(address, within=30, alive=lambda: False)
    assert exited == type(exited)(False, "exited")


def _demo_environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> dict[str, str]:
    monkeypatch.syspath_prepend(str(DEMO_PATH))
    path = os.pathsep.join(filter(None, [str(DEMO_PATH), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PAVED_DEMO_GRACE_PERIOD_SECONDS": "0", **values}


async def test_up_starts_waits_and_stops_the_suite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    demo = ServiceSpec("demo", "paved_demo", "grpc", _free_port())
    stop, ready = asyncio.Event(), asyncio.Event()
    console = Console(record=True, width=200)
    running = asyncio.create_task(
        run_up(
            [demo],
            data_dir=tmp_path,
            startup_timeout=20,
            console=console,
            environment=_demo_environment(monkeypatch),
            stop_event=stop,
            ready_event=ready,
        )
    )
    await asyncio.wait_for(ready.wait(), timeout=20)
    assert (await wait_grpc_serving(demo.address, within=1)).healthy
    stop.set()
    assert await asyncio.wait_for(running, timeout=20) == 0

    output = console.export_text()
    assert "healthy" in output and demo.address in output
    assert (tmp_path / "demo.db").exists()
    assert '"event": "service stopped"' in (tmp_path / "logs" / "demo.log").read_text()


async def test_up_reports_a_service_that_cannot_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = ServiceSpec("demo", "paved_demo", "grpc", _free_port())
    missing = ServiceSpec("ghost", "paved_ghost", "grpc", _free_port())
    console = Console(record=True, width=200)
    code = await run_up(
        [broken, missing],
        data_dir=tmp_path,
        startup_timeout=20,
        console=console,
        environment=_demo_environment(monkeypatch, PAVED_DEMO_LOG_FORMAT="xml"),
    )
    output = console.export_text()
    assert code == 1
    assert "exited with code 2" in output
    assert "PAVED_DEMO_LOG_FORMAT" in output  # its last log lines are shown
    assert "not available (no paved_ghost.__main__)" in output


async def test_stop_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = ServiceSpec("stubborn", "paved_stubborn", "grpc", _free_port())
    suite = Suite([stubborn], data_dir=tmp_path)
    entry = suite.running[0]
    ignore_sigterm = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('up', flush=True)\n"
        "time.sleep(60)\n"
    )
    entry.process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        ignore_sigterm,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert entry.process.stdout is not None
    await entry.process.stdout.readline()
    await suite.stop(patience=0.5)
    assert entry.process.returncode is not None and entry.process.returncode < 0
