"""The whole Paved suite as separate processes on 127.0.0.1 (``paved up``-style), for end-to-end tests
and the gateway benchmark: five gRPC services and the gateway, each ``python -m paved_<name>``."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

GRPC_SERVICES = ("catalog", "provisioning", "policy", "cost", "alerting")
START_TIMEOUT = float(os.environ.get("PAVED_E2E_START_TIMEOUT", "180"))  # a loaded machine needs more


def missing_services() -> list[str]:
    """Services whose ``python -m paved_<name>`` entry point does not exist yet."""
    missing = []
    for name in (*GRPC_SERVICES, "gateway"):
        try:
            spec = importlib.util.find_spec(f"paved_{name}.__main__")
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            missing.append(name)
    return missing


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Suite:
    """Running processes, their ports and where their data and logs are."""

    data_dir: Path
    database_urls: dict[str, str]
    extra_env: dict[str, dict[str, str]]
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        """Base URL of the gateway."""
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def gitops_repository(self) -> Path:
        """The bare GitOps repository provisioning commits to."""
        return self.data_dir / "gitops.git"

    def address(self, name: str) -> str:
        """``127.0.0.1:<port>`` of a gRPC service."""
        return f"127.0.0.1:{self.ports[name]}"

    def log(self, name: str, tail: int | None = 4000) -> str:
        """A process's log (its last ``tail`` characters; None: all of it)."""
        path = self.data_dir / "logs" / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return text if tail is None else text[-tail:]

    def _env(self, name: str) -> dict[str, str]:
        prefix = f"PAVED_{name.upper()}_"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_")}
        env.update(
            {
                f"{prefix}HOST": "127.0.0.1",
                f"{prefix}PORT": str(self.ports[name]),
                f"{prefix}LOG_FORMAT": "json",
                f"{prefix}LOG_LEVEL": "WARNING" if name == "gateway" else "INFO",
            }
        )
        for other in GRPC_SERVICES:
            if other != name:
                env[f"{prefix}{other.upper()}_ADDRESS"] = self.address(other)
        if name in self.database_urls:
            env[f"{prefix}DATABASE_URL"] = self.database_urls[name]
        elif name != "gateway":
            env[f"{prefix}DATABASE_URL"] = f"sqlite+aiosqlite:///{self.data_dir / f'{name}.db'}"
        if name == "provisioning":
            env[f"{prefix}GITOPS_REPOSITORY"] = str(self.gitops_repository)
        env.update(self.extra_env.get(name, {}))
        return env

    def start(self, name: str) -> None:
        """Start one process (again, after stop) and wait until it serves."""
        self._spawn(name)
        self._wait_ready(name)
        if name != "gateway" and "gateway" in self.processes:
            self._wait_gateway_reconnected()

    def _spawn(self, name: str) -> None:
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.ports.setdefault(name, free_port())
        log = open(self.data_dir / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"paved_{name}"],
            env=self._env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
        )
        log.close()

    def _wait_gateway_reconnected(self) -> None:
        """After a restart, wait until the gateway's channels reach every service again."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.gateway_url}/readyz", timeout=3).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the gateway did not reconnect to every service within 15 s")

    def _wait_ready(self, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)}")
            if self._serving(name):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not become ready in {START_TIMEOUT}s:\n{self.log(name)}")

    def _serving(self, name: str) -> bool:
        if name == "gateway":
            try:
                return httpx.get(f"{self.gateway_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        with grpc.insecure_channel(self.address(name)) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.RpcError:
                return False
            return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def stop(self, name: str) -> None:
        """SIGTERM one process and wait for it."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start_all(self) -> None:
        """Allocate every port first (each service needs the others' addresses), then start them."""
        for name in (*GRPC_SERVICES, "gateway"):
            self.ports.setdefault(name, free_port())
        try:
            # The gRPC services start side by side (each only needs the others' addresses, not their
            # presence); the gateway, last, answers /healthz only once it serves.
            for name in GRPC_SERVICES:
                self._spawn(name)
            for name in GRPC_SERVICES:
                self._wait_ready(name)
            self.start("gateway")
        except BaseException:
            self.stop_all()
            raise

    def stop_all(self) -> None:
        """Stop everything, gateway first."""
        for name in ("gateway", *reversed(GRPC_SERVICES)):
            self.stop(name)


def start_suite(
    data_dir: Path,
    *,
    database_urls: Mapping[str, str] | None = None,
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
) -> Suite:
    """Start the five services and the gateway; the caller must stop_all()."""
    data_dir.mkdir(parents=True, exist_ok=True)
    suite = Suite(
        data_dir=data_dir,
        database_urls=dict(database_urls or {}),
        extra_env={k: dict(v) for k, v in (extra_env or {}).items()},
    )
    suite.start_all()
    return suite


def wait_for_operation(client: httpx.Client, operation: str, timeout: float = 60) -> dict[str, Any]:
    """Poll the operation until it is done."""
    deadline = time.monotonic() + timeout
    path = f"/api/operations/{operation.removeprefix('operations/')}"
    while time.monotonic() < deadline:
        response = client.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["done"]:
            return body
        time.sleep(0.1)
    raise AssertionError(f"operation {operation} not done after {timeout}s: {body}")


def create_databases(server_url: str, prefix: str) -> dict[str, str]:
    """A fresh PostgreSQL database per service (``<prefix>_<service>``) on the server of ``server_url``."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    urls = {}
    with psycopg.connect(admin, autocommit=True) as connection:
        for service in GRPC_SERVICES:
            name = f"{prefix}_{service}"
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
            urls[service] = url.set(database=name).render_as_string(hide_password=False)
    return urls


def drop_databases(server_url: str, urls: Mapping[str, str]) -> None:
    """Drop what create_databases made."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for url in urls.values():
            connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
