"""Paved's Backstage modules in a real Backstage backend (catalog, scaffolder, auth; in-memory SQLite)
against the real Paved suite: the generated templates run through Backstage's scaffolder REST API as
signed-in users, and the services appear in Backstage's catalog through the entity provider."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from backstage_backend import TEMPLATES, Backstage, Task, missing, start_backstage
from conftest import TOKENS
from e2e_suite import Suite, free_port


def _loose_template() -> dict[str, Any]:
    """The web-service template with its form's checks removed, as a drifted or hand-written template
    would be: Paved is then the one that refuses."""
    template = yaml.safe_load((TEMPLATES / "web-service.yaml").read_text())
    template["metadata"]["name"] = "web-service-loose"
    for page in template["spec"]["parameters"]:
        page["required"] = [name for name in page.get("required", []) if name in {"team"}]
        for field in page["properties"].values():
            for check in ("enum", "pattern", "minimum", "maximum", "maxLength"):
                field.pop(check, None)
    step = template["spec"]["steps"][0]
    step["input"]["parameters"]["colour"] = "${{ parameters.colour }}"
    template["spec"]["parameters"][0]["properties"]["colour"] = {"type": "string"}
    return template


def _deploy_template() -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "paved-deploy", "title": "Deploy a Paved service"},
        "spec": {
            "owner": "group:default/platform",
            "type": "deployment",
            "parameters": [
                {
                    "required": ["service"],
                    "properties": {"service": {"type": "string"}, "version": {"type": "string"}},
                }
            ],
            "steps": [
                {
                    "id": "deploy",
                    "name": "Deploy with Paved",
                    "action": "paved:service:deploy",
                    "input": {"service": "${{ parameters.service }}", "version": "${{ parameters.version }}"},
                }
            ],
            "output": {
                "text": [{"title": "Operation", "content": "${{ steps['deploy'].output.operationUrl }}"}]
            },
        },
    }


@pytest.fixture(scope="module")
def backstage(suite: Suite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backstage]:
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the Backstage end-to-end test cannot run: {reason}")
        pytest.skip(reason)
    running = start_backstage(
        tmp_path_factory.mktemp("backstage"),
        port=free_port(),
        gateway_url=suite.gateway_url,
        delegate_token=TOKENS["backstage"]["token"],  # type: ignore[arg-type]
        catalog_token=TOKENS["admin"]["token"],  # type: ignore[arg-type]
        extra_templates=[_loose_template(), _deploy_template()],
    )
    yield running
    running.stop()


def web_values(name: str, team: str = "payments", **extra: Any) -> dict[str, Any]:
    return {
        "service_name": name,
        "language": "python",
        "database": "none",
        "team": f"group:default/{team}",
        "environment": "development",
        **extra,
    }


def name() -> str:
    return f"bs-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def created(backstage: Backstage) -> tuple[str, Task]:
    """One service created by alice (team payments) through the web-service template."""
    service = name()
    task_id = backstage.start_task("alice", "web-service", web_values(service))
    return service, backstage.wait_task("alice", task_id)


def test_the_task_completes_once_the_service_is_active(
    created: tuple[str, Task], admin: httpx.Client
) -> None:
    service, task = created
    print(f"--- task log (success) ---\n{task.text}")  # what the user reads; shown with -s
    assert task.status == "completed", task.text
    assert admin.get(f"/api/services/{service}").json()["status"] == "active"
    log = task.text
    assert f"Creating service '{service}' for team 'payments'" in log and "as user:default/alice" in log
    assert "step activate: succeeded - service ACTIVE" in log
    assert log.index("step activate: succeeded") < log.index(f"service '{service}' is active")
    operation_url = (
        next(line for line in task.log if "Paved accepted the request" in line).split("(")[-1].rstrip(")")
    )
    operation = admin.get(operation_url.removeprefix(admin.base_url.__str__().rstrip("/"))).json()
    assert operation["status"] == "succeeded" and operation["requester"] == "user:default/alice"
    links = task.output["links"]
    assert {
        "title": "Open in catalog",
        "icon": "catalog",
        "entityRef": f"component:default/{service}",
    } in links
    (text,) = task.output["text"]
    assert "Estimated monthly cost" in text["content"] and operation_url in text["content"]


def test_the_component_appears_in_backstages_catalog_owned_by_the_team(
    created: tuple[str, Task], backstage: Backstage
) -> None:
    service, _ = created
    deadline = time.monotonic() + 60
    with backstage.client("bob") as client:
        while True:
            response = client.get(f"/api/catalog/entities/by-name/component/default/{service}")
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert response.status_code == 200, f"{service} never reached the catalog:\n{backstage.log()}"
    entity = response.json()
    assert entity["spec"]["owner"] == "group:default/payments"
    assert entity["metadata"]["annotations"]["paved.dev/state"] in {"active", "ACTIVE"}
    owned = {r["targetRef"] for r in entity.get("relations", []) if r["type"] == "ownedBy"}
    assert owned == {"group:default/payments"}


def test_a_retried_task_resumes_the_same_operation(created: tuple[str, Task], backstage: Backstage) -> None:
    _, first = created
    with backstage.client("alice") as client:
        assert client.post(f"/api/scaffolder/v2/tasks/{first.id}/retry", json={}).status_code == 201
    again = backstage.wait_task("alice", first.id, retried=True)
    assert again.status == "completed", again.text
    accepted = [line for line in again.log if "Paved accepted the request" in line]
    assert len(accepted) == 2 and accepted[0] == accepted[1], accepted  # same operation, no 409
    assert not any("already exists" in line for line in again.log)


def test_a_refusal_lists_every_field_error_naming_the_form_field(
    backstage: Backstage, admin: httpx.Client
) -> None:
    values = {
        "service_name": "Bad_Name",
        "language": "cobol",
        "instance_type": "huge",
        "colour": "blue",
        "team": "group:default/payments",
        "environment": "development",
    }
    task = backstage.wait_task("alice", backstage.start_task("alice", "web-service-loose", values))
    print(f"--- task log (refusal) ---\n{task.text}")
    assert task.status == "failed"
    log = task.log
    assert any(
        line.startswith("Paved refused creating service 'Bad_Name': the request is invalid") for line in log
    )
    fields = {line.split("'")[1] for line in log if line.startswith("field '")}
    assert {"service_name", "language", "instance_type", "colour"} <= fields, task.text
    assert not any(line.lstrip().startswith("at ") for line in log), "a stack trace reached the user"
    assert all(s["name"] != "Bad_Name" for s in admin.get("/api/services").json()["services"])


def test_a_provisioning_failure_fails_the_task_with_pavels_message(
    backstage: Backstage, suite: Suite, admin: httpx.Client
) -> None:
    service = name()
    suite.stop("alerting")
    try:
        task = backstage.wait_task("alice", backstage.start_task("alice", "web-service", web_values(service)))
    finally:
        suite.start("alerting")
    print(f"--- task log (failure) ---\n{task.text}")
    assert task.status == "failed", task.text
    failure = next(
        line for line in task.log if line.startswith(f"creating service '{service}' failed in Paved:")
    )
    assert "create_alerts" in task.text and "failed step create_alerts" in task.text, task.text
    status = admin.get(f"/api/services/{service}").json()["status"]
    assert status != "active", failure


def test_a_dry_run_checks_everything_and_creates_nothing(backstage: Backstage, admin: httpx.Client) -> None:
    service = name()
    template = yaml.safe_load((TEMPLATES / "web-service.yaml").read_text())
    with backstage.client("alice") as client:
        response = client.post(
            "/api/scaffolder/v2/dry-run",
            json={"template": template, "values": web_values(service), "directoryContents": []},
        )
    assert response.status_code == 200, response.text
    log = "\n".join(str(e["body"].get("message", "")) for e in response.json()["log"])
    assert "Checking (dry run, nothing is created)" in log
    assert "estimated monthly cost:" in log and "would create resource" in log and "quota services" in log
    assert admin.get(f"/api/services/{service}").status_code == 404

    with backstage.client("alice") as client:
        refused = client.post(
            "/api/scaffolder/v2/dry-run",
            json={
                "template": template,
                "values": web_values(service, team="search"),
                "directoryContents": [],
            },
        )
    # A refusal fails the dry run with Paved's message.
    assert refused.status_code >= 400, refused.text
    assert "user:default/alice may not act on services of team 'search'" in refused.text


def test_a_user_of_one_team_is_refused_for_another(
    created: tuple[str, Task], backstage: Backstage, admin: httpx.Client
) -> None:
    service, _ = created
    other = name()
    task = backstage.wait_task(
        "bob", backstage.start_task("bob", "web-service", web_values(other, team="payments"))
    )
    assert task.status == "failed"
    assert "user:default/bob may not act on services of team 'payments'" in task.text, task.text
    assert admin.get(f"/api/services/{other}").status_code == 404

    deploy = backstage.wait_task("bob", backstage.start_task("bob", "paved-deploy", {"service": service}))
    assert deploy.status == "failed"
    assert f"user:default/bob may not act on service '{service}'" in deploy.text, deploy.text

    own = backstage.wait_task(
        "alice", backstage.start_task("alice", "paved-deploy", {"service": service, "version": "1.0.1"})
    )
    assert own.status == "completed", own.text
    assert "the deploy of service" in own.text and "succeeded" in own.text


def test_cancelling_the_task_cancels_the_paved_operation(
    backstage: Backstage, suite: Suite, admin: httpx.Client
) -> None:
    service = name()
    alerting = suite.processes["alerting"]
    alerting.send_signal(signal.SIGSTOP)  # create_alerts hangs until its deadline: time to cancel
    try:
        task_id = backstage.start_task("alice", "web-service", web_values(service))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log = Task(task_id, "", backstage.events("alice", task_id)).text
            if "step create_alerts: running" in log:
                break
            time.sleep(0.2)
        operation_id = log.split("Paved accepted the request: operation ")[1].split(" ")[0]
        with backstage.client("alice") as client:
            assert client.post(f"/api/scaffolder/v2/tasks/{task_id}/cancel").status_code == 200
        task = backstage.wait_task("alice", task_id)
    finally:
        alerting.send_signal(signal.SIGCONT)
    # Backstage 4.3 ends a task cancelled during a step as failed; the step's log says why.
    assert task.status in {"cancelled", "failed"}, task.text
    assert f"task cancelled: cancelling Paved operation {operation_id}" in task.text
    deadline = time.monotonic() + 90
    while (operation := admin.get(f"/api/operations/{operation_id}").json())["done"] is False:
        assert time.monotonic() < deadline, operation
        time.sleep(0.5)
    assert operation["status"] == "failed", operation
    assert "cancel" in operation["error"]["message"].lower(), operation
    assert admin.get(f"/api/services/{service}").json()["status"] != "active"
