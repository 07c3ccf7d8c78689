"""``python -m paved_catalog`` starts with no configuration beyond a port, serves health and the
built-in golden paths, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.client import create_channel


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_serves_with_embedded_defaults_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_CATALOG_")}
    env["PAVED_CATALOG_PORT"] = str(port)
    process = subprocess.Popen(  # noqa: ASYNC220 - one short-lived child
        [sys.executable, "-m", "paved_catalog"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    channel = create_channel(f"127.0.0.1:{port}", default_timeout=2.0, retry=False)
    try:
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                status = await health.Check(health_pb2.HealthCheckRequest(service=""))
                if status.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except Exception:
                assert time.monotonic() < deadline, "the catalog did not become healthy"
            await asyncio.sleep(0.2)
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        listed = await stub.ListTemplates(catalog_pb2.ListTemplatesRequest())
        assert [t.name for t in listed.templates] == [
            "templates/background-worker",
            "templates/scheduled-job",
            "templates/web-service",
        ]
        assert (tmp_path / ".paved" / "catalog.db").is_file()
    finally:
        await channel.close()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
