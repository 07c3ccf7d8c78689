"""Deploy and rollback through the gateway: 202 with an operation whose steps say what ran and what was
SKIPPED for want of an executor, never a fake success."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from e2e_suite import wait_for_operation


def test_deploy_then_rollback(payments: httpx.Client, unique_name: Callable[[str], str]) -> None:
    name = unique_name("deployed")
    created = payments.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "parameters": {"language": "go", "database": "none"},
        },
    )
    assert created.status_code == 202, created.text
    wait_for_operation(payments, created.json()["operation"])

    for workflow, body in (("deploy", {"version": "1.1.0"}), ("rollback", {})):
        response = payments.post(
            f"/api/services/{name}/{workflow}", json=body, headers={"Idempotency-Key": f"{workflow}-{name}"}
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["workflow"] == workflow and accepted["service"] == name
        operation = wait_for_operation(payments, accepted["operation"])
        assert operation["kind"] == f"workflow:{workflow}", operation
        assert operation["steps"], operation
        assert {s["state"] for s in operation["steps"]} <= {
            "succeeded",
            "skipped",
            "failed",
            "cancelled",
            "compensated",
        }
        for step in operation["steps"]:
            if step["state"] == "skipped":
                assert step["detail"], step  # a skipped step says why


def test_deploy_of_an_unknown_service_is_403_for_a_team_member(payments: httpx.Client) -> None:
    assert payments.post("/api/services/does-not-exist-xyz/deploy", json={"version": "1"}).status_code == 403


def test_bad_workflow_input_is_400(payments: httpx.Client) -> None:
    response = payments.post("/api/services/whatever/deploy", json={"version": "not a version!", "extra": 1})
    assert response.status_code == 400
    fields = {v["field"] for v in response.json()["error"]["fieldViolations"]}
    assert {"version", "extra"} <= fields
