"""Template drift over real gRPC: services rendered from an old revision, diffed against the latest with
their own parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2

DOCUMENT = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata:
  name: worker
  description: A queue worker
spec:
  parameters:
    - name: service_name
      type: string
      required: true
    - name: team
      type: string
      required: true
    - name: replicas
      type: int
      default: 1
  resources:
    - type: compute
      template: |
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ .service_name }}
          namespace: {{ .namespace }}
        spec:
          replicas: {{ .replicas }}
          selector:
            matchLabels:
              app: {{ .service_name }}
          template:
            metadata:
              labels:
                app: {{ .service_name }}
            spec:
              containers:
                - name: worker
                  image: {{ .image }}
                  resources:
                    limits:
                      memory: 256Mi
"""
SECOND = DOCUMENT.replace("memory: 256Mi", "memory: 512Mi").replace(
    "                  resources:\n",
    "                  readinessProbe:\n                    tcpSocket:\n                      port: 8080\n"
    "                  resources:\n",
)
NAME = "templates/worker"
CONTAINER = "/spec/template/spec/containers/0"


async def _service(catalog: Any, name: str, replicas: int) -> None:
    rendered = await catalog.stub.RenderTemplate(
        catalog_pb2.RenderTemplateRequest(
            template=NAME,
            parameters={"service_name": name, "team": "payments", "replicas": replicas},
            context=catalog_pb2.RenderContext(environment="development"),
        )
    )
    await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(
            service=catalog_pb2.Service(
                name=f"services/{name}",
                team="payments",
                environment="development",
                template=NAME,
                template_revision=rendered.plan.template_revision,
                parameters=rendered.plan.parameters,
                plan=rendered.plan,
                state=catalog_pb2.Service.STATE_ACTIVE,
            )
        )
    )


async def _second_revision(catalog: Any) -> None:
    latest = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME))
    await catalog.stub.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(
            name=NAME, document=SECOND, etag=latest.etag, change_note="probe, more memory"
        )
    )


async def test_services_behind_are_listed_with_their_structured_diff(catalog: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    await _service(catalog, "orders", 2)
    await _service(catalog, "billing", 3)
    unchanged = await catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME))
    assert (unchanged.revision, unchanged.current_count, list(unchanged.services)) == (1, 2, [])

    await _second_revision(catalog)
    drift = await catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME))
    assert (drift.template, drift.revision, drift.latest_revision, drift.current_count) == (NAME, 2, 2, 0)
    assert [s.name for s in drift.services] == [
        "services/billing/environments/development",
        "services/orders/environments/development",
    ]
    for entry, name in zip(drift.services, ("billing", "orders"), strict=True):
        assert (entry.revision, entry.revisions_behind, entry.team, entry.problem) == (1, 1, "payments", "")
        [obj] = entry.changes
        assert (obj.key, obj.kind, obj.name, obj.change) == (
            f"Deployment/payments/{name}",
            "Deployment",
            name,
            common_pb2.CHANGE_KIND_CHANGED,
        )
        fields = {f.path: f for f in obj.fields}
        assert set(fields) == {f"{CONTAINER}/readinessProbe", f"{CONTAINER}/resources/limits/memory"}
        probe, memory = fields[f"{CONTAINER}/readinessProbe"], fields[f"{CONTAINER}/resources/limits/memory"]
        assert probe.change == common_pb2.CHANGE_KIND_ADDED and not probe.HasField("before")
        assert probe.after.struct_value["tcpSocket"]["port"] == 8080
        assert memory.change == common_pb2.CHANGE_KIND_CHANGED
        assert (memory.before.string_value, memory.after.string_value) == ("256Mi", "512Mi")

    # Compared with revision 1 nothing is behind; one service's own view lists it even when current.
    old = await catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME, revision=1))
    assert (old.revision, old.current_count, list(old.services)) == (1, 2, [])
    one = await catalog.stub.GetTemplateDrift(
        catalog_pb2.GetTemplateDriftRequest(name=NAME, service="services/orders", revision=1)
    )
    assert [(s.name, s.revisions_behind, len(s.changes)) for s in one.services] == [
        ("services/orders/environments/development", 0, 0)
    ]


