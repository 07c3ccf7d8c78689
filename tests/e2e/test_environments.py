"""One service in several environments through the gateway over the whole suite: created in development,
added to staging (same team and template), read with its environments and narrowed to one; a different
service under the same name, an unknown environment and an environment it does not run in are refused."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from e2e_suite import wait_for_operation


def _create(client: httpx.Client, name: str, environment: str, **extra: object) -> httpx.Response:
    body = {
        "name": name,
        "team": "payments",
        "template": "web-service",
        "environment": environment,
        "parameters": {"language": "go", "database": "none"},
        **extra,
    }
    return client.post("/api/services", json=body)


def test_a_service_is_created_in_development_and_added_to_staging(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("envs")
    first = _create(payments, name, "development")
    assert first.status_code == 202, first.text
    assert wait_for_operation(payments, first.json()["operation"])["status"] == "succeeded"
    added = _create(payments, name, "staging")
    assert added.status_code == 202, added.text
    operation = wait_for_operation(payments, added.json()["operation"])
    assert operation["status"] == "succeeded" and operation["environment"] == "staging", operation

    service = payments.get(f"/api/services/{name}").json()
    assert service["environment"] == "development"
    assert [(e["name"], e["status"]) for e in service["environments"]] == [
        ("development", "active"),
        ("staging", "active"),
    ]
    staging = payments.get(f"/api/services/{name}", params={"environment": "staging"})
    assert staging.status_code == 200, staging.text
    assert staging.json()["environment"] == "staging"
    assert [e["name"] for e in staging.json()["environments"]] == ["staging"]

    missing = payments.get(f"/api/services/{name}", params={"environment": "production"})
    assert missing.status_code == 404 and "does not run in production" in missing.text
    unknown = payments.get(f"/api/services/{name}", params={"environment": "qa"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["fieldViolations"][0]["field"] == "environment"

    again = _create(payments, name, "staging")
    assert again.status_code == 409 and "already exists in staging" in again.text
    other = _create(payments, name, "production", template="background-worker")
    assert (
        other.status_code == 409
        and "built from template 'web-service', not 'background-worker'" in other.text
    )
    after = payments.get(f"/api/services/{name}").json()
    assert [e["name"] for e in after["environments"]] == ["development", "staging"]

    deployed = payments.post(
        f"/api/services/{name}/deploy", json={"version": "1.2.0", "environment": "staging"}
    )
    assert deployed.status_code == 202, deployed.text
    assert wait_for_operation(payments, deployed.json()["operation"])["environment"] == "staging"

    # Rollback is per environment: staging goes back to what it ran before 1.2.0; development is untouched.
    rolled = payments.post(f"/api/services/{name}/rollback", json={"environment": "staging"})
    assert rolled.status_code == 202, rolled.text
    operation = wait_for_operation(payments, rolled.json()["operation"])
    assert operation["status"] == "succeeded" and operation["environment"] == "staging", operation
    steps = {s["name"]: s for s in operation["steps"]}
    assert "rolling back from 1.2.0" in steps["identify_previous_version"]["detail"]
    nothing = payments.post(f"/api/services/{name}/rollback", json={"environment": "development"})
    assert nothing.status_code == 202, nothing.text
    failed = wait_for_operation(payments, nothing.json()["operation"])
    assert failed["status"] == "failed" and "no earlier successful deployment" in failed["error"]["message"]


def test_unknown_environment_is_a_400_naming_the_field(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("noenv")
    response = _create(payments, name, "qa")
    assert response.status_code == 400, response.text
    (violation,) = response.json()["error"]["fieldViolations"]
    assert (
        violation["field"] == "environment"
        and "known: development, staging, production" in violation["description"]
    )
    assert payments.get(f"/api/services/{name}").status_code in (403, 404)
