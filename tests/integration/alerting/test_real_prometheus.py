"""Metrics read from a real Prometheus (Debian's `prometheus` package, which also ships promtool) scraping a
service that exports the standard metric names: the PromQL works and the values arrive as samples."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_alerting.clock import ManualClock
from paved_alerting.metrics import METRICS

StartAlerting = Callable[..., Awaitable[Any]]
REQUESTS_PER_SECOND = 100
ERROR_SHARE = 0.1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def exposition(elapsed: float) -> str:
    """What a service's /metrics says after ``elapsed`` seconds: 100 requests/s, 10% of them 5xx, every
    request between 0.5 s and 2 s. The `service` label comes from the scrape target."""
    total = REQUESTS_PER_SECOND * elapsed
    errors = total * ERROR_SHARE
    return "\n".join(
        [
            "# TYPE http_requests_total counter",
            f'http_requests_total{{code="200"}} {total - errors}',
            f'http_requests_total{{code="500"}} {errors}',
            "# TYPE http_request_duration_seconds histogram",
            'http_request_duration_seconds_bucket{le="0.5"} 0',
            f'http_request_duration_seconds_bucket{{le="2"}} {total}',
            f'http_request_duration_seconds_bucket{{le="+Inf"}} {total}',
            f"http_request_duration_seconds_sum {total}",
            f"http_request_duration_seconds_count {total}",
            "",
        ]
    )


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus scraping a checkout service every second; yields its URL once rates exist."""
    binary = shutil.which("prometheus")
    if binary is None:
        message = "prometheus not found: install Debian's `prometheus` package"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{message}; CI is set, so this is an error", pytrace=False)
        pytest.skip(message)
    started = time.monotonic()

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exposition(time.monotonic() - started).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    service = ThreadingHTTPServer(("127.0.0.1", 0), Metrics)
    threading.Thread(target=service.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    directory = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "checkout",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{service.server_address[1]}"], "labels": {"service": "checkout"}}
                ],
            }
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={Path(directory) / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        query = METRICS["error_rate"].query()
        while True:
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": query}, timeout=2).json()
                if answer["data"]["result"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("Prometheus did not start scraping in time")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        service.shutdown()
        service.server_close()


async def test_rules_evaluate_on_metrics_from_prometheus(
    prometheus: str, start_alerting: StartAlerting
) -> None:
    now = time.time()
    alerting = await start_alerting(clock=ManualClock(now), prometheus_url=prometheus)
    stub = alerting.stub
    await stub.CreateDefaultAlerts(pb.CreateDefaultAlertsRequest(service="checkout", team="payments"))
    when = timestamp_pb2.Timestamp()
    when.FromNanoseconds(int(now * 1e9))
    response = await stub.EvaluateRules(pb.EvaluateRulesRequest(time=when))
    # 10% errors and a p99 near 2 s: both go pending; the target is up, so Service Down stays quiet.
    assert {(a.labels["alertname"], a.state) for a in response.transitions} == {
        ("HighErrorRate", pb.ALERT_STATE_PENDING),
        ("HighLatency", pb.ALERT_STATE_PENDING),
    }
    health = await stub.GetServiceHealth(pb.GetServiceHealthRequest(service="checkout"))
    assert health.status == pb.HEALTH_STATUS_HEALTHY
    assert health.error_rate == pytest.approx(ERROR_SHARE, rel=0.05)
    # rate() over 5m of a series only seconds old divides the increase by the whole window, so the
    # request rate reads low until the window fills; the ratios above are exact regardless.
    assert 0 < health.requests_per_second <= REQUESTS_PER_SECOND * 1.1
    assert health.latency_p99 == pytest.approx(1985, rel=0.01)
