"""Auth through the whole stack: no token, wrong team (checked before existence), admin, JWTs."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from e2e_suite import Suite, wait_for_operation

WEB = {"template": "web-service", "parameters": {"language": "go", "database": "none"}}


def test_no_token_is_401(anonymous: httpx.Client) -> None:
    for method, path in (("GET", "/api/services"), ("POST", "/api/services"), ("GET", "/api/templates")):
        response = anonymous.request(method, path, json={} if method == "POST" else None)
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["name"] == "AuthenticationError"
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_wrong_team_is_403_and_does_not_reveal_existence(
    payments: httpx.Client, search: httpx.Client, admin: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("private")
    accepted = payments.post("/api/services", json={"name": name, "team": "payments", **WEB})
    assert accepted.status_code == 202, accepted.text
    wait_for_operation(payments, accepted.json()["operation"])

    existing = search.get(f"/api/services/{name}")
    missing = search.get(f"/api/services/{unique_name('never-created')}")
    assert existing.status_code == missing.status_code == 403
    assert existing.json()["error"]["name"] == missing.json()["error"]["name"] == "NotAllowedError"
    assert search.post(f"/api/services/{name}/deploy", json={"version": "1.2.3"}).status_code == 403
    assert (
        search.get(f"/api/operations/{accepted.json()['operation'].removeprefix('operations/')}").status_code
        == 403
    )
    assert (
        search.post("/api/services", json={"name": unique_name("x"), "team": "payments", **WEB}).status_code
        == 403
    )
    assert search.get("/api/services", params={"team": "payments"}).status_code == 403
    assert name not in {s["name"] for s in search.get("/api/services").json()["services"]}

    assert admin.get(f"/api/services/{name}").status_code == 200
    assert admin.get(f"/api/services/{unique_name('never-created')}").status_code == 404


def test_jwt_with_backstage_ownership_claim(
    suite: Suite, sign_jwt: Callable[..., str], unique_name: Callable[[str], str]
) -> None:
    token = sign_jwt(ent=["user:default/carol", "group:default/payments"])
    with httpx.Client(base_url=suite.gateway_url, headers={"Authorization": f"Bearer {token}"}) as carol:
        name = unique_name("jwt")
        accepted = carol.post("/api/services", json={"name": name, "team": "payments", **WEB})
        assert accepted.status_code == 202, accepted.text
        assert carol.post("/api/services", json={"name": name, "team": "search", **WEB}).status_code == 403


def test_expired_or_foreign_jwt_is_401(suite: Suite, sign_jwt: Callable[..., str]) -> None:
    expired = sign_jwt(ent=["group:default/payments"], exp=int(time.time()) - 3600)
    wrong_audience = sign_jwt(ent=["group:default/payments"], aud="someone-else")
    for token in (expired, wrong_audience):
        response = httpx.get(
            f"{suite.gateway_url}/api/services", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, response.text
    assert (
        "expired"
        in httpx.get(
            f"{suite.gateway_url}/api/services", headers={"Authorization": f"Bearer {expired}"}
        ).json()["error"]["message"]
    )


def test_member_of_several_teams_sees_each_listing(suite: Suite, sign_jwt: Callable[..., str]) -> None:
    token = sign_jwt(ent=["group:default/payments", "group:default/search"])
    with httpx.Client(base_url=suite.gateway_url, headers={"Authorization": f"Bearer {token}"}) as dana:
        for path in (
            "/api/services",
            "/api/costs",
            "/api/costs/recommendations",
            "/api/alerts",
            "/api/backstage/entities",
        ):
            response = dana.get(path)
            assert response.status_code == 200, (path, response.text)
        teams = {s["team"] for s in dana.get("/api/services", params={"page_size": 1000}).json()["services"]}
        assert teams <= {"payments", "search"}
