"""Forecasts and anomalies on the real suite: two weeks of a service's metrics backfilled into alerting
over gRPC, its forecast and scaling schedule through the gateway; an anomaly right after a deploy fires the
service's default anomaly rule naming that deploy as the likely cause, and the gateway and the CLI list it; a
cost spike in FOCUS rows is a cost anomaly naming the SKU."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import grpc
import httpx
import pytest
from click.testing import CliRunner
from e2e_suite import Suite, wait_for_operation
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved_client.cli import main as cli

pytestmark = pytest.mark.timeout(400)
HOUR = 3600
BASE = {"requests_per_second": 200.0, "error_rate": 0.002, "latency_p99": 120.0, "cpu": 1.5}


def level(metric: str, at: float) -> float:
    return BASE[metric] * (1.0 + 0.5 * math.sin(2 * math.pi * ((at % 86400) / HOUR - 9) / 24))


def sample(service: str, metric: str, value: float, at: int) -> alerting_pb2.MetricSample:
    return alerting_pb2.MetricSample(
        service=service, metric=metric, value=value, time=timestamp_pb2.Timestamp(seconds=at)
    )


def backfill(service: str, end: int) -> Iterator[alerting_pb2.IngestSamplesRequest]:
    """Two weeks of the four watched metrics (and 4 replicas), a sample every 20 minutes, up to ``end``."""
    rng = random.Random(11)
    batch = []
    start = end - 14 * 86400
    for t in range(start - start % 1200, end, 1200):
        for metric in BASE:
            batch.append(sample(service, metric, level(metric, t) * (1 + rng.gauss(0, 0.03)), t))
        batch.append(sample(service, "replicas", 4.0, t))
        if len(batch) >= 2000:
            yield alerting_pb2.IngestSamplesRequest(samples=batch)
            batch = []
    yield alerting_pb2.IngestSamplesRequest(samples=batch)


def test_backfilled_service_gets_a_forecast_and_an_anomaly_after_a_deploy_names_the_deploy(
    suite: Suite, payments: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("anomalous")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": {"language": "python"}}
    accepted = payments.post("/api/services", json=body)
    assert accepted.status_code == 202, accepted.text
    assert wait_for_operation(payments, accepted.json()["operation"])["status"] == "succeeded"

    # History up to the start of this hour; the hour itself will hold what follows the deploy.
    now = int(time.time())
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        stub = alerting_pb2_grpc.AlertingServiceStub(channel)
        ingested = stub.IngestSamples(backfill(name, now - now % HOUR), timeout=240)
        assert ingested.rejected == 0 and ingested.history_skipped == 0

        forecast = payments.get(f"/api/services/{name}/forecast", params={"metric": "requests_per_second"})
        assert forecast.status_code == 200, forecast.text
        found = forecast.json()
        assert len(found["points"]) == 24 and found["history_hours"] >= 14 * 24 - 1
        first = found["points"][0]
        assert first["lower"] <= first["mean"] <= first["upper"]
        assert found["backtest"]["folds"] >= 1 and "mase" in found["backtest"]
        schedule = payments.get(f"/api/services/{name}/scaling-schedule")
        assert schedule.status_code == 200, schedule.text
        assert schedule.json()["capacity_source"] == "learned" and len(schedule.json()["hours"]) == 24
        assert schedule.json()["mode"] in ("shadow", "active")

        # Bad input is a 4xx naming the field; another team's service is refused.
        bad = payments.get(f"/api/services/{name}/forecast", params={"metric": "rps"})
        assert bad.status_code == 400 and "metric" in bad.text, bad.text
        assert payments.get(f"/api/services/{name}/forecast", params={"horizon": 0}).status_code == 400
        assert payments.get("/api/services/no-such-service-xyz/anomalies").status_code in (403, 404)
        assert search.get(f"/api/services/{name}/anomalies").status_code == 403

        deployed = payments.post(f"/api/services/{name}/deploy", json={"version": "2.0.0"})
        assert deployed.status_code == 202, deployed.text
        deploy_operation = deployed.json()["operation"]
        wait_for_operation(payments, deploy_operation)

        # Right after the deploy: errors and latency ten times their usual level.
        at = int(time.time())
        spike = [
            sample(
                name, metric, level(metric, at) * (10 if metric in ("error_rate", "latency_p99") else 1), at
            )
            for metric in BASE
        ]
        stub.IngestSamples(iter([alerting_pb2.IngestSamplesRequest(samples=spike)]), timeout=30)
        evaluated = stub.EvaluateRules(alerting_pb2.EvaluateRulesRequest(), timeout=120)

    fired = [t for t in evaluated.transitions if t.service == name and t.display_name == "Anomaly Detected"]
    assert fired and fired[0].state == alerting_pb2.ALERT_STATE_FIRING, evaluated
    cause = fired[0].annotations["likely_cause"]
    assert cause.startswith(f"deploy {deploy_operation}"), cause

    alerts = payments.get(f"/api/services/{name}/alerts").json()["alerts"]
    assert any(a["display_name"] == "Anomaly Detected" and a["state"] == "ALERT_STATE_FIRING" for a in alerts)

    listed = payments.get(f"/api/services/{name}/anomalies", params={"days": 2})
    assert listed.status_code == 200, listed.text
    latest = [a for a in listed.json().get("anomalies", []) if a["metric"] in ("error_rate", "latency_p99")]
    assert latest, listed.json()
    assert latest[-1]["likely_causes"][0]["operation"] == deploy_operation
    assert latest[-1]["likely_causes"][0]["kind"] == "deploy"

    token = payments.headers["authorization"][7:]
    result = CliRunner().invoke(
        cli, ["anomalies", name, "--days", "2", "--json", "--url", suite.gateway_url, "--token", token]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["anomalies"][-1]["likely_causes"][0]["operation"] == deploy_operation
    table = CliRunner().invoke(
        cli, ["anomalies", name, "--days", "2", "--url", suite.gateway_url, "--token", token]
    )
    assert table.exit_code == 0 and "deploy" in table.output, table.output


def focus_row(service: str, day: date, amount: str, sku: str, region: str) -> cost_pb2.FocusRow:
    row = cost_pb2.FocusRow(
        billed_cost=amount,
        effective_cost=amount,
        billing_currency="USD",
        charge_category="Usage",
        provider_name="AWS",
        service_name="Amazon Elastic Compute Cloud",
        sku_id=sku,
        region_id=region,
        tags={"service": service, "team": "payments"},
    )
    first = date(day.year, day.month, 1)
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    row.billing_period_start.FromDatetime(datetime(first.year, first.month, 1, tzinfo=UTC))
    row.billing_period_end.FromDatetime(datetime(following.year, following.month, 1, tzinfo=UTC))
    row.charge_period_start.FromDatetime(datetime(day.year, day.month, day.day, tzinfo=UTC))
    row.charge_period_end.FromDatetime(datetime(day.year, day.month, day.day, 23, tzinfo=UTC))
    return row


def test_a_cost_spike_in_focus_rows_is_a_cost_anomaly_naming_the_sku(
    suite: Suite, payments: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("costly")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": {"language": "python"}}
    accepted = payments.post("/api/services", json=body)
    assert accepted.status_code == 202, accepted.text
    assert wait_for_operation(payments, accepted.json()["operation"])["status"] == "succeeded"

    today = datetime.now(UTC).date()
    spike = today - timedelta(days=1)
    rows = []
    for back in range(20, 0, -1):
        day = today - timedelta(days=back)
        rows.append(focus_row(name, day, "20.00", "BoxUsage:m5.large", "us-east-1"))
        rows.append(
            focus_row(name, day, "300.00" if day == spike else "5.00", "NatGateway-Bytes", "eu-west-1")
        )
    with grpc.insecure_channel(suite.address("cost")) as channel:
        imported = cost_pb2_grpc.CostServiceStub(channel).ImportBilling(
            iter(
                [
                    cost_pb2.ImportBillingRequest(header=cost_pb2.ImportHeader(source=f"e2e-{name}")),
                    cost_pb2.ImportBillingRequest(rows=cost_pb2.FocusRows(rows=rows)),
                ]
            ),
            timeout=60,
        )
    assert (imported.rows_imported, imported.rows_rejected) == (len(rows), 0), imported

    found = payments.get("/api/costs/anomalies", params={"service": name, "days": 7})
    assert found.status_code == 200, found.text
    anomalies = found.json()["anomalies"]
    assert [(a["scope"], a["name"], a["day"], a["kind"]) for a in anomalies] == [
        ("service", name, spike.isoformat(), "spike")
    ], anomalies
    assert (anomalies[0]["drivers"][0]["dimension"], anomalies[0]["drivers"][0]["value"]) == (
        "SkuId",
        "NatGateway-Bytes",
    )
    assert search.get("/api/costs/anomalies", params={"service": name}).status_code == 403
    token = payments.headers["authorization"][7:]
    arguments = [
        "cost-anomalies",
        "--service",
        name,
        "--days",
        "7",
        "--url",
        suite.gateway_url,
        "--token",
        token,
    ]
    listed = CliRunner().invoke(cli, [*arguments, "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)["anomalies"][0]["drivers"][0]["value"] == "NatGateway-Bytes"
    table = CliRunner().invoke(cli, arguments)
    assert table.exit_code == 0 and "320.00 USD" in table.output, table.output
    bad = payments.get("/api/costs/anomalies", params={"days": 0})
    assert bad.status_code == 400 and "days" in bad.text
