"""Each gate of a promotion refuses in turn over the whole suite, and a refusal changes nothing in the
target: the policy gate (a policy advisory in development and staging, hard-mandatory in production), the
soak gate (an alert firing in staging, the source, while development and production are quiet) and the
cost gate (the team's budget cannot hold production). Alerts, health and cost estimates are each
environment's own in ``GET /api/services/{name}``."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import httpx
import pytest
from e2e_suite import Suite, wait_for_operation
from google.protobuf import timestamp_pb2
from google.type import money_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc


def _create(client: httpx.Client, name: str, team: str, environment: str) -> None:
    response = client.post(
        "/api/services",
        json={
            "name": name,
            "team": team,
            "template": "web-service",
            "environment": environment,
            "parameters": {"language": "go", "database": "none"},
        },
    )
    assert response.status_code == 202, response.text
    assert wait_for_operation(client, response.json()["operation"])["status"] == "succeeded"


def _in_staging(client: httpx.Client, name: str, team: str) -> None:
    """Created in development, added to staging, 2.0.0 deployed there and soaked (one second)."""
    _create(client, name, team, "development")
    _create(client, name, team, "staging")
    deployed = client.post(
        f"/api/services/{name}/deploy", json={"version": "2.0.0", "environment": "staging"}
    )
    assert deployed.status_code == 202, deployed.text
    assert wait_for_operation(client, deployed.json()["operation"])["status"] == "succeeded"
    time.sleep(1.1)


def _refused_promotion(client: httpx.Client, name: str) -> dict[str, Any]:
    """Promote staging to production and wait for the answer, which must be a refusal."""
    started = client.post(f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"})
    assert started.status_code == 202, started.text
    promotion = started.json()["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/services/{name}/promotions/{promotion}").json()
        if body["phase"] in ("succeeded", "failed"):
            assert body["phase"] == "failed", body
            return body
        time.sleep(0.1)
    raise AssertionError(f"promotion {promotion} did not end")


def _nothing_in_production(client: httpx.Client, suite: Suite, name: str, team: str) -> None:
    assert client.get(f"/api/services/{name}", params={"environment": "production"}).status_code == 404
    files = subprocess.run(
        ["git", "--git-dir", str(suite.gitops_repository), "ls-tree", "-r", "--name-only", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert any(f.startswith(f"services/{team}/{name}/staging/") for f in files)
    assert not any(f.startswith(f"services/{team}/{name}/production/") for f in files)
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        rules = alerting_pb2_grpc.AlertingServiceStub(channel).ListAlertRules(
            alerting_pb2.ListAlertRulesRequest(filter=f'service = "{name}" AND environment = "production"'),
            timeout=10,
        )
    assert list(rules.alert_rules) == []


@pytest.fixture
def quick_production(admin: httpx.Client) -> Iterator[None]:
    """Production with a one-second soak and no approval, so each test reaches the gate it is about."""
    before = {e["name"]: e for e in admin.get("/api/environments").json()["items"]}["production"]
    changed = admin.patch(
        "/api/environments/production", json={"soak_seconds": 1, "approval_required": False}
    )
    assert changed.status_code == 200, changed.text
    yield
    admin.patch(
        "/api/environments/production",
        json={"soak_seconds": before["soak_seconds"], "approval_required": before["approval_required"]},
    )


def test_policy_gate_refuses_at_productions_level(
    suite: Suite, admin: httpx.Client, quick_production: None, unique_name: Callable[[str], str]
) -> None:
    team, name = unique_name("gate-policy"), unique_name("gated")
    with grpc.insecure_channel(suite.address("policy")) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        created = stub.CreatePolicy(
            policy_pb2.CreatePolicyRequest(
                policy_id=f"e2e-gate-{uuid.uuid4().hex[:6]}",
                policy=policy_pb2.Policy(
                    description="replicas beyond reason, enforced in production only",
                    severity=policy_pb2.SEVERITY_ERROR,
                    enforcement_level=policy_pb2.ENFORCEMENT_LEVEL_ADVISORY,
                    environment_levels={"production": policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY},
                    scope=policy_pb2.Scope(teams=[team], resource_types=["compute"]),
                    expression="resource.properties.replicas > 100",
                    message="replicas must exceed 100",
                    enabled=True,
                ),
            ),
            timeout=10,
        )
        try:
            _in_staging(admin, name, team)  # advisory there: created with warnings
            refused = _refused_promotion(admin, name)
        finally:
            stub.DeletePolicy(policy_pb2.DeletePolicyRequest(name=created.name), timeout=10)
    assert "policy gate refused" in refused["error"]["message"], refused
    assert "DENY at production's enforcement levels" in refused["error"]["message"]
    gates = {g["gate"]: g["state"] for g in refused["gates"]}
    assert gates["policy"] == "failed" and gates["soak"] == gates["cost"] == "pending"
    _nothing_in_production(admin, suite, name, team)


def _ingest_down(suite: Suite, name: str, environment: str) -> None:
    """``up == 0`` in ``environment`` for over a minute: Service Down fires there."""
    now = time.time()
    samples = [
        alerting_pb2.MetricSample(
            service=name,
            environment=environment,
            metric="up",
            value=0.0,
            time=timestamp_pb2.Timestamp(seconds=t),
        )
        for t in (int(now) - 70, int(now))
    ]
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        stub = alerting_pb2_grpc.AlertingServiceStub(channel)
        stub.IngestSamples(iter([alerting_pb2.IngestSamplesRequest(samples=samples)]), timeout=10)
        for t in (int(now) - 70, int(now)):
            stub.EvaluateRules(
                alerting_pb2.EvaluateRulesRequest(time=timestamp_pb2.Timestamp(seconds=t)), timeout=10
            )


def test_soak_gate_reads_the_source_environments_alerts(
    suite: Suite, payments: httpx.Client, quick_production: None, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("gate-soak")
    _in_staging(payments, name, "payments")
    _ingest_down(suite, name, "staging")

    service = payments.get(f"/api/services/{name}").json()
    health = {e["name"]: e["health"] for e in service["environments"]}
    assert health == {"development": "unknown", "staging": "down"}, service
    staging = payments.get(f"/api/services/{name}", params={"environment": "staging"}).json()
    assert staging["health"] == "down" and staging["environments"][0]["health"] == "down"
    assert service["health"] == "unknown"  # the service as it is where it was created (development)

    refused = _refused_promotion(payments, name)
    message = refused["error"]["message"]
    assert "soak gate refused" in message and "1 alert(s) firing: Service Down" in message, refused
    _nothing_in_production(payments, suite, name, "payments")


def test_cost_gate_refuses_over_the_teams_budget(
    suite: Suite, admin: httpx.Client, quick_production: None, unique_name: Callable[[str], str]
) -> None:
    team, name = unique_name("gate-cost"), unique_name("gated")
    _in_staging(admin, name, team)
    service = admin.get(f"/api/services/{name}").json()
    estimates = {e["name"]: e["cost"]["estimated_monthly_cost"] for e in service["environments"]}
    assert set(estimates) == {"development", "staging"} and all(v > 0 for v in estimates.values()), service
    assert service["cost"]["estimated_monthly_cost"] == pytest.approx(sum(estimates.values()))

    # The budget holds what runs today and one cent more: production's estimate does not fit.
    budget = sum(estimates.values()) + 0.01
    with grpc.insecure_channel(suite.address("provisioning")) as channel:
        provisioning_pb2_grpc.ProvisioningServiceStub(channel).UpdateQuota(
            provisioning_pb2.UpdateQuotaRequest(
                quota=provisioning_pb2.Quota(
                    team=team,
                    max_services=100,
                    max_instances=1000,
                    max_monthly_cost=money_pb2.Money(
                        currency_code="USD", units=int(budget), nanos=round((budget % 1) * 1e9)
                    ),
                )
            ),
            timeout=10,
        )
    refused = _refused_promotion(admin, name)
    message = refused["error"]["message"]
    assert "cost gate refused" in message and "budget: over" in message, refused
    assert {g["gate"]: g["state"] for g in refused["gates"]}["policy"] == "succeeded"
    _nothing_in_production(admin, suite, name, team)
