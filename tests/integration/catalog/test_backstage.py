"""Backstage export over real gRPC, checked with Backstage's own validators (@backstage/catalog-model and
@backstage/plugin-scaffolder-common) through a small node script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf import json_format
from paved.catalog.v1 import catalog_pb2

VALIDATOR_DIR = Path(__file__).parent / "backstage"
BROKEN = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "bad name"},
        "spec": {},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "g"},
        "spec": {"type": "team"},
    },
]
INSTALL_TIMEOUT_SECONDS = 300


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def backstage_validator() -> Path:
    """The validation script with its npm dependencies installed (once per checkout)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("Backstage export validation needs node and npm on PATH")
    if not (VALIDATOR_DIR / "node_modules" / "@backstage" / "catalog-model").is_dir():
        result = subprocess.run(
            ["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(VALIDATOR_DIR)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            _unavailable(f"npm install of Backstage's validators failed: {result.stderr.strip()[-500:]}")
    return VALIDATOR_DIR / "validate.mjs"


def _validate(script: Path, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = subprocess.run(
        ["node", str(script)],
        input=json.dumps(entities),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=script.parent,
    )
    results: list[dict[str, Any]] = json.loads(result.stdout)
    return results


async def _register(catalog: Any, name: str, team: str, parameters: dict[str, Any], environment: str) -> None:
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name=name, team=team, environment=environment),
    )
    render.parameters.update({"service_name": name, "language": "python", **parameters})
    plan = (await catalog.stub.RenderTemplate(render)).plan
    await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(
            service=catalog_pb2.Service(
                name=f"services/{name}",
                plan=plan,
                endpoints=[f"https://{name}.{environment}.paved.internal"],
                documentation_url=f"https://docs.paved.internal/{name}",
            )
        )
    )


async def test_exported_entities_pass_backstage_validation(catalog: Any, backstage_validator: Path) -> None:
    await _register(catalog, "checkout", "payments", {}, "production")
    await _register(catalog, "ledger", "payments", {"database": "none"}, "staging")
    await _register(catalog, "search", "discovery", {"database": "mysql"}, "development")
    response = await catalog.stub.ExportBackstageEntities(catalog_pb2.ExportBackstageEntitiesRequest())
    entities = [json_format.MessageToDict(e) for e in response.entities]
    assert list(yaml.safe_load_all(response.yaml)) == entities
    kinds = sorted((e["kind"], e["metadata"]["name"]) for e in entities)
    assert kinds == [
        ("Component", "checkout"),
        ("Component", "ledger"),
        ("Component", "search"),
        ("Group", "discovery"),
        ("Group", "payments"),
        ("Resource", "checkout-database"),
        ("Resource", "search-database"),
        ("System", "discovery"),
        ("System", "payments"),
    ]
    checkout = next(e for e in entities if e["metadata"]["name"] == "checkout")
    assert checkout["spec"] == {
        "type": "service",
        "lifecycle": "production",
        "owner": "group:default/payments",
        "system": "payments",
        "dependsOn": ["resource:default/checkout-database"],
    }
    annotations = checkout["metadata"]["annotations"]
    for key in (
        "backstage.io/managed-by-location",
        "backstage.io/managed-by-origin-location",
        "backstage.io/kubernetes-id",
        "backstage.io/source-location",
        "backstage.io/techdocs-ref",
    ):
        assert key in annotations
    # Broken entities ride along as a control: the validators must reject them.
    results = _validate(backstage_validator, entities + BROKEN)
    assert [r for r in results[: len(entities)] if not r["ok"]] == []
    assert [r["ok"] for r in results[len(entities) :]] == [False, False]

    filtered = await catalog.stub.ExportBackstageEntities(
        catalog_pb2.ExportBackstageEntitiesRequest(filter="team = discovery")
    )
    one = await catalog.stub.ExportBackstageEntities(
        catalog_pb2.ExportBackstageEntitiesRequest(filter='name = "services/ledger"')
    )
    assert [(e["kind"], e["metadata"]["name"]) for e in map(json_format.MessageToDict, one.entities)] == [
        ("Component", "ledger"),
        ("Group", "payments"),
        ("System", "payments"),
    ]
    assert sorted(e["kind"] for e in map(json_format.MessageToDict, filtered.entities)) == [
        "Component",
        "Group",
        "Resource",
        "System",
    ]

    # Where Backstage reads them from (the gateway's address as the caller used it) is where they say they
    # are managed; without it, the configured location.
    located = await catalog.stub.ExportBackstageEntities(
        catalog_pb2.ExportBackstageEntitiesRequest(
            filter='name = "services/ledger"', location_url="https://paved.example.com/api/backstage/entities"
        )
    )
    for entity in map(json_format.MessageToDict, located.entities):
        assert entity["metadata"]["annotations"]["backstage.io/managed-by-location"] == (
            "url:https://paved.example.com/api/backstage/entities"
        )
    assert "url:https://paved.example.com/" not in one.yaml


async def test_software_templates_pass_backstage_validation(catalog: Any, backstage_validator: Path) -> None:
    documents = []
    for template in ("web-service", "background-worker", "scheduled-job"):
        response = await catalog.stub.ExportBackstageTemplate(
            catalog_pb2.ExportBackstageTemplateRequest(template=f"templates/{template}")
        )
        document = json_format.MessageToDict(response.template)
        assert yaml.safe_load(response.yaml) == document
        assert document["apiVersion"] == "scaffolder.backstage.io/v1beta3" and document["kind"] == "Template"
        (step,) = document["spec"]["steps"]
        assert step["action"] == "http:backstage:request"
        assert step["input"]["method"] == "POST" and step["input"]["path"] == "/proxy/paved/api/services"
        assert step["input"]["body"]["template"] == template
        form = document["spec"]["parameters"][0]
        assert "service_name" in form["required"] and "language" in form["required"]
        assert form["properties"]["language"]["enum"] == ["python", "go", "java", "nodejs", "rust"]
        documents.append(document)
    assert _validate(backstage_validator, documents) == [
        {"kind": "Template", "name": name, "ok": True}
        for name in ("web-service", "background-worker", "scheduled-job")
    ]


async def test_software_template_proxy_path(catalog: Any, failing: Any) -> None:
    response = await catalog.stub.ExportBackstageTemplate(
        catalog_pb2.ExportBackstageTemplateRequest(
            template="templates/web-service", proxy_path="/proxy/platform"
        )
    )
    assert response.template["spec"]["steps"][0]["input"]["path"] == "/proxy/platform/api/services"
    error = await failing(
        catalog.stub.ExportBackstageTemplate(
            catalog_pb2.ExportBackstageTemplateRequest(
                template="templates/web-service", proxy_path="relative"
            )
        )
    )
    assert error.field_violations[0].field == "proxy_path"
