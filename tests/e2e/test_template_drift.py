"""Template drift over the whole suite: services created from revision 1 of a golden path, revision 2 adds a
startup probe and raises the memory limit; the drift lists each service with that diff rendered from its own
parameters, and a service whose GitOps files a person changed is reported as edited by hand with what they
changed. Bad input names the field."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from click.testing import CliRunner
from conftest import TOKENS
from e2e_suite import Suite, wait_for_operation
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_catalog.builtins import builtin_documents
from paved_client.cli import main

MEMORY_LIMIT = "                      memory: 512Mi\n"
READINESS = "                  readinessProbe:\n"
STARTUP = (
    "                  startupProbe:\n"
    "                    httpGet:\n"
    "                      path: /healthz\n"
    "                      port: http\n"
    "                    failureThreshold: 30\n"
)
CONTAINER = "/spec/template/spec/containers/0"


def _documents(template: str) -> tuple[str, str]:
    first = builtin_documents()["web-service.yaml"].replace("name: web-service", f"name: {template}", 1)
    assert f"name: {template}" in first and first.count(MEMORY_LIMIT) == 1 and first.count(READINESS) == 1
    second = first.replace(MEMORY_LIMIT, MEMORY_LIMIT.replace("512Mi", "1Gi")).replace(
        READINESS, STARTUP + READINESS
    )
    return first, second


@pytest.fixture
def catalog(suite: Suite) -> Iterator[catalog_pb2_grpc.CatalogServiceStub]:
    with grpc.insecure_channel(suite.address("catalog")) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)


def _create(client: httpx.Client, name: str, template: str, min_instances: int) -> None:
    response = client.post(
        "/api/services",
        json={
            "name": name,
            "team": "payments",
            "template": template,
            "parameters": {"language": "go", "database": "none", "min_instances": min_instances},
        },
    )
    assert response.status_code == 202, response.text
    assert wait_for_operation(client, response.json()["operation"])["status"] == "succeeded"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Dana", "-c", "user.email=dana@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _edit_replicas_by_hand(suite: Suite, work: Path, service: str, replicas: int) -> None:
    subprocess.run(["git", "clone", "-q", str(suite.gitops_repository), str(work)], check=True)
    manifest = work / "services" / "payments" / service / "development" / "k8s" / "compute.yaml"
    objects = list(yaml.safe_load_all(manifest.read_text()))
    for obj in objects:
        if obj and obj.get("kind") == "Deployment":
            obj["spec"]["replicas"] = replicas
    manifest.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    _git(work, "commit", "-q", "-am", f"{service}: more replicas for the sale")
    _git(work, "push", "-q", "origin", "HEAD:main")


@pytest.fixture
def drifted(
    admin: httpx.Client,
    payments: httpx.Client,
    catalog: catalog_pb2_grpc.CatalogServiceStub,
    unique_name: Callable[[str], str],
) -> tuple[str, list[str]]:
    """A template with three services on revision 1, then a revision 2."""
    template = f"drift-{uuid.uuid4().hex[:8]}"
    first, second = _documents(template)
    created = catalog.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=first, change_note="v1"))
    names = sorted(unique_name("drift") for _ in range(3))
    for index, name in enumerate(names):
        _create(payments, name, template, 2 + index)
    before = admin.get(f"/api/templates/{template}/drift")
    assert before.status_code == 200, before.text
    assert (before.json()["behind_count"], before.json()["current_count"]) == (0, 3)
    catalog.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(
            name=f"templates/{template}", document=second, etag=created.etag, change_note="startup probe, 1Gi"
        )
    )
    return template, names


def _fields(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [deployment] = entry["changes"]
    assert (deployment["kind"], deployment["name"], deployment["change"]) == (
        "Deployment",
        entry["service"],
        "changed",
    )
    return {f["path"]: f for f in deployment["fields"]}


def test_drift_lists_every_service_with_its_diff_and_the_hand_edited_one(
    suite: Suite,
    admin: httpx.Client,
    payments: httpx.Client,
    search: httpx.Client,
    drifted: tuple[str, list[str]],
    tmp_path: Path,
) -> None:
    template, names = drifted
    _edit_replicas_by_hand(suite, tmp_path / "work", names[1], 9)

    response = payments.get(f"/api/templates/{template}/drift")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["template"], body["revision"], body["latest_revision"]) == (template, 2, 2)
    assert (body["behind_count"], body["current_count"], body["hand_edited_count"]) == (3, 0, 1)
    assert [s["service"] for s in body["services"]] == names
    for entry in body["services"]:
        assert (entry["environment"], entry["revision"], entry["revisions_behind"]) == ("development", 1, 1)
        assert entry["counts"] == {"added": 0, "changed": 1, "removed": 0}
        fields = _fields(entry)
        assert set(fields) == {f"{CONTAINER}/resources/limits/memory", f"{CONTAINER}/startupProbe"}
        memory = fields[f"{CONTAINER}/resources/limits/memory"]
        assert (memory["change"], memory["before"], memory["after"]) == ("changed", "512Mi", "1Gi")
        probe = fields[f"{CONTAINER}/startupProbe"]
        assert (probe["change"], probe["before"]) == ("added", None)
        assert probe["after"] == {"httpGet": {"path": "/healthz", "port": "http"}, "failureThreshold": 30}

    edited = {s["service"]: s for s in body["services"]}
    assert [n for n, s in edited.items() if s["hand_edited"]] == [names[1]]
    assert all(edited[n]["hand_edits"] is None for n in (names[0], names[2]))
    hand = edited[names[1]]["hand_edits"]
    assert hand["path"] == f"services/payments/{names[1]}/development"
    assert hand["files"] == ["k8s/compute.yaml"] and hand["paved_commit"] != hand["last_commit"]
    [deployment] = hand["changes"]
    assert (deployment["key"], deployment["resource"]) == (
        f"Deployment/payments/{names[1]}",
        "k8s/compute.yaml",
    )
    replicas = [(f["path"], f["before"], f["after"]) for f in deployment["fields"]]
    assert replicas == [("/spec/replicas", 3, 9)] and isinstance(replicas[0][1], int)

    one = payments.get(f"/api/services/{names[0]}/drift")
    assert one.status_code == 200, one.text
    assert (one.json()["template"], one.json()["revision"]) == (template, 2)
    [environment] = one.json()["environments"]
    assert (environment["revision"], environment["hand_edited"]) == (1, False)
    assert set(_fields(environment)) == set(_fields(edited[names[0]]))
    old = payments.get(f"/api/services/{names[0]}/drift", params={"revision": 1})
    assert old.status_code == 200, old.text
    assert [(e["revisions_behind"], e["changes"]) for e in old.json()["environments"]] == [(0, [])]

    # Another team sees none of payments' services, and may not ask about one of them.
    others = search.get(f"/api/templates/{template}/drift")
    assert others.status_code == 200, others.text
    assert (others.json()["behind_count"], others.json()["services"]) == (0, [])
    assert search.get(f"/api/services/{names[0]}/drift").status_code == 403

    # A pin holds the service at its revision; drift lists it as pinned, with who and why.
    pin_path = f"/api/services/{names[2]}/environments/development/pin"
    expires = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    pinned = payments.put(pin_path, json={"reason": "quarter-end freeze", "expires_at": expires})
    assert pinned.status_code == 200, pinned.text
    assert (pinned.json()["template_revision"], pinned.json()["pin"]["revision"]) == (1, 1)
    assert pinned.json()["pin"]["pinned_by"] == TOKENS["payments"]["subject"]
    past = payments.put(pin_path, json={"reason": "x", "expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and "expires_at" in past.text, past.text
    unknown = payments.put(pin_path, json={"reason": "x", "expires_at": expires, "revision": 9})
    assert unknown.status_code == 404 and "revision 9" in unknown.text, unknown.text
    assert search.put(pin_path, json={"reason": "x", "expires_at": expires}).status_code == 403
    listed = payments.get(f"/api/templates/{template}/drift").json()
    assert listed["pinned_count"] == 1
    assert [s["service"] for s in listed["services"] if s["pin"]] == [names[2]]
    assert {s["service"]: s for s in listed["services"]}[names[2]]["pin"]["reason"] == "quarter-end freeze"

    result = CliRunner().invoke(
        main,
        ["templates", "drift", template],
        env={"PAVED_URL": suite.gateway_url, "PAVED_TOKEN": str(TOKENS["payments"]["token"])},
    )
    assert result.exit_code == 0, result.output
    assert "3 service environment(s) not on it" in result.output and "1 edited by hand" in result.output
    assert f"{CONTAINER}/startupProbe" in result.output and "512Mi → 1Gi" in result.output
    assert "pinned at revision 1 until" in result.output

    released = payments.delete(pin_path)
    assert released.status_code == 200 and released.json()["pin"] is None, released.text
    assert payments.get(f"/api/templates/{template}/drift").json()["pinned_count"] == 0


def test_bad_drift_requests_name_the_field(admin: httpx.Client, drifted: tuple[str, list[str]]) -> None:
    template, names = drifted
    unknown = admin.get(f"/api/templates/{template}/drift", params={"revision": 9})
    assert unknown.status_code == 404, unknown.text
    assert "revision 9" in unknown.json()["error"]["message"]
    negative = admin.get(f"/api/templates/{template}/drift", params={"revision": -1})
    assert negative.status_code == 400, negative.text
    assert "revision" in negative.text
    assert admin.get("/api/templates/no-such-template/drift").status_code == 404
    assert admin.get("/api/services/no-such-service/drift").status_code == 404
    unknown = admin.get(f"/api/services/{names[0]}/drift", params={"revision": 9})
    assert unknown.status_code == 404 and "revision 9" in unknown.json()["error"]["message"]
