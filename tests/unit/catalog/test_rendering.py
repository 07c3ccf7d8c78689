"""Rendering templates into plans: conditions, defaults, observability, properties, tags, validity."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import RenderedPlan, render
from paved_catalog.spec import TemplateSpec
from paved_kit.errors import InvalidArgument

KUBERNETES_VERSION = "1.30"
DEFAULTS = PlatformDefaults()


def _spec(file_name: str) -> TemplateSpec:
    spec = parse_template_document(builtin_documents()[file_name]).spec
    assert spec is not None
    return spec


def _render(file_name: str, parameters: dict[str, Any], **context: str) -> RenderedPlan:
    return render(_spec(file_name), 1, parameters, RenderContext(**{"team": "payments", **context}), DEFAULTS)


def _by_name(plan: RenderedPlan) -> dict[str, Any]:
    return {r.name: r for r in plan.resources}


def test_web_service_with_a_database() -> None:
    plan = _render(
        "web-service.yaml",
        {"service_name": "checkout", "language": "python", "min_instances": 3},
        environment="production",
    )
    resources = _by_name(plan)
    assert list(resources) == ["compute", "networking", "database", "observability"]
    compute = resources["compute"].properties
    assert compute["instance_type"] == "t3.medium"
    assert (compute["min_instances"], compute["max_instances"], compute["replicas"]) == (3, 10, 3)
    assert (compute["cpu_request"], compute["memory_limit"]) == ("250m", "512Mi")
    assert compute["critical"] is True and compute["spot"] is False
    assert compute["port"] == 8080
    assert compute["image"] == "registry.paved.internal/payments/checkout:0.1.0"
    database = resources["database"].properties
    assert database == {
        "engine": "postgres",
        "instance_class": "db.t3.medium",
        "storage_gb": 20,
        "encrypted": True,
        "multi_az": True,
        "backup_retention_days": 30,
        "region": "us-east-1",
    }
    assert resources["networking"].properties["host"] == "checkout.production.paved.internal"
    observability = resources["observability"].properties
    assert all(observability[s] for s in ("metrics", "logs", "traces", "alerts"))
    assert observability["log_retention_days"] == 90
    kinds = [m["kind"] for m in resources["observability"].manifests]
    assert kinds == ["ServiceMonitor", "ConfigMap", "PrometheusRule"]
    # The platform's defaults joined the workload: a disruption budget and a network policy.
    assert [m["kind"] for m in resources["compute"].manifests] == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
    ]
    for resource in plan.resources:
        assert resource.tags == {
            "owner": "payments",
            "team": "payments",
            "cost_center": "payments",
            "environment": "production",
            "service": "checkout",
        }
    # The managed database: Paved's module, encrypted with the service's key, tagged.
    database_call = plan.terraform["module"]["database"]
    assert database_call["source"] == "./modules/paved-database"
    assert database_call["kms_key_arn"] == "${module.checkout.kms_key_arn}"
    assert database_call["tags"]["cost_center"] == "payments"
    assert "checkout" not in plan.terraform["module"], "provisioning writes the service module call"
    assert plan.parameters["database"] == "postgres"
    assert [w.name for w in plan.workflows] == ["deploy", "rollback"]


def test_web_service_without_a_database() -> None:
    plan = _render("web-service.yaml", {"service_name": "checkout", "language": "go", "database": "none"})
    assert [r.type for r in plan.resources] == ["compute", "networking", "observability"]
    assert "resource" not in plan.terraform


@pytest.mark.parametrize(
    ("file_name", "parameters"),
    [
        ("web-service.yaml", {"service_name": "checkout", "language": "java"}),
        ("background-worker.yaml", {"service_name": "mailer", "language": "go", "database": "mysql"}),
        (
            "scheduled-job.yaml",
            {"service_name": "nightly", "language": "python", "schedule": "0 3 * * *", "storage": "s3"},
        ),
    ],
)
def test_kubernetes_objects_validate_against_the_kubernetes_schemas(
    file_name: str, parameters: dict[str, Any]
) -> None:
    plan = _render(file_name, parameters, environment="staging")
    objects = [m for r in plan.resources if r.type in ("compute", "networking") for m in r.manifests]
    assert objects
    for manifest in objects:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        assert manifest["metadata"]["namespace"] == "payments"
        assert manifest["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "paved"


def test_scheduled_job_storage_properties() -> None:
    plan = _render(
        "scheduled-job.yaml",
        {"service_name": "nightly", "language": "python", "schedule": "@daily", "storage": "s3"},
    )
    storage = _by_name(plan)["storage"].properties
    assert storage["storage_class"] == "s3" and storage["encrypted"] is True and storage["storage_gb"] == 50
    assert _by_name(plan)["compute"].properties["schedule"] == "@daily"


def test_platform_values_cannot_be_set_as_parameters() -> None:
    with pytest.raises(InvalidArgument) as caught:
        _render("web-service.yaml", {"service_name": "a", "language": "go", "image": "evil:latest"})
    assert [v.field for v in caught.value.field_violations] == ["parameters.image"]
    plan = _render(
        "web-service.yaml", {"service_name": "a", "language": "go"}, image="registry.example.com/a:1.2"
    )
    assert _by_name(plan)["compute"].properties["image"] == "registry.example.com/a:1.2"


def test_declared_parameters_may_set_a_platform_value() -> None:
    document = builtin_documents()["web-service.yaml"].replace(
        "  parameters:\n",
        "  parameters:\n    - name: image\n      type: string\n      default: nginx:1.27\n",
        1,
    )
    spec = parse_template_document(document).spec
    assert spec is not None
    plan = render(spec, 1, {"service_name": "a", "language": "go"}, RenderContext(team="t"), DEFAULTS)
    assert plan.resources[0].properties["image"] == "nginx:1.27"


def test_team_parameter_must_match_the_owner() -> None:
    with pytest.raises(InvalidArgument) as caught:
        _render("web-service.yaml", {"service_name": "a", "language": "go", "team": "other"})
    assert [v.field for v in caught.value.field_violations] == ["parameters.team"]


def test_missing_identity_and_bad_context_are_reported_together() -> None:
    with pytest.raises(InvalidArgument) as caught:
        render(
            _spec("web-service.yaml"),
            1,
            {"language": "go"},
            RenderContext(environment="Prod!", image="bad image"),
            DEFAULTS,
        )
    fields = {v.field for v in caught.value.field_violations}
    assert fields == {"context.environment", "context.image", "parameters.service_name", "context.team"}


def test_an_optional_parameter_without_value_used_by_a_template_is_an_error() -> None:
    document = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata: {name: t}
spec:
  parameters:
    - {name: service_name, type: string, required: true}
    - {name: owner_email, type: string}
  resources:
    - type: compute
      template: |
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: "{{ .service_name }}"}
        data: {email: "{{ .owner_email }}"}
"""
    spec = parse_template_document(document).spec
    assert spec is not None
    with pytest.raises(InvalidArgument) as caught:
        render(spec, 1, {"service_name": "a"}, RenderContext(team="t"), DEFAULTS)
    assert [v.field for v in caught.value.field_violations] == ["parameters.owner_email"]


