"""One answer for every problem of a create, validate-only creates, acting for a Backstage user, and
cancelling an operation — through the real gateway and services."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import TOKENS, client_for
from e2e_suite import Suite, wait_for_operation

WEB = {"language": "python", "database": "none"}


@pytest.fixture
def backstage(suite: Suite) -> Iterator[httpx.Client]:
    with client_for(suite, TOKENS["backstage"]["token"]) as client:  # type: ignore[arg-type]
        yield client


def as_user(user: str, *groups: str) -> dict[str, str]:
    return {"X-Paved-On-Behalf-Of": user, "X-Paved-On-Behalf-Of-Groups": ",".join(groups)}


def fields(response: httpx.Response) -> dict[str, str]:
    return {v["field"]: v["description"] for v in response.json()["error"]["fieldViolations"]}


def test_bad_name_bad_language_and_unknown_parameter_in_one_400(admin: httpx.Client) -> None:
    response = admin.post(
        "/api/services",
        json={
            "name": "Orders-",
            "team": "payments",
            "template": "web-service",
            "parameters": {"language": "cobol", "database": "none", "colour": "blue"},
        },
    )
    assert response.status_code == 400, response.text
    found = fields(response)
    assert {"name", "parameters.language", "parameters.colour"} <= set(found), found
    assert "DNS label" in found["name"]
    assert "parameters.service_name" not in found  # the name's copy does not repeat the name's error


def test_conflict_joins_parameter_errors_and_alone_is_409(
    admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("taken")
    created = admin.post(
        "/api/services", json={"name": name, "team": "payments", "template": "web-service", "parameters": WEB}
    )
    assert created.status_code == 202, created.text
    wait_for_operation(admin, created.json()["operation"])

    both = admin.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "parameters": {"language": "cobol"},
        },
    )
    assert both.status_code == 400, both.text
    found = fields(both)
    assert "already exists" in found["name"] and "parameters.language" in found

    alone = admin.post(
        "/api/services", json={"name": name, "team": "payments", "template": "web-service", "parameters": WEB}
    )
    assert alone.status_code == 409, alone.text


def test_validate_only_answers_the_plan_and_creates_nothing(
    admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("dry")
    response = admin.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "parameters": WEB,
            "validate_only": True,
        },
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["validate_only"] is True
    assert answer["estimated_monthly_cost"]["amount"] > 0
    assert {q["quota"] for q in answer["quota"]} >= {"services"}
    assert answer["policy"]["outcome"].startswith("ALLOW")
    assert any(r["type"] == "compute" for r in answer["resources"])
    assert admin.get(f"/api/services/{name}").status_code == 404

    refused = admin.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": "web-service",
            "parameters": {"language": "x"},
            "validate_only": True,
        },
    )
    assert refused.status_code == 400 and "parameters.language" in fields(refused)


def test_delegate_acts_only_for_the_named_users_teams(
    backstage: httpx.Client, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("deleg")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": WEB}
    alice = as_user("user:default/alice", "group:default/payments")
    created = backstage.post("/api/services", json=body, headers=alice)
    assert created.status_code == 202, created.text
    operation = wait_for_operation(admin, created.json()["operation"])
    assert operation["requester"] == "user:default/alice"

    bob = as_user("user:default/bob", "group:default/search")
    assert (
        backstage.post("/api/services", json={**body, "name": unique_name("x")}, headers=bob).status_code
        == 403
    )
    assert backstage.get(f"/api/services/{name}", headers=bob).status_code == 403
    assert backstage.post(f"/api/services/{name}/deploy", json={}, headers=bob).status_code == 403
    assert backstage.get(f"/api/services/{name}", headers=alice).status_code == 200

    # Only the configured namespace counts, exactly.
    other_ns = as_user("user:default/eve", "group:evilns/payments", "group:evilns/platform-admins")
    assert backstage.get(f"/api/services/{name}", headers=other_ns).status_code == 403
    upper = as_user("user:default/eve", "GROUP:default/payments")
    assert backstage.get(f"/api/services/{name}", headers=upper).status_code == 400


def test_only_a_delegate_may_name_another_user(payments: httpx.Client) -> None:
    response = payments.get("/api/services", headers=as_user("user:default/bob", "group:default/search"))
    assert response.status_code == 403
    assert "on behalf of" in response.json()["error"]["message"]


def test_cancel_is_for_the_owning_team_and_leaves_a_finished_operation_alone(
    payments: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    created = payments.post(
        "/api/services",
        json={
            "name": unique_name("cancel"),
            "team": "payments",
            "template": "web-service",
            "parameters": WEB,
        },
    )
    assert created.status_code == 202, created.text
    operation_id = created.json()["operation"].removeprefix("operations/")
    assert search.post(f"/api/operations/{operation_id}/cancel").status_code == 403
    final = wait_for_operation(payments, operation_id)
    assert final["status"] == "succeeded"
    again = payments.post(f"/api/operations/{operation_id}/cancel")
    assert again.status_code == 202 and again.json()["status"] == "succeeded"


def test_the_client_validates_without_creating_and_reports_every_problem(
    suite: Suite, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    from paved_client.config import load_config
    from paved_client.http import GatewayClient, GatewayError

    client = GatewayClient(load_config(url=suite.gateway_url, token=TOKENS["admin"]["token"]))  # type: ignore[arg-type]
    name = unique_name("cli-dry")
    plan = client.validate_service(name=name, team="payments", template="web-service", parameters=WEB)
    assert plan["validate_only"] is True and plan["estimated_monthly_cost"]["amount"] > 0
    assert admin.get(f"/api/services/{name}").status_code == 404
    with pytest.raises(GatewayError) as refused:
        client.validate_service(
            name="Bad_Name", team="payments", template="web-service", parameters={"language": "cobol"}
        )
    assert refused.value.status == 400
    assert {"name", "parameters.language"} <= {v["field"] for v in refused.value.details["fieldViolations"]}
