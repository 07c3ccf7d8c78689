"""run_service serves until SIGTERM, shuts down cleanly, and refuses bad configuration up front."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved_kit.client import create_channel
from paved_kit.server import GrpcServer
from paved_kit.service import run_service
from paved_kit.settings import BaseServiceSettings
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

DEMO_PATH = Path(__file__).with_name("demo")
DEMO = ["-m", "paved_demo"]


def _env(**values: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(DEMO_PATH), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **values}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_serving(address: str, within: float = 15.0) -> None:
    async with create_channel(address, retry=False, default_timeout=1) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = asyncio.get_running_loop().time() + within
        while True:
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest())
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
            await asyncio.sleep(0.1)


async def test_service_serves_until_sigterm_then_stops_cleanly(tmp_path: Path) -> None:
    port = _free_port()
    env = _env(
        PAVED_DEMO_PORT=str(port),
        PAVED_DEMO_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/data/demo.db",
        PAVED_DEMO_GRACE_PERIOD_SECONDS="1",
        PAVED_DEMO_AUTH_TOKEN="demo-secret-token",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, *DEMO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await _wait_serving(f"127.0.0.1:{port}")
        assert (tmp_path / "data" / "demo.db").exists()
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, output.decode()
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    for expected in ("service ready", "shutdown signal received", "grpc server stopped", "demo cleanup ran"):
        assert expected in events
    assert events.index("grpc server stopped") < events.index("demo cleanup ran")
    assert all(line["service"] == "demo" for line in lines)
    # Start-up's objects are frozen before serving, so full collections while serving skip them.
    assert next(line for line in lines if line["event"] == "demo cleanup ran")["frozen_objects"] > 10_000
    assert "demo-secret-token" not in output.decode()


class DemoSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAVED_DEMO_")

    port: int = 50999


async def _never_built(settings: DemoSettings, engine: AsyncEngine, server: GrpcServer) -> None:
    raise AssertionError("must not be called")


def test_bad_configuration_fails_before_serving(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAVED_DEMO_PORT", "not-a-port")
    monkeypatch.setenv("PAVED_DEMO_LOG_FORMAT", "xml")
    with pytest.raises(SystemExit) as exit_info:
        run_service("demo", DemoSettings, _never_built, argv=[])
    assert exit_info.value.code == 2
    errors = capsys.readouterr().err
    assert "PAVED_DEMO_PORT" in errors
    assert "PAVED_DEMO_LOG_FORMAT" in errors


def test_config_command_prints_masked_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAVED_DEMO_AUTH_TOKEN", "demo-secret-token")
    run_service("demo", DemoSettings, _never_built, argv=["config"])
    settings = json.loads(capsys.readouterr().out)
    assert settings["port"] == 50999
    assert settings["auth_token"] == "**********"
    assert settings["database_url"] == "sqlite+aiosqlite:///.paved/demo.db"
