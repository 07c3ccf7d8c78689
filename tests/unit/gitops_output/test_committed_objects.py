"""The committed Kubernetes objects are what the cluster's controllers expect: every object validates
against its schema (the Kubernetes OpenAPI schema, or the shipped CRD schema of a custom resource), and
the observability objects follow the ecosystem's conventions (Prometheus Operator, Grafana's dashboard
sidecar, OpenTelemetry's SDK environment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

sys.path.append(str(Path(__file__).resolve().parent))
from golden_path_output import Case, committed_files, crd_schema, golden_paths, kubernetes_documents, matrix
from paved_alerting.export import rule_groups
from paved_alerting.rules import build_rule, default_rule_drafts

SPECS = golden_paths()
CASES = [case for label, spec in SPECS.items() for case in matrix(spec, label)]
KUBERNETES_VERSION = kubernetes_validate.latest_version()


def _objects(case: Case) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    files = committed_files(SPECS[case.template], case)
    return files, [obj for _, obj in kubernetes_documents(files)]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_every_committed_object_validates_against_its_schema(case: Case) -> None:
    _, objects = _objects(case)
    for obj in objects:
        schema = crd_schema(obj["apiVersion"], obj["kind"])
        if schema is not None:
            jsonschema.Draft7Validator(schema).validate(obj)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("template", sorted(SPECS))
def test_observability_objects_follow_the_ecosystem_conventions(template: str) -> None:
    spec = SPECS[template]
    case = next(matrix(spec, template))
    files, objects = _objects(case)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    includes = next(r.includes for r in spec.resources if r.type == "observability")
    workload = next(o for o in objects if o["kind"] in ("Deployment", "CronJob"))
    pod = (
        workload["spec"]["template"]
        if workload["kind"] == "Deployment"
        else (workload["spec"]["jobTemplate"]["spec"]["template"])
    )
    if "metrics" in includes:
        (monitor,) = by_kind.get("ServiceMonitor", []) + by_kind.get("PodMonitor", [])
        if monitor["kind"] == "ServiceMonitor":
            (service,) = by_kind["Service"]
            assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
            port_names = {p.get("name") for p in service["spec"]["ports"]}
            assert monitor["spec"]["endpoints"][0]["port"] in port_names
        else:
            selector = monitor["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pod["metadata"]["labels"].items()
            container_ports = {p.get("name") for c in pod["spec"]["containers"] for p in c.get("ports", [])}
            assert monitor["spec"]["podMetricsEndpoints"][0]["port"] in container_ports
        (dashboard_map,) = [
            c for c in by_kind["ConfigMap"] if c["metadata"]["labels"].get("grafana_dashboard")
        ]
        assert dashboard_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        (model,) = [json.loads(v) for v in dashboard_map["data"].values()]
        docs = files[next(p for p in files if p.endswith("docs/index.md"))].decode()
        assert f"/d/{model['uid']}/" in docs, "the documented dashboard link points at the shipped dashboard"
        assert "{'title'" not in docs
    if "alerts" in includes:
        (rule,) = by_kind["PrometheusRule"]
        # The same rules the alerting service exports for the service's default alerts.
        defaults = [
            build_rule(rule_id, draft, default_rule=True)
            for rule_id, draft in default_rule_drafts("orders", "payments")
        ]
        assert _comparable(rule["spec"]["groups"]) == _comparable(rule_groups(defaults))
    env = {e["name"]: e["value"] for c in pod["spec"]["containers"] for e in c.get("env", [])}
    if "traces" in includes:
        assert env["OTEL_SERVICE_NAME"] == "orders"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http")
        assert "deployment.environment=development" in env["OTEL_RESOURCE_ATTRIBUTES"]
    else:
        assert "OTEL_SERVICE_NAME" not in env


def _comparable(groups: list[dict[str, Any]]) -> list[Any]:
    return [
        (
            g["name"],
            g["interval"],
            sorted((r["alert"], r["expr"], r["for"], r["labels"]["severity"]) for r in g["rules"]),
        )
        for g in groups
    ]


@pytest.mark.skipif(
    shutil.which("promtool") is None and not __import__("os").environ.get("CI"), reason="promtool"
)
@pytest.mark.parametrize("template", sorted(SPECS))
def test_prometheus_rules_pass_promtool(template: str, tmp_path: Path) -> None:
    _, objects = _objects(next(matrix(SPECS[template], template)))
    rules = [o for o in objects if o["kind"] == "PrometheusRule"]
    if not rules:
        pytest.skip(f"{template} exports no alert rules")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rules[0]["spec"]["groups"]}))
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("template", sorted(SPECS))
def test_kustomize_builds_the_committed_directory(template: str, tmp_path: Path) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl (kustomize) is needed")
        pytest.skip("kubectl is not installed")
    files, objects = _objects(next(matrix(SPECS[template], template)))
    for path, content in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(content)
    directory = tmp_path / next(p for p in files if p.endswith("kustomization.yaml")).rsplit("/", 1)[0]
    result = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert sorted(o["kind"] for o in built) == sorted(o["kind"] for o in objects)
    assert all(o["metadata"]["namespace"] == "payments" for o in built)