FREE_TEXT = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata: {name: notice-board}
spec:
  parameters:
    - {name: service_name, type: string, required: true}
    - {name: notice, type: string, required: true}
    - {name: replicas, type: int, default: 2}
  resources:
    - type: compute
      template: |
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .service_name }}
          annotations:
            notice: {{ .notice }}
        spec:
          replicas: {{ .replicas }}
          selector:
            matchLabels: {app: "{{ .service_name }}"}
          template:
            metadata:
              labels: {app: "{{ .service_name }}"}
            spec:
              containers:
                - name: app
                  image: {{ .image }}
                  args: ["--notice", "{{ .notice }}"]
"""


@settings(max_examples=100, deadline=None)
@given(notice=st.text(min_size=1, max_size=300))
def test_rendered_plans_keep_their_shape_whatever_the_value(notice: str) -> None:
    spec = parse_template_document(FREE_TEXT).spec
    assert spec is not None
    plan = render(spec, 1, {"service_name": "board", "notice": notice}, RenderContext(team="comms"), DEFAULTS)
    (compute,) = plan.resources
    deployment, *platform_objects = compute.manifests
    assert [o["kind"] for o in platform_objects] == ["PodDisruptionBudget", "NetworkPolicy"]
    assert set(deployment) == {"apiVersion", "kind", "metadata", "spec"}
    assert deployment["metadata"]["annotations"] == {"notice": notice}
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["--notice", notice]
    assert container["image"] == "registry.paved.internal/comms/board:0.1.0"


def test_a_rendered_object_with_a_hostile_value_is_still_a_valid_kubernetes_object() -> None:
    spec = parse_template_document(FREE_TEXT).spec
    assert spec is not None
    notice = "x\n---\nkind: Secret\nmetadata: {name: stolen}\n&a *a {{ .image }} 'quoted' \"dq\" : # ~"
    plan = render(spec, 1, {"service_name": "board", "notice": notice}, RenderContext(team="comms"), DEFAULTS)
    deployment, *platform_objects = plan.resources[0].manifests
    for obj in (deployment, *platform_objects):
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert deployment["kind"] == "Deployment" and deployment["metadata"]["annotations"]["notice"] == notice


def _scaled(plan: RenderedPlan) -> dict[str, Any]:
    objects = [m for r in plan.resources if r.type == "compute" for m in r.manifests]
    return {
        m["kind"]: m["spec"] for m in objects if m.get("kind") in ("Deployment", "HorizontalPodAutoscaler")
    }


def test_the_environments_replicas_floor_raises_workloads_and_autoscalers() -> None:
    parameters = {"service_name": "checkout", "language": "go", "database": "none", "min_instances": 1}
    plain = _render("web-service.yaml", parameters, environment="production")
    floored = render(
        _spec("web-service.yaml"),
        1,
        parameters,
        RenderContext(team="payments", environment="production", replicas_floor=3),
        DEFAULTS,
    )
    assert _scaled(plain)["HorizontalPodAutoscaler"]["minReplicas"] == 1
    assert _scaled(floored)["HorizontalPodAutoscaler"]["minReplicas"] == 3
    assert _scaled(floored)["Deployment"].get("replicas", 3) >= 3
    compute = _by_name(floored)["compute"].properties
    assert (compute["min_instances"], compute["replicas"]) == (3, 3)
    # A template asking for more than the floor keeps its number.
    more = render(
        _spec("web-service.yaml"),
        1,
        {**parameters, "min_instances": 5},
        RenderContext(team="payments", environment="production", replicas_floor=3),
        DEFAULTS,
    )
    assert _by_name(more)["compute"].properties["min_instances"] == 5


def test_a_replicas_floor_out_of_range_is_named() -> None:
    with pytest.raises(InvalidArgument) as raised:
        render(
            _spec("web-service.yaml"),
            1,
            {"service_name": "checkout", "language": "go"},
            RenderContext(team="payments", replicas_floor=1001),
            DEFAULTS,
        )
    assert [v.field for v in raised.value.field_violations] == ["context.replicas_floor"]
