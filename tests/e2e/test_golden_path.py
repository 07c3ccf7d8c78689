"""The golden path end to end: create → 202 → operation completes → ACTIVE with manifests in the GitOps
repository, default alerts, cost tracking and a catalog entry; status, lists, Backstage export."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable

import httpx
import yaml
from e2e_suite import Suite, wait_for_operation

WEB_PARAMS = {"language": "python", "database": "none"}


def create(client: httpx.Client, name: str, team: str = "payments", **extra: object) -> httpx.Response:
    body = {"name": name, "team": team, "template": "web-service", "parameters": dict(WEB_PARAMS)}
    body.update(extra)
    return client.post("/api/services", json=body)


def test_create_service_end_to_end(
    suite: Suite, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("checkout")
    response = create(payments, name)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["id"] == name and accepted["status"] == "provisioning"
    assert accepted["operation"].startswith("operations/")
    assert (
        response.headers["location"] == f"/api/operations/{accepted['operation'].removeprefix('operations/')}"
    )
    assert accepted["estimated_monthly_cost"]["amount"] > 0

    operation = wait_for_operation(payments, accepted["operation"])
    assert operation["status"] == "succeeded", operation
    assert operation["steps"] and all(s["state"] in {"succeeded", "skipped"} for s in operation["steps"])

    status = payments.get(f"/api/services/{name}")
    assert status.status_code == 200, status.text
    service = status.json()
    assert service["status"] == "active"
    assert service["team"] == "payments"
    assert service["unavailable"] == []
    assert service["endpoints"], service
    assert service["health"] in {"healthy", "unknown"}
    assert set(service["metrics"]) == {"requests_per_second", "error_rate", "latency_p99"}
    assert service["cost"] is not None and service["cost"]["currency"] == "USD"

    files = subprocess.run(
        ["git", "--git-dir", str(suite.gitops_repository), "ls-tree", "-r", "--name-only", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert any(f.startswith(f"services/payments/{name}/development/") for f in files), files

    alerts = payments.get(f"/api/services/{name}/alerts").json()
    assert {r["display_name"] for r in alerts["rules"]} >= {"High Error Rate", "Service Down", "High Latency"}

    listed = payments.get("/api/services", params={"team": "payments", "state": "active"}).json()
    assert name in {s["name"] for s in listed["services"]}

    info = payments.get(f"/api/services/{name}/catalog-info.yaml")
    assert info.status_code == 200
    entities = [e for e in yaml.safe_load_all(info.text) if e]
    assert any(e["kind"] == "Component" and e["metadata"]["name"] == name for e in entities)


def test_operation_event_stream_reports_steps_then_done(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    accepted = create(payments, unique_name("stream")).json()
    events: list[str] = []
    with payments.stream(
        "GET", f"/api/operations/{accepted['operation'].removeprefix('operations/')}/events"
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    assert "step" in events
    assert events[-1] == "done"


def test_idempotency_key_returns_the_same_operation(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("idem")
    body = {"name": name, "team": "payments", "template": "web-service", "parameters": WEB_PARAMS}
    headers = {"Idempotency-Key": f"key-{name}"}
    first = payments.post("/api/services", json=body, headers=headers)
    second = payments.post("/api/services", json=body, headers=headers)
    assert first.status_code == second.status_code == 202, (first.text, second.text)
    assert first.json()["operation"] == second.json()["operation"]
    wait_for_operation(payments, first.json()["operation"])


def test_creating_an_existing_service_is_a_conflict(
    payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("twice")
    first = create(payments, name)
    assert first.status_code == 202
    wait_for_operation(payments, first.json()["operation"])
    again = create(payments, name)
    assert again.status_code == 409
    assert again.json()["error"]["name"] == "ConflictError"


def test_request_id_is_returned_and_generated(payments: httpx.Client) -> None:
    assert (
        payments.get("/api/templates", headers={"x-request-id": "e2e-rid-1"}).headers["x-request-id"]
        == "e2e-rid-1"
    )
    assert len(payments.get("/api/templates").headers["x-request-id"]) >= 16


def test_templates_and_backstage_template(payments: httpx.Client) -> None:
    templates = payments.get("/api/templates").json()["templates"]
    assert {"web-service", "background-worker", "scheduled-job"} <= {t["id"] for t in templates}
    exported = payments.get("/api/templates/web-service/backstage")
    assert exported.status_code == 200
    document = yaml.safe_load(exported.text)
    assert document["apiVersion"] == "scaffolder.backstage.io/v1beta3"


def test_costs_policies_alerts_and_probes(admin: httpx.Client, payments: httpx.Client) -> None:
    costs = payments.get("/api/costs")
    assert costs.status_code == 200, costs.text
    assert all(row["team"] == "payments" for row in costs.json()["teams"])
    assert payments.get("/api/costs/recommendations").status_code == 200
    assert payments.post("/api/costs/optimize", params={"dry_run": "true"}).status_code == 200
    assert payments.get("/api/policies").json()["items"]
    assert payments.get("/api/alerts").status_code == 200
    assert admin.get("/api/backstage/entities").status_code == 200
    ready = admin.get("/readyz")
    assert ready.status_code == 200 and set(ready.json()["services"].values()) == {"SERVING"}
    assert "paved_gateway_http_requests_total" in admin.get("/metrics").text


def test_request_id_is_forwarded_on_every_grpc_hop(
    suite: Suite, payments: httpx.Client, unique_name: Callable[[str], str]
) -> None:
    name = unique_name("traced")
    accepted = create(payments, name)
    assert accepted.status_code == 202, accepted.text
    wait_for_operation(payments, accepted.json()["operation"])
    request_id = f"e2e-trace-{uuid.uuid4().hex}"
    response = payments.get(f"/api/services/{name}", headers={"x-request-id": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 5
    missing = {"catalog", "alerting", "cost"}
    while missing and time.monotonic() < deadline:
        missing = {service for service in missing if request_id not in suite.log(service, tail=None)}
        time.sleep(0.1)
    assert not missing, f"request id not seen in the logs of {missing}"
