"""Rightsizing on the real suite: a new service's usage backfilled into alerting over gRPC, its
recommendation read through the gateway and the CLI, team access enforced."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest
from click.testing import CliRunner
from e2e_suite import Suite, wait_for_operation
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_client.cli import main as cli

MIB = 1024**2
# Backfilling nine days of samples and two bakes take longer than the default per-test timeout.
pytestmark = pytest.mark.timeout(300)


def usage(
    service: str, days: int, cpu: float, memory: float, end: int | None = None
) -> Iterator[alerting_pb2.IngestSamplesRequest]:
    """A sample per minute of each metric for ``days`` days up to ``end`` (default: this minute)."""
    end = end if end is not None else int(time.time()) // 60 * 60
    batch = []
    for t in range(end - days * 86400, end, 60):
        for metric, value in (("cpu_usage", cpu), ("memory_working_set", memory)):
            batch.append(
                alerting_pb2.MetricSample(
                    service=service, metric=metric, value=value, time=timestamp_pb2.Timestamp(seconds=t)
                )
            )
        if len(batch) >= 4000:
            yield alerting_pb2.IngestSamplesRequest(samples=batch)
            batch = []
    yield alerting_pb2.IngestSamplesRequest(samples=batch)


def test_a_service_at_ten_percent_gets_a_recommendation_with_evidence(
    suite: Suite,
    payments: httpx.Client,
    search: httpx.Client,
    unique_name: Callable[[str], str],
) -> None:
    name = unique_name("rightsize")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": {"language": "python"}}
    accepted = payments.post("/api/services", json=body)
    assert accepted.status_code == 202, accepted.text
    assert wait_for_operation(payments, accepted.json()["operation"])["status"] == "succeeded"

    # The web-service golden path requests 250m CPU and 256Mi; the service uses a tenth of the CPU.
    end = int(time.time()) // 60 * 60
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        ingested = alerting_pb2_grpc.AlertingServiceStub(channel).IngestSamples(
            usage(name, 9, 0.025, 60 * MIB, end), timeout=120
        )
    assert ingested.rejected == 0 and ingested.history_skipped == 0

    response = payments.get(f"/api/services/{name}/recommendations")
    # The recommendation looks back eight days from now: each minute since the last sample is one fewer
    # (a slow machine spends minutes ingesting), and a few more fall at the window's edges.
    minutes_since_last = (time.time() - end) / 60
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["service"] == name and found["history_source"] == "embedded"
    assert found["changes"] is True and found["decrease_allowed"] is True
    cpu = found["cpu"]
    assert (cpu["current_request"], cpu["recommended_quantity"]) == (0.25, "125m")  # half per step
    assert any("limited to 50%" in reason for reason in cpu["reasons"])
    assert abs(cpu["evidence"]["p95"] - 0.025) < 0.001
    assert 8 * 1440 - minutes_since_last - 5 <= cpu["evidence"]["samples"] <= 8 * 1440 + 1
    # VPA's 250 MiB minimum keeps memory within 10 % of the 256Mi request: no change proposed.
    assert found["memory"]["recommended_request"] == 256 * MIB
    assert found["monthly_savings"]["currency_code"] == "USD"

    assert search.get(f"/api/services/{name}/recommendations").status_code == 403

    result = CliRunner().invoke(
        cli,
        [
            "optimize",
            name,
            "--json",
            "--url",
            suite.gateway_url,
            "--token",
            payments.headers["authorization"][7:],
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["cpu"]["recommended_quantity"] == "125m"
    table = CliRunner().invoke(
        cli, ["optimize", name, "--url", suite.gateway_url, "--token", payments.headers["authorization"][7:]]
    )
    assert table.exit_code == 0 and "250m" in table.output and "125m" in table.output, table.output


def signal(suite: Suite, service: str, metric: str, value: float) -> None:
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        sample = alerting_pb2.MetricSample(
            service=service,
            metric=metric,
            value=value,
            time=timestamp_pb2.Timestamp(seconds=int(time.time())),
        )
        alerting_pb2_grpc.AlertingServiceStub(channel).IngestSamples(
            iter([alerting_pb2.IngestSamplesRequest(samples=[sample])]), timeout=30
        )


def test_closed_loop_guardrail_canary_promotion_and_automatic_rollback(
    suite: Suite, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("loop")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": {"language": "python"}}
    accepted = payments.post("/api/services", json=body)
    assert accepted.status_code == 202, accepted.text
    assert wait_for_operation(payments, accepted.json()["operation"])["status"] == "succeeded"
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        alerting_pb2_grpc.AlertingServiceStub(channel).IngestSamples(
            usage(name, 9, 0.025, 60 * MIB), timeout=120
        )
    signal(suite, name, "error_rate", 0.001)

    # Dry run: the change and the guardrail decision, nothing applied.
    dry = payments.post(f"/api/services/{name}/optimizations", json={"dry_run": True})
    assert dry.status_code == 200, dry.text
    assert dry.json()["change"] == {"cpu_request": "125m", "cpu_limit": "500m"}  # the 4:1 limit ratio is kept
    assert dry.json()["operation"] is None
    assert dry.json()["policy"]["outcome"] == "DECISION_OUTCOME_ALLOW"

    # A guardrail is an ordinary policy on resources of type `optimization`.
    with grpc.insecure_channel(suite.address("policy")) as channel:
        policies = policy_pb2_grpc.PolicyServiceStub(channel)
        guardrail = policies.CreatePolicy(
            policy_pb2.CreatePolicyRequest(
                policy_id=f"{name}-cpu-cut",
                policy=policy_pb2.Policy(
                    description="CPU cut at most 30 % per step",
                    severity=policy_pb2.SEVERITY_ERROR,
                    enforcement_level=policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY,
                    scope=policy_pb2.Scope(resource_types=["optimization"], teams=["payments"]),
                    expression="resource.properties.cpu_cut <= 0.3",
                    message="cuts CPU by more than 30 % in one step",
                    enabled=True,
                ),
            ),
            timeout=10,
        )
        denied = payments.post(f"/api/services/{name}/optimizations", json={})
        policies.DeletePolicy(policy_pb2.DeletePolicyRequest(name=guardrail.name), timeout=10)
    assert denied.status_code == 403, denied.text
    assert "30 %" in denied.text

    # Applied: canary, 2 s bake on a healthy service, promoted.
    applied = payments.post(f"/api/services/{name}/optimizations", json={"bake_seconds": 2})
    assert applied.status_code == 202, applied.text
    done = wait_for_operation(payments, applied.json()["operation"], timeout=90)
    assert done["status"] == "succeeded", done
    states = {s["name"]: s["state"] for s in done["steps"]}
    assert states["deploy_canary"] == states["bake"] == states["promote"] == "succeeded"
    again = payments.post(f"/api/services/{name}/optimizations", json={})
    assert again.status_code == 409 and "one change per period" in again.text

    # The next step down regresses: the error rate jumps during the bake and the change rolls back by itself.
    second = payments.post(
        f"/api/services/{name}/optimizations", json={"bake_seconds": 60, "period_hours": 0}
    )
    assert second.status_code == 202, second.text
    assert second.json()["change"] == {"cpu_request": "63m", "cpu_limit": "250m"}
    began = time.monotonic()
    time.sleep(1.0)
    signal(suite, name, "error_rate", 0.2)
    failed = wait_for_operation(payments, second.json()["operation"], timeout=90)
    assert time.monotonic() - began < 60, "not rolled back within the bake time"
    assert failed["status"] == "failed", failed
    assert "rolled back: error rate 20.00%" in json.dumps(failed)

    history = payments.get("/api/optimizations", params={"service": name})
    assert history.status_code == 200, history.text
    outcomes = history.json()["optimizations"]
    assert len(outcomes) == 2
    rolled_back, promoted = outcomes
    assert rolled_back["outcome"] == "rolled_back", outcomes
    assert "rolled back: error rate" in rolled_back["reason"], outcomes
    assert promoted["outcome"] == "promoted" and promoted["reason"] is None, outcomes
    # The promoted change is recorded with cost (the rolled-back one changed nothing); actuals of a full
    # day after it do not exist yet, so nothing is claimed as realised.
    assert promoted["change"] == "rightsizing" and promoted["realised"] is None, outcomes
    assert rolled_back["realised"] is None
    assert history.json()["teams"] == [
        {
            "team": "payments",
            "optimizations": 1,
            "measured": 0,
            "saving_per_day": 0.0,
            "monthly_saving": 0.0,
            "currency": "USD",
        }
    ]
    team_view = payments.get("/api/optimizations", params={"team": "payments"})
    assert team_view.status_code == 200, team_view.text
    mine = [o for o in team_view.json()["optimizations"] if o["service"] == name]
    assert [o["outcome"] for o in mine] == ["rolled_back", "promoted"]
    assert payments.get("/api/optimizations", params={"team": "Not A Team"}).status_code == 400

    # The estimate report: the new service has an estimate and no actuals yet, so it is not graded.
    accuracy = payments.get("/api/costs/estimate-accuracy", params={"team": "payments"})
    assert accuracy.status_code == 200, accuracy.text
    assert name not in {s["service"] for s in accuracy.json()["services"]}
    assert accuracy.json()["ungraded"] >= 1
    refused = payments.get("/api/costs/estimate-accuracy", params={"days": 0})
    assert refused.status_code == 400 and "days" in refused.text
