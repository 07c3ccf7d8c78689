"""Forwarding to a real Alertmanager (Debian's `prometheus-alertmanager`), which then notifies a webhook:
our alerts are accepted, and the webhook payload Alertmanager sends has the shape ours has."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import yaml
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.fingerprint import fingerprint

StartAlerting = Callable[..., Awaitable[Any]]
Recorders = Callable[[], Any]
T0 = 1_800_000_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest_asyncio.fixture
async def alertmanager(tmp_path: Path, http_recorder: Recorders) -> AsyncIterator[tuple[str, Any]]:
    """A real Alertmanager on 127.0.0.1 routing everything to a recording webhook."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("Alertmanager not found: install Debian's `prometheus-alertmanager` package")
    hook = http_recorder()
    config = {
        "route": {
            "receiver": "hook",
            "group_by": ["alertname", "service"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "hook", "webhook_configs": [{"url": f"{hook.url}/am", "send_resolved": True}]}
        ],
    }
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{url}/-/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
            else:
                pytest.fail("Alertmanager did not become ready")
        yield url, hook
    finally:
        process.terminate()
        await process.wait()


async def test_a_real_alertmanager_accepts_our_alerts_and_notifies_like_we_do(
    alertmanager: tuple[str, Any], start_alerting: StartAlerting, http_recorder: Recorders
) -> None:
    url, am_hook = alertmanager
    alerting = await start_alerting(alertmanager_url=url)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    # Alertmanager judges endsAt by its own clock, so this test evaluates at the real time.
    now = int(time.time())
    for offset in (0, 60):
        when = timestamp_pb2.Timestamp(seconds=now - 60 + offset)
        sample = pb.MetricSample(service="checkout", metric="up", value=0, time=when)
        await stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
        await stub.EvaluateRules(pb.EvaluateRulesRequest(time=when))

    [notified] = await am_hook.wait_for(1, within=20)
    payload = notified.body
    assert payload["version"] == "4" and payload["status"] == "firing" and payload["receiver"] == "hook"
    [alert] = payload["alerts"]
    labels = {
        "alertname": "ServiceDown",
        "service": "checkout",
        "environment": "development",
        "team": "payments",
        "severity": "critical",
    }
    assert alert["labels"] == labels
    # Our fingerprint is Alertmanager's.
    assert alert["fingerprint"] == fingerprint(labels)

    # The webhook payload we send directly has the same keys, for the body and for each alert. (A second
    # instance on the same database, so another service: this one's alert is already firing there.)
    ours = http_recorder()
    direct = await start_alerting(default_webhook_url=ours.url)
    await direct.stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="search", team="payments"))
    for offset in (0, 60):
        when = timestamp_pb2.Timestamp(seconds=T0 + offset)
        sample = pb.MetricSample(service="search", metric="up", value=0, time=when)
        await direct.stub.IngestSamples(iter([pb.IngestSamplesRequest(samples=[sample])]))
        await direct.stub.EvaluateRules(pb.EvaluateRulesRequest(time=when))
    # That instance also reports checkout resolved: the samples it was firing on live in the other one.
    received = await ours.wait_for(2)
    [mine] = [r for r in received if r.body["groupLabels"]["service"] == "search"]
    # Both instances deliver from the same outbox; each notification still arrives once.
    await asyncio.sleep(0.3)
    assert len(ours.received) == 2
    assert set(mine.body) == set(payload)
    assert set(mine.body["alerts"][0]) == set(alert)
    assert payload["groupKey"] == '{}:{alertname="ServiceDown", service="checkout"}'
    assert mine.body["groupKey"] == '{}:{alertname="ServiceDown", service="search"}'
    assert set(mine.body["groupLabels"]) == set(payload["groupLabels"])
    assert set(mine.body["commonLabels"]) == set(payload["commonLabels"])
