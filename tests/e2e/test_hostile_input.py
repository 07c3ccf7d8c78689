"""What an attacker's run found at the gateway, through the whole suite: input that made it fail with
500, bodies without limit, idempotency keys shared across callers and bodies, group refs from other
namespaces, long-lived tokens, names that reveal another team's service, a service made up while the
catalog was down."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from e2e_suite import Suite, wait_for_operation

WEB = {"template": "web-service", "parameters": {"language": "go", "database": "none"}}
MiB = 1024 * 1024
# The services these tests create belong to a team of their own, so they use none of the shared teams'
# quotas that other end-to-end tests count on.
OWN_TEAM = "hostile-input"


def create_body(name: str, team: str = "payments", **parameters: object) -> dict[str, object]:
    return {
        "name": name,
        "team": team,
        "template": "web-service",
        "parameters": {**WEB["parameters"], **parameters},
    }  # type: ignore[dict-item]


def assert_error(response: httpx.Response, status: int, name: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["name"] == name
    assert body["response"]["statusCode"] == status
    assert body["error"]["requestId"] == response.headers["x-request-id"]
    return body["error"]  # type: ignore[no-any-return]


def test_parameters_nested_60_levels_are_400_naming_the_field(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    deep: object = "leaf"
    for _ in range(60):
        deep = {"level": deep}
    response = payments.post("/api/services", json=create_body(unique_name("deep"), nested=deep))
    error = assert_error(response, 400, "InputError")
    (violation,) = error["fieldViolations"]  # type: ignore[misc]
    assert violation["field"].startswith("parameters.nested.level.level")
    assert "levels deep" in violation["description"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_numbers_that_cannot_be_carried_are_400(
    payments: httpx.Client, unique_name: Callable[[str], str], literal: str
) -> None:
    text = json.dumps(create_body(unique_name("num"))).replace('"go"', '"go", "replicas": ' + literal, 1)
    response = payments.post("/api/services", content=text, headers={"content-type": "application/json"})
    error = assert_error(response, 400, "InputError")
    assert [v["field"] for v in error["fieldViolations"]] == ["parameters.replicas"]  # type: ignore[attr-defined]


def test_bodies_over_the_limit_are_413_unparsed(
    payments: httpx.Client, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("big")
    declared = payments.post("/api/services", json=create_body(name, pad="x" * (2 * MiB)))
    assert_error(declared, 413, "PayloadTooLargeError")

    def chunks() -> Iterator[bytes]:
        yield json.dumps(create_body(name)).encode()[:-1] + b', "pad": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'

    streamed = payments.post("/api/services", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert_error(streamed, 413, "PayloadTooLargeError")

    padded = json.dumps(create_body(name)) + " " * (20 * MiB)
    response = payments.post("/api/services", content=padded, headers={"content-type": "application/json"})
    assert_error(response, 413, "PayloadTooLargeError")
    assert admin.get(f"/api/services/{name}").status_code == 404  # nothing was created


def test_idempotency_keys_are_per_caller_and_bound_to_the_body(
    admin: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    key = {"Idempotency-Key": unique_name("key")}
    mine = create_body(unique_name("mine"), team=OWN_TEAM)
    first = admin.post("/api/services", json=mine, headers=key)
    assert first.status_code == 202, first.text
    operation = first.json()["operation"]
    # A retry gets the same operation.
    again = admin.post("/api/services", json=mine, headers=key)
    assert again.status_code == 202, again.text
    assert again.json()["operation"] == operation
    # The same key with another body, or on another path, is refused, naming the conflict.
    other = admin.post("/api/services", json=create_body(unique_name("other"), team=OWN_TEAM), headers=key)
    error = assert_error(other, 422, "UnprocessableEntityError")
    assert "Idempotency-Key" in str(error["message"]) and "different request" in str(error["message"])
    wait_for_operation(admin, operation)
    deploy = admin.post(f"/api/services/{mine['name']}/deploy", json={"version": "1.2.3"}, headers=key)
    assert deploy.status_code == 422, deploy.text
    # Another caller's equal key is another request: never the first caller's operation.
    stolen = search.post(
        "/api/services", json=create_body(unique_name("a-steal"), team="search"), headers=key
    )
    assert stolen.status_code == 202, stolen.text
    assert stolen.json()["operation"] != operation
    assert operation.removeprefix("operations/") not in stolen.headers["location"]
    wait_for_operation(search, stolen.json()["operation"])


def test_a_name_another_team_owns_is_refused_without_its_team_or_state(
    admin: httpx.Client, search: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("owned")
    accepted = admin.post("/api/services", json=create_body(name, team=OWN_TEAM))
    assert accepted.status_code == 202, accepted.text
    wait_for_operation(admin, accepted.json()["operation"])
    for headers in ({}, {"Idempotency-Key": unique_name("k")}):
        taken = search.post("/api/services", json=create_body(name, team="search"), headers=headers)
        error = assert_error(taken, 409, "ConflictError")
        # Neither the owner nor the state ("provisioning" also names the backend that answered).
        text = taken.text.lower()
        for revealing in (OWN_TEAM, "active", "state", "(provisioning)"):
            assert revealing not in text, (revealing, taken.text)
        assert "already exists" in str(error["message"])


def test_group_refs_from_other_namespaces_or_spellings_are_no_team(
    suite: Suite, sign_jwt: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    for ref in ("group:evilns/platform-admins", "GROUP:default/platform-admins", "group:partner/payments"):
        token = sign_jwt(ent=[ref])
        with httpx.Client(
            base_url=suite.gateway_url, headers={"Authorization": f"Bearer {token}"}
        ) as mallory:
            assert mallory.get("/api/services", params={"team": "payments"}).status_code == 403, ref
            created = mallory.post("/api/services", json=create_body(unique_name("evil")))
            assert created.status_code == 403, (ref, created.text)


def test_tokens_living_too_long_are_401(suite: Suite, sign_jwt: Callable[..., str]) -> None:
    now = int(time.time())
    for claims in ({"exp": 253402300799}, {"iat": now, "exp": now + 30 * 86_400}):
        token = sign_jwt(ent=["group:default/payments"], **claims)
        response = httpx.get(
            f"{suite.gateway_url}/api/services", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 401, response.text
        assert "lives longer" in response.json()["error"]["message"]


def test_with_the_catalog_down_no_service_is_made_up(suite: Suite, admin: httpx.Client) -> None:
    suite.stop("catalog")
    try:
        response = admin.get("/api/services/nosuchsvc")
        error = assert_error(response, 503, "ServiceUnavailableError")
        assert error["service"] == "catalog"
    finally:
        suite.start("catalog")
