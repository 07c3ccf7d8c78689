"""Every committed Kubernetes object decodes under Kubernetes' Go-JSON rules: no float where the OpenAPI
schema says ``integer`` (``replicas: 2.0`` is refused by the API server), for every built-in template and a
matrix of parameters and environments."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parent))
from golden_path_output import Case, committed_files, crd_schema, golden_paths, kubernetes_documents, matrix
from paved_catalog.kubernetes_decoding import integer_decode_errors, validator_for

SPECS = golden_paths()
CASES = [case for label, spec in SPECS.items() for case in matrix(spec, label)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_committed_objects_have_integers_where_kubernetes_decodes_integers(case: Case) -> None:
    files = committed_files(SPECS[case.template], case)
    objects = list(kubernetes_documents(files))
    assert objects
    problems = []
    for path, obj in objects:
        schema = crd_schema(obj["apiVersion"], obj["kind"])
        validator = validator_for(schema) if schema is not None else None
        problems += [
            f"{path} {obj['kind']}/{obj['metadata']['name']} {error.path}: {error.message}"
            for error in integer_decode_errors(obj, validator)
        ]
    assert problems == []
    # Terraform JSON and the documentation carry the same integers.
    for path, content in files.items():
        if path.endswith(".json"):
            assert not re.search(r":\s*-?\d+\.0\b", content.decode()), path
            json.loads(content)
        if path.endswith(".md"):
            assert not re.search(r"=\d+\.0\b", content.decode()), path


def test_the_matrix_covers_every_template_and_enum_value() -> None:
    assert {case.template for case in CASES} == set(SPECS)
    databases = {case.parameters.get("database") for case in CASES if case.template == "web-service"}
    assert {"postgres", "mysql", "none"} <= databases


def test_the_check_sees_a_float_where_kubernetes_wants_an_integer() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "orders"},
        "spec": {
            "replicas": 2.0,
            "selector": {"matchLabels": {"app": "orders"}},
            "template": {
                "metadata": {"labels": {"app": "orders"}},
                "spec": {"containers": [{"name": "app", "image": "x:1", "ports": [{"containerPort": 8080}]}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "orders"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080.0}]},
    }
    assert [e.path for e in integer_decode_errors(deployment)] == ["spec.replicas"]
    # targetPort is int-or-string: a float is neither.
    assert [e.path for e in integer_decode_errors(service)] == ["spec.ports[0].targetPort"]
    deployment["spec"]["replicas"] = 2
    service["spec"]["ports"][0]["targetPort"] = "http"
    assert integer_decode_errors(deployment) == integer_decode_errors(service) == []


def test_custom_resources_are_decoded_against_their_shipped_schema() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "orders"},
        "spec": {"selector": {}, "podMetricsEndpoints": [{"port": "metrics", "targetPort": 9090.0}]},
    }
    schema = crd_schema("monitoring.coreos.com/v1", "PodMonitor")
    assert schema is not None
    errors = integer_decode_errors(monitor, validator_for(schema))
    assert [e.path for e in errors] == ["spec.podMetricsEndpoints[0].targetPort"]
