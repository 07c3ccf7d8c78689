"""Promotions over the whole suite: a service created in development, added to staging, deployed there and
promoted to production through an approval, with one GitOps commit naming source and target; promotions
refused by a gate (policy at production's level, a rejected approval) change nothing in production; bad
input is a 400 naming the field."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import TOKENS
from e2e_suite import wait_for_operation


def _create(client: httpx.Client, name: str, environment: str, **parameters: object) -> None:
    response = client.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "environment": environment,
            "parameters": {"language": "go", "database": "none", **parameters},
        },
    )
    assert response.status_code == 202, response.text
    assert wait_for_operation(client, response.json()["operation"])["status"] == "succeeded"


def _wait_promotion(
    client: httpx.Client, name: str, promotion: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/services/{name}/promotions/{promotion}")
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if until(body):
            return body
        time.sleep(0.1)
    raise AssertionError(f"promotion {promotion} did not get there: {body}")


@pytest.fixture
def quick_production(admin: httpx.Client) -> Iterator[None]:
    """Production with an approval and a one-second soak, so a test need not wait an hour."""
    before = {e["name"]: e for e in admin.get("/api/environments").json()["items"]}["production"]
    changed = admin.patch("/api/environments/production", json={"soak_seconds": 1, "approval_required": True})
    assert changed.status_code == 200, changed.text
    yield
    admin.patch(
        "/api/environments/production",
        json={"soak_seconds": before["soak_seconds"], "approval_required": before["approval_required"]},
    )


@pytest.fixture
def in_staging(payments: httpx.Client, unique_name: Callable[[str], str]) -> str:
    name = unique_name("promo")
    _create(payments, name, "development")
    _create(payments, name, "staging")
    deployed = payments.post(
        f"/api/services/{name}/deploy", json={"version": "1.4.0", "environment": "staging"}
    )
    assert deployed.status_code == 202, deployed.text
    assert wait_for_operation(payments, deployed.json()["operation"])["status"] == "succeeded"
    time.sleep(1.1)  # the soak time
    return name


def test_promotion_to_production_waits_for_an_approval_and_commits_once(
    quick_production: None, payments: httpx.Client, reviewer: httpx.Client, in_staging: str
) -> None:
    name = in_staging
    started = payments.post(f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"})
    assert started.status_code == 202, started.text
    promotion = started.json()["id"]
    waiting = _wait_promotion(
        payments,
        name,
        promotion,
        lambda b: (
            b["phase"] == "waiting_for_approval"
            and "waiting for an approval"
            in ({g["gate"]: g for g in b["gates"]}["approval"]["evidence"] or "")
        ),
    )
    gates = {g["gate"]: g for g in waiting["gates"]}
    assert (
        gates["policy"]["state"] == "succeeded"
        and "at production's enforcement levels" in gates["policy"]["evidence"]
    )
    assert gates["soak"]["state"] == "succeeded" and "1.4.0 has run in staging" in gates["soak"]["evidence"]
    assert "0 alert(s) firing" in gates["soak"]["evidence"]
    assert gates["cost"]["state"] == "succeeded" and "USD/month" in gates["cost"]["evidence"]
    assert payments.get(f"/api/services/{name}", params={"environment": "production"}).status_code == 404

    again = payments.post(f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"})
    assert again.status_code == 409 and "already changing" in again.text
    # While it waits it is parked, holding no worker: its gate says what it waits for.
    assert "waiting for an approval (someone other than alice)" in (gates["approval"]["evidence"] or "")

    # Four eyes: alice asked for the promotion and cannot approve it herself; nothing is recorded.
    own = payments.post(f"/api/services/{name}/promotions/{promotion}/approve", json={"reason": "mine"})
    assert own.status_code == 403 and "four eyes" in own.text, own.text
    still = payments.get(f"/api/services/{name}/promotions/{promotion}").json()
    assert still["phase"] == "waiting_for_approval", still

    approved = reviewer.post(
        f"/api/services/{name}/promotions/{promotion}/approve", json={"reason": "release 1.4.0 signed off"}
    )
    assert approved.status_code == 200, approved.text
    done = _wait_promotion(payments, name, promotion, lambda b: b["phase"] in ("succeeded", "failed"))
    assert done["phase"] == "succeeded", done
    assert {g["gate"]: g["evidence"] for g in done["gates"]}[
        "approval"
    ] == "approved by dave: release 1.4.0 signed off"

    production = payments.get(f"/api/services/{name}", params={"environment": "production"}).json()
    (environment,) = production["environments"]
    assert environment["status"] == "active" and environment["version"] == "1.4.0"
    service = payments.get(f"/api/services/{name}").json()
    assert [e["name"] for e in service["environments"]] == ["development", "staging", "production"]
    deployments = payments.get(f"/api/services/{name}/deployments", params={"environment": "production"})
    if deployments.status_code == 200:
        assert deployments.json()["items"][0]["version"] == "1.4.0"


def test_a_rejected_approval_fails_the_promotion_and_changes_nothing(
    quick_production: None, payments: httpx.Client, in_staging: str
) -> None:
    name = in_staging
    started = payments.post(f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"})
    assert started.status_code == 202, started.text
    promotion = started.json()["id"]
    _wait_promotion(payments, name, promotion, lambda b: b["phase"] == "waiting_for_approval")

    rejected = payments.post(f"/api/services/{name}/promotions/{promotion}/reject", json={"reason": "freeze"})
    assert rejected.status_code == 200, rejected.text
    done = _wait_promotion(payments, name, promotion, lambda b: b["phase"] in ("succeeded", "failed"))

    assert (
        done["phase"] == "failed"
        and "approval gate refused: rejected by alice: freeze" in done["error"]["message"]
    )
    assert payments.get(f"/api/services/{name}", params={"environment": "production"}).status_code == 404
    late = payments.post(f"/api/services/{name}/promotions/{promotion}/approve", json={"reason": "too late"})
    assert late.status_code == 409


def test_bad_promotions_are_400_naming_the_field(payments: httpx.Client, in_staging: str) -> None:
    name = in_staging
    cases = [
        ({"from": "staging", "to": "qa"}, "to", "unknown environment 'qa'"),
        ({"from": "staging", "to": "staging"}, "to", "must differ from from"),
        ({"from": "staging", "to": "development"}, "to", "must come after staging"),
        ({"from": "production", "to": "production"}, "to", "must differ"),
        (
            {"from": "staging", "to": "production", "version": "9.9.9"},
            "version",
            "9.9.9 never ran in staging",
        ),
    ]
    for body, field, rule in cases:
        response = payments.post(f"/api/services/{name}/promotions", json=body)
        assert response.status_code == 400, (body, response.text)
        violations = {v["field"]: v["description"] for v in response.json()["error"]["fieldViolations"]}
        assert rule in violations.get(field, ""), (body, violations)
    assert payments.get(f"/api/services/{name}", params={"environment": "production"}).status_code == 404

    # A retried request with its Idempotency-Key is the same promotion, not a second one.
    key = {"Idempotency-Key": f"promote-{name}"}
    first = payments.post(
        f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"}, headers=key
    )
    again = payments.post(
        f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"}, headers=key
    )
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    # Production's default soak (an hour) has not passed: the soak gate refuses, production is untouched.
    done = _wait_promotion(
        payments, name, first.json()["id"], lambda b: b["phase"] in ("succeeded", "failed")
    )
    assert done["phase"] == "failed" and "soak gate refused" in done["error"]["message"], done
    assert payments.get(f"/api/services/{name}", params={"environment": "production"}).status_code == 404


def test_cli_promotes_and_status_lists_each_environment(
    suite: Any, admin: httpx.Client, payments: httpx.Client, in_staging: str
) -> None:
    from click.testing import CliRunner
    from paved_client.cli import main

    name = in_staging
    before = {e["name"]: e for e in admin.get("/api/environments").json()["items"]}["production"]
    admin.patch("/api/environments/production", json={"approval_required": False, "soak_seconds": 0})
    try:
        env = {
            "PAVED_URL": suite.gateway_url,
            "PAVED_TOKEN": str(TOKENS["payments"]["token"]),
            "COLUMNS": "200",
        }
        runner = CliRunner()
        promoted = runner.invoke(
            main, ["promote", name, "--from", "staging", "--to", "production", "--wait"], env=env
        )
        assert promoted.exit_code == 0, promoted.output
        assert "succeeded" in promoted.output and "requires no approval" in promoted.output
        status = runner.invoke(main, ["status", name], env=env)
        assert status.exit_code == 0, status.output
        assert f"Environments of {name}" in status.output
        assert "production" in status.output and "1.4.0" in status.output
        refused = runner.invoke(main, ["promote", name, "--from", "production", "--to", "staging"], env=env)
        assert refused.exit_code != 0 and "must come after production" in refused.output
    finally:
        admin.patch(
            "/api/environments/production",
            json={"soak_seconds": before["soak_seconds"], "approval_required": before["approval_required"]},
        )
