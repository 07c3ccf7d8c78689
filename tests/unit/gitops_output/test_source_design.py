"""The source design's own ServiceTemplate loads verbatim and renders into files that deploy: workflows in
list form, a comment-only ``database`` resource as the platform's managed database (DynamoDB included),
``rust`` as a language and ``{{ .image }}`` from the platform."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.append(str(Path(__file__).resolve().parent))
from golden_path_output import SOURCE_DESIGN, Case, committed_files, kubernetes_documents
from paved_catalog.document import parse_template_document

DOCUMENT = SOURCE_DESIGN.read_text()


def _spec() -> Any:
    parsed = parse_template_document(DOCUMENT)
    assert parsed.violations == ()
    assert parsed.spec is not None
    return parsed.spec


def _files(**parameters: Any) -> dict[str, bytes]:
    case = Case("source-design", {"service_name": "users", "team": "payments", **parameters}, "production")
    return committed_files(_spec(), case)


def test_the_document_loads_as_written() -> None:
    spec = _spec()
    assert spec.name == "web-service"
    assert {w.name: w.steps[-1] for w in spec.workflows} == {
        "deploy": "promote_production",
        "rollback": "verify_health",
    }
    assert spec.parameter("languages").values == ("go", "rust", "python", "java")
    assert "dynamodb" in spec.parameter("database").values
    database = next(r for r in spec.resources if r.type == "database")
    assert database.template.strip().startswith("# Provision managed database")
    # The fixture is the design's document: raw text, not re-serialised.
    assert "{{ .image }}" in DOCUMENT and "- name: deploy\n      steps:" in DOCUMENT


def test_dynamodb_becomes_an_encrypted_backed_up_tagged_table() -> None:
    files = _files(database="dynamodb", languages="rust")
    base = "services/payments/users/production"
    main = json.loads(files[f"{base}/terraform/main.tf.json"])
    call = main["module"]["database"]
    assert call["source"] == "./modules/paved-dynamodb"
    assert call["kms_key_arn"] == "${module.users.kms_key_arn}" and call["tags"]["owner"] == "payments"
    table = files[f"{base}/terraform/modules/paved-dynamodb/main.tf"].decode()
    assert 'resource "aws_dynamodb_table" "table"' in table
    assert "point_in_time_recovery" in table and "server_side_encryption" in table
    deployment = next(o for _, o in kubernetes_documents(files) if o["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {"name": "DYNAMODB_TABLE", "value": "users-production"} in container["env"]
    assert container["image"].endswith("/payments/users:0.1.0")
    # The design's Deployment had no probes, ports or security context; the platform's defaults did.
    assert container["ports"] == [{"containerPort": 8080, "name": "http"}]
    assert container["securityContext"]["runAsNonRoot"] is True and "readinessProbe" in container


def test_postgres_gets_its_connection_through_an_external_secret() -> None:
    files = _files(database="postgres")
    objects = {o["kind"]: o for _, o in kubernetes_documents(files)}
    secret = objects["ExternalSecret"]
    assert secret["spec"]["target"]["name"] == "users-database"
    assert secret["spec"]["dataFrom"] == [{"extract": {"key": "paved/production/users/database"}}]
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "database-credentials", "secret": {"secretName": "users-database"}} in pod["volumes"]
    (container,) = pod["containers"]
    assert any(m["name"] == "database-credentials" and m["readOnly"] for m in container["volumeMounts"])
    main = json.loads(files["services/payments/users/production/terraform/main.tf.json"])
    assert main["module"]["database"]["connection_secret_name"] == "paved/production/users/database"
    assert main["module"]["database"]["multi_az"] is True


def test_no_database_means_no_data_store() -> None:
    files = _files(database="none")
    main = json.loads(files["services/payments/users/production/terraform/main.tf.json"])
    assert list(main["module"]) == ["users"]
    kustomization = yaml.safe_load(files["services/payments/users/production/kustomization.yaml"])
    assert "k8s/database.yaml" not in kustomization["resources"]
