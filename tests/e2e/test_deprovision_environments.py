"""Deprovisioning one environment of a service over the whole suite: ``DELETE /api/services/{name}
?environment=staging`` removes staging alone (its GitOps directory, its alert rules, its cost estimate,
its catalog entry) and leaves development running; deleting the last environment removes the service.
An unknown environment is a 400 naming the field; an environment the service does not run in is a 404.
Each environment also has its own scorecard."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import grpc
import httpx
from e2e_suite import Suite, wait_for_operation
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc


def _create(client: httpx.Client, name: str, environment: str) -> None:
    response = client.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "environment": environment,
            "parameters": {"language": "go", "database": "none"},
        },
    )
    assert response.status_code == 202, response.text
    assert wait_for_operation(client, response.json()["operation"])["status"] == "succeeded"


def _directories(suite: Suite, name: str) -> set[str]:
    files = subprocess.run(
        ["git", "--git-dir", str(suite.gitops_repository), "ls-tree", "-r", "--name-only", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    prefix = f"services/payments/{name}/"
    return {f.removeprefix(prefix).split("/")[0] for f in files if f.startswith(prefix)}


def _rule_environments(suite: Suite, name: str) -> set[str]:
    with grpc.insecure_channel(suite.address("alerting")) as channel:
        rules = alerting_pb2_grpc.AlertingServiceStub(channel).ListAlertRules(
            alerting_pb2.ListAlertRulesRequest(filter=f'service = "{name}"'), timeout=10
        )
    return {r.environment for r in rules.alert_rules}


def test_deleting_one_environment_keeps_the_others_and_the_last_removes_the_service(
    suite: Suite, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("depro")
    _create(payments, name, "development")
    _create(payments, name, "staging")
    assert _directories(suite, name) == {"development", "staging"}
    assert _rule_environments(suite, name) == {"development", "staging"}

    # Each environment has its own scorecard: its record, plan and deployments there.
    card = payments.get(f"/api/services/{name}/scorecard", params={"environment": "staging"})
    assert card.status_code == 200, card.text
    checks = {c["id"]: c for c in card.json()["checks"]}
    assert card.json()["environment"] == "staging" and checks["provisioned"]["passed"], card.json()
    assert checks["deployed_recently"]["passed"] and checks["gitops_managed"]["passed"], checks
    bad_card = payments.get(f"/api/services/{name}/scorecard", params={"environment": "qa"})
    assert (
        bad_card.status_code == 400
        and bad_card.json()["error"]["fieldViolations"][0]["field"] == "environment"
    )
    assert (
        payments.get(f"/api/services/{name}/scorecard", params={"environment": "production"}).status_code
        == 404
    )

    unknown = payments.delete(f"/api/services/{name}", params={"environment": "qa"})
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["error"]["fieldViolations"][0]["field"] == "environment"
    elsewhere = payments.delete(f"/api/services/{name}", params={"environment": "production"})
    assert elsewhere.status_code == 404 and "does not run in production" in elsewhere.text

    removed = payments.delete(f"/api/services/{name}", params={"environment": "staging"})
    assert removed.status_code == 202, removed.text
    operation = wait_for_operation(payments, removed.json()["operation"])
    assert operation["status"] == "succeeded" and operation["environment"] == "staging", operation

    service = payments.get(f"/api/services/{name}").json()
    assert [(e["name"], e["status"]) for e in service["environments"]] == [("development", "active")]
    assert service["status"] == "active"
    assert _directories(suite, name) == {"development"}
    assert _rule_environments(suite, name) == {"development"}
    assert [e["name"] for e in service["environments"] if e["cost"]] == ["development"]
    # The environment can be added again.
    _create(payments, name, "staging")
    assert [e["name"] for e in payments.get(f"/api/services/{name}").json()["environments"]] == [
        "development",
        "staging",
    ]

    for environment in ("staging", "development"):
        gone = payments.delete(f"/api/services/{name}", params={"environment": environment})
        assert gone.status_code == 202, gone.text
        assert wait_for_operation(payments, gone.json()["operation"])["status"] == "succeeded"
    assert payments.get(f"/api/services/{name}").json()["status"] == "deleted"
    assert _directories(suite, name) == set()
    assert _rule_environments(suite, name) == set()
