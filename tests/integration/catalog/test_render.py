"""ValidateParameters and RenderTemplate over real gRPC, including injection attempts."""

from __future__ import annotations

from typing import Any

import grpc
import kubernetes_validate
from google.protobuf import json_format
from paved.catalog.v1 import catalog_pb2

FREE_TEXT = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata:
  name: notice-board
spec:
  parameters:
    - name: service_name
      type: string
      required: true
    - name: notice
      type: string
      required: true
  resources:
    - type: compute
      template: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .service_name }}
          annotations:
            notice: {{ .notice }}
        data:
          notice: "{{ .notice }}"
          image: {{ .image }}
"""

INJECTIONS = [
    "hello\nkind: Secret",
    "x\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: stolen}",
    "{{ .image }}",
    "*ref",
    "&anchor value",
    "ok: true",
    "'\"",
    "!!binary aGVsbG8=",
]


def _integral(value: Any) -> Any:
    # Struct numbers are doubles; a consumer writing manifests turns 3.0 back into 3.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _manifests(plan: Any, resource: str) -> list[dict[str, Any]]:
    (found,) = [r for r in plan.resources if r.name == resource]
    return [_integral(json_format.MessageToDict(m)) for m in found.manifests]


def _struct(data: dict[str, Any]) -> Any:
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


async def test_validate_parameters_lists_every_violation(catalog: Any) -> None:
    response = await catalog.stub.ValidateParameters(
        catalog_pb2.ValidateParametersRequest(
            template="templates/web-service",
            parameters=_struct(
                {
                    "service_name": "Not A Label",
                    "language": "cobol",
                    "min_instances": 0,
                    "instance_type": "x",
                    "image": "evil:latest",
                    "database": 3,
                }
            ),
        )
    )
    assert not response.valid
    assert {(v.field, v.rule) for v in response.violations} == {
        ("service_name", "DNS_LABEL"),
        ("language", "ENUM"),
        ("min_instances", "RANGE"),
        ("instance_type", "PATTERN"),
        ("image", "UNKNOWN"),
        ("database", "TYPE"),
    }
    ok = await catalog.stub.ValidateParameters(
        catalog_pb2.ValidateParametersRequest(
            template="templates/web-service", parameters=_struct({"service_name": "shop", "language": "go"})
        )
    )
    assert ok.valid and ok.resolved["database"] == "postgres" and ok.resolved["min_instances"] == 2


async def test_render_with_and_without_a_database(catalog: Any) -> None:
    request = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        parameters=_struct({"service_name": "shop", "language": "go", "min_instances": 4}),
        context=catalog_pb2.RenderContext(service_name="shop", team="retail", environment="production"),
    )
    plan = (await catalog.stub.RenderTemplate(request)).plan
    assert [r.name for r in plan.resources] == ["compute", "networking", "database", "observability"]
    assert plan.template == "templates/web-service" and plan.template_revision == 1
    assert (plan.service_name, plan.team, plan.environment, plan.namespace) == (
        "shop",
        "retail",
        "production",
        "retail",
    )
    assert plan.region == "us-east-1" and plan.image.endswith("/retail/shop:0.1.0")
    compute = plan.resources[0]
    assert compute.properties["replicas"] == 4 and compute.properties["instance_type"] == "t3.medium"
    assert dict(compute.tags) == {
        "owner": "retail",
        "team": "retail",
        "cost_center": "retail",
        "environment": "production",
        "service": "shop",
    }
    database = plan.resources[2].properties
    assert database["engine"] == "postgres" and database["encrypted"] is True
    assert [w.name for w in plan.workflows] == ["deploy", "rollback"]
    for resource in ("compute", "networking"):
        for manifest in _manifests(plan, resource):
            kubernetes_validate.validate(manifest, "1.30", strict=True)

    request.parameters["database"] = "none"
    without = (await catalog.stub.RenderTemplate(request)).plan
    assert [r.name for r in without.resources] == ["compute", "networking", "observability"]


async def test_values_cannot_inject_structure(catalog: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=FREE_TEXT))
    for notice in INJECTIONS:
        plan = (
            await catalog.stub.RenderTemplate(
                catalog_pb2.RenderTemplateRequest(
                    template="templates/notice-board",
                    parameters=_struct({"service_name": "board", "notice": notice}),
                    context=catalog_pb2.RenderContext(team="comms", image="registry.example.com/board:1"),
                )
            )
        ).plan
        (manifest,) = _manifests(plan, "compute")
        assert manifest["kind"] == "ConfigMap"
        assert manifest["metadata"]["annotations"] == {"notice": notice}
        assert manifest["data"] == {"notice": notice, "image": "registry.example.com/board:1"}
        kubernetes_validate.validate(manifest, "1.30", strict=True)


async def test_structure_in_a_constrained_parameter_is_refused(catalog: Any, failing: Any) -> None:
    error = await failing(
        catalog.stub.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template="templates/web-service",
                parameters=_struct({"service_name": "shop\n  namespace: kube-system", "language": "go"}),
                context=catalog_pb2.RenderContext(team="retail"),
            )
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["parameters.service_name"]
    assert error.field_violations[0].description.startswith("DNS_LABEL")


async def test_platform_values_are_not_parameters(catalog: Any, failing: Any) -> None:
    error = await failing(
        catalog.stub.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template="templates/web-service",
                parameters=_struct(
                    {"service_name": "shop", "language": "go", "image": "evil", "namespace": "kube-system"}
                ),
                context=catalog_pb2.RenderContext(team="retail"),
            )
        )
    )
    assert {v.field for v in error.field_violations} == {"parameters.image", "parameters.namespace"}
    missing = await failing(
        catalog.stub.RenderTemplate(catalog_pb2.RenderTemplateRequest(template="templates/nothing-here"))
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