async def test_bad_drift_requests_name_the_field(catalog: Any, failing: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    await _service(catalog, "orders", 2)
    error = await failing(
        catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME, revision=7))
    )
    assert error.code == grpc.StatusCode.NOT_FOUND and "no revision 7" in error.message
    error = await failing(
        catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME, revision=-2))
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["revision"]
    error = await failing(
        catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name="templates/nope"))
    )
    assert error.code == grpc.StatusCode.NOT_FOUND
    error = await failing(
        catalog.stub.GetTemplateDrift(
            catalog_pb2.GetTemplateDriftRequest(name="templates/web-service", service="services/orders")
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["service"]
    error = await failing(
        catalog.stub.GetTemplateDrift(
            catalog_pb2.GetTemplateDriftRequest(name=NAME, service="services/ghost")
        )
    )
    assert error.code == grpc.StatusCode.NOT_FOUND


def _in(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC) + timedelta(seconds=seconds))
    return stamp


async def test_a_pinned_service_is_listed_with_its_pin_until_unpinned(catalog: Any, failing: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    await _service(catalog, "orders", 2)
    await _service(catalog, "billing", 3)
    await _second_revision(catalog)
    child = "services/orders/environments/development"
    pinned = await catalog.stub.PinTemplateRevision(
        catalog_pb2.PinTemplateRevisionRequest(name=child, reason="change freeze", expire_time=_in(3600)),
        metadata=(("x-paved-author", "alice"),),
    )
    assert (pinned.pin.revision, pinned.pin.reason, pinned.pin.pinned_by) == (1, "change freeze", "alice")
    got = await catalog.stub.GetServiceEnvironment(catalog_pb2.GetServiceEnvironmentRequest(name=child))
    assert got.pin.revision == 1 and got.pin.expire_time.seconds == pinned.pin.expire_time.seconds

    drift = await catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME))
    assert drift.pinned_count == 1
    by_name = {s.service: s for s in drift.services}
    assert by_name["services/orders"].pin.reason == "change freeze" and by_name["services/orders"].changes
    assert not by_name["services/billing"].HasField("pin")

    for request, field in (
        (catalog_pb2.PinTemplateRevisionRequest(name=child, expire_time=_in(60)), "reason"),
        (catalog_pb2.PinTemplateRevisionRequest(name=child, reason="x"), "expire_time"),
        (catalog_pb2.PinTemplateRevisionRequest(name=child, reason="x", expire_time=_in(-60)), "expire_time"),
        (
            catalog_pb2.PinTemplateRevisionRequest(name=child, reason="x", expire_time=_in(400 * 86400)),
            "expire_time",
        ),
        (
            catalog_pb2.PinTemplateRevisionRequest(name="services/orders", reason="x", expire_time=_in(60)),
            "name",
        ),
    ):
        error = await failing(catalog.stub.PinTemplateRevision(request))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, request
        assert [v.field for v in error.field_violations] == [field]
    error = await failing(
        catalog.stub.PinTemplateRevision(
            catalog_pb2.PinTemplateRevisionRequest(name=child, revision=5, reason="x", expire_time=_in(60))
        )
    )
    assert error.code == grpc.StatusCode.NOT_FOUND and "no revision 5" in error.message
    still = await catalog.stub.GetServiceEnvironment(catalog_pb2.GetServiceEnvironmentRequest(name=child))
    assert still.pin.reason == "change freeze"

    unpinned = await catalog.stub.UnpinTemplateRevision(catalog_pb2.UnpinTemplateRevisionRequest(name=child))
    assert not unpinned.HasField("pin")
    drift = await catalog.stub.GetTemplateDrift(catalog_pb2.GetTemplateDriftRequest(name=NAME))
    assert drift.pinned_count == 0 and not any(s.HasField("pin") for s in drift.services)


async def test_scorecard_and_backstage_say_how_far_behind_the_golden_path_a_service_is(catalog: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    await _service(catalog, "orders", 2)

    def on_path(card: Any) -> Any:
        return next(c for c in card.checks if c.id == "on_current_golden_path")

    card = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/orders"))
    assert on_path(card).passed and on_path(card).evidence == "on revision 1 of templates/worker, the latest"
    await _second_revision(catalog)
    card = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/orders"))
    assert not on_path(card).passed
    assert on_path(card).evidence == "on revision 1 of templates/worker, 1 behind the latest (2)"

    exported = await catalog.stub.ExportBackstageEntities(
        catalog_pb2.ExportBackstageEntitiesRequest(filter='name = "orders"')
    )
    [component] = [e for e in exported.entities if e["kind"] == "Component"]
    annotations = component["metadata"]["annotations"]
    assert (annotations["paved.dev/template-name"], annotations["paved.dev/template-revision"]) == (
        "worker",
        "1",
    )
    assert annotations["paved.dev/template-latest-revision"] == "2"
    assert annotations["paved.dev/template-revisions-behind"] == "1"
    assert annotations["paved.dev/development-template-revision"] == "1"
