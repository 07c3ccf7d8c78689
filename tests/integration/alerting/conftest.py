"""Fixtures of the alerting integration tests: the real service on a real gRPC server, a controllable clock,
and real HTTP servers standing in for webhook receivers, Alertmanager and Prometheus."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import pytest_asyncio
from paved.alerting.v1 import alerting_pb2_grpc
from paved_alerting.app import AlertingApp, build_app
from paved_alerting.clock import ManualClock
from paved_alerting.settings import AlertingSettings
from paved_kit.db import create_engine
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory
from sqlalchemy.ext.asyncio import AsyncEngine

T0 = 1_800_000_000.0


@dataclass
class Received:
    """One request an HTTP test server got."""

    method: str
    path: str
    body: Any


@dataclass
class HttpRecorder:
    """A real HTTP server that records requests and answers with the statuses it is told to."""

    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default_status: int = 200
    responder: Callable[[str, str, Any], tuple[int, Any]] | None = None
    attempts: int = 0

    async def wait_for(self, count: int, within: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests were answered with success; returns them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.received) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
            await asyncio.sleep(0.02)
        return list(self.received)


def _serve(recorder: HttpRecorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            recorder.attempts += 1
            if recorder.responder is not None:
                status, payload = recorder.responder(method, self.path, body)
            else:
                status = recorder.statuses.pop(0) if recorder.statuses else recorder.default_status
                payload = {}
            if 200 <= status < 300:
                recorder.received.append(Received(method, self.path, body))
            answer = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def http_recorder() -> Iterator[Callable[[], HttpRecorder]]:
    """Start real HTTP servers on 127.0.0.1; each records what it gets."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> HttpRecorder:
        recorder = HttpRecorder(url="")
        servers.append(_serve(recorder))
        return recorder

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@dataclass
class Alerting:
    """A running alerting service and a stub to call it."""

    app: AlertingApp
    server: GrpcServer
    stub: alerting_pb2_grpc.AlertingServiceStub
    clock: ManualClock
    database: AsyncEngine
    stop: Callable[[], Awaitable[None]]


StartAlerting = Callable[..., Awaitable[Alerting]]


@pytest_asyncio.fixture
async def start_alerting(
    database_url: str, grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> AsyncIterator[StartAlerting]:
    """``await start_alerting(clock=..., **settings)``: the alerting service on the test's database."""
    stops: list[Callable[[], Awaitable[None]]] = []

    async def start(clock: ManualClock | None = None, **overrides: Any) -> Alerting:
        clock = clock or ManualClock(T0)
        values: dict[str, Any] = {
            "database_url": database_url,
            "port": 0,
            "evaluation_interval_seconds": 0,
            "retry_initial_seconds": 0.05,
            "retry_max_seconds": 0.2,
            "notification_poll_seconds": 0.05,
            "grace_period_seconds": 0,
            "external_url": "https://portal.example",
            **overrides,
        }
        settings = AlertingSettings(**values)
        database = create_engine(settings.database_url)
        app = await build_app(settings, database, clock)
        server = await grpc_server_factory(app.register, name="alerting", settings=settings)
        app.start_background()
        stopped = False

        async def stop() -> None:
            nonlocal stopped
            if stopped:
                return
            stopped = True
            await server.stop(grace=0)
            await app.close()
            await database.dispose()

        stops.append(stop)
        stub = alerting_pb2_grpc.AlertingServiceStub(grpc_channel_factory(server))
        return Alerting(app, server, stub, clock, database, stop)

    yield start
    for stop in reversed(stops):
        await stop()


@pytest.fixture
def promtool() -> str:
    """Path of promtool (Debian package `prometheus`); skipped locally without it, a failure in CI."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool not found: install Debian's `prometheus` package (apt-get install prometheus)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI is set, so this is an error", pytrace=False)
        pytest.skip(message)
    return path
