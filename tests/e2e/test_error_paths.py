"""Every way a create can be refused, and a downstream service being down."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import grpc
import httpx
import pytest
from e2e_suite import Suite, wait_for_operation
from google.type import money_pb2
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc

WEB_PARAMS = {"language": "python", "database": "none"}


def body(name: str, team: str = "payments", **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": name,
        "team": team,
        "template": "web-service",
        "parameters": dict(WEB_PARAMS),
    }
    data.update(extra)
    return data


def test_bad_parameters_are_400_with_every_field(
    admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    response = admin.post(
        "/api/services",
        json=body(unique_name("bad"), parameters={"language": "cobol", "min_instances": "many", "nope": 1}),
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["name"] == "InputError"
    fields = {v["field"] for v in error["fieldViolations"]}
    assert {"parameters.language", "parameters.min_instances", "parameters.nope"} <= fields


def test_unknown_template_is_400_naming_the_field(admin: httpx.Client) -> None:
    response = admin.post("/api/services", json=body("ghost", template="no-such-template"))
    assert response.status_code == 400
    assert response.json()["error"]["fieldViolations"][0]["field"] == "template"


def test_quota_exceeded_is_403_with_current_and_limit(
    suite: Suite, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    team = unique_name("quota")
    with grpc.insecure_channel(suite.address("provisioning")) as channel:
        provisioning_pb2_grpc.ProvisioningServiceStub(channel).UpdateQuota(
            provisioning_pb2.UpdateQuotaRequest(
                quota=provisioning_pb2.Quota(
                    team=team,
                    max_services=0,
                    max_instances=100,
                    max_monthly_cost=money_pb2.Money(currency_code="USD", units=100000),
                )
            ),
            timeout=10,
        )
    response = admin.post("/api/services", json=body(unique_name("over"), team=team))
    assert response.status_code == 403, response.text
    data = response.json()
    assert data["error"]["message"] == "Quota exceeded"
    assert data["current"] == 0 and data["limit"] == 0
    assert data["quota"] == "services"


@pytest.fixture
def policy_teams(suite: Suite) -> Iterator[dict[str, str]]:
    """Two teams, one under a hard-mandatory and one under a soft-mandatory policy that always fails."""
    suffix = uuid.uuid4().hex[:6]
    teams = {"hard": f"hard-{suffix}", "soft": f"soft-{suffix}"}
    levels = {
        "hard": policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY,
        "soft": policy_pb2.ENFORCEMENT_LEVEL_SOFT_MANDATORY,
    }
    with grpc.insecure_channel(suite.address("policy")) as channel:
        stub = policy_pb2_grpc.PolicyServiceStub(channel)
        names = []
        for kind, team in teams.items():
            created = stub.CreatePolicy(
                policy_pb2.CreatePolicyRequest(
                    policy_id=f"e2e-{kind}-{suffix}",
                    policy=policy_pb2.Policy(
                        description=f"e2e {kind} policy",
                        severity=policy_pb2.SEVERITY_ERROR,
                        enforcement_level=levels[kind],
                        scope=policy_pb2.Scope(teams=[team], resource_types=["compute"]),
                        expression="resource.properties.replicas > 100",
                        message=f"{kind}: replicas must exceed 100",
                        enabled=True,
                    ),
                ),
                timeout=10,
            )
            names.append(created.name)
        yield teams
        for name in names:
            stub.DeletePolicy(policy_pb2.DeletePolicyRequest(name=name), timeout=10)


def test_hard_mandatory_failure_is_403_and_cannot_be_overridden(
    admin: httpx.Client, policy_teams: dict[str, str], unique_name: Callable[[str], str]
) -> None:
    override = {"reason": "we know", "approved_by": "cto"}
    for extra in ({}, {"override": override}):
        response = admin.post(
            "/api/services", json=body(unique_name("hard"), team=policy_teams["hard"], **extra)
        )
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert error["outcome"] == "DENY" and error["overridePossible"] is False
        assert any("replicas must exceed 100" in v["message"] for v in error["violations"])


def test_soft_mandatory_failure_is_422_until_overridden(
    admin: httpx.Client, policy_teams: dict[str, str], unique_name: Callable[[str], str]
) -> None:
    name = unique_name("soft")
    refused = admin.post("/api/services", json=body(name, team=policy_teams["soft"]))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["outcome"] == "NEEDS_OVERRIDE" and error["overridePossible"] is True
    assert "override" in error["message"]
    accepted = admin.post(
        "/api/services",
        json=body(name, team=policy_teams["soft"], override={"reason": "launch day", "approved_by": "cto"}),
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["policy"]["override_applied"] is True
    wait_for_operation(admin, accepted.json()["operation"])


def test_downstream_service_down_is_503_naming_it(
    suite: Suite, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    suite.stop("cost")
    try:
        response = admin.post("/api/services", json=body(unique_name("nocost")))
        assert response.status_code == 503, response.text
        assert response.json()["error"]["service"] == "cost"
        assert admin.get("/readyz").json()["services"]["cost"] == "UNAVAILABLE"
    finally:
        suite.start("cost")


def test_status_with_one_service_down_still_answers(
    suite: Suite, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("partial")
    accepted = admin.post("/api/services", json=body(name)).json()
    wait_for_operation(admin, accepted["operation"])
    suite.stop("alerting")
    try:
        response = admin.get(f"/api/services/{name}")
        assert response.status_code == 200, response.text
        status = response.json()
        assert status["status"] == "active"
        assert status["health"] == "unavailable" and status["metrics"] is None
        assert status["unavailable"] == ["alerting"]
        assert status["cost"] is not None
    finally:
        suite.start("alerting")


def test_status_with_the_catalog_down_still_authorizes_through_cost(
    suite: Suite, payments: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("nocatalog")
    accepted = payments.post("/api/services", json=body(name)).json()
    wait_for_operation(payments, accepted["operation"])
    suite.stop("catalog")
    try:
        response = payments.get(f"/api/services/{name}")
        assert response.status_code == 200, response.text
        status = response.json()
        assert status["unavailable"] == ["catalog"]
        assert status["status"] == "unknown" and status["team"] == "payments"
        assert status["cost"] is not None
        # The owner is still known (from cost), so another team is still refused.
        assert search.get(f"/api/services/{name}").status_code == 403
    finally:
        suite.start("catalog")
