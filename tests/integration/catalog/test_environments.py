"""Environments over a real catalog server: the platform's promotion path as data, a service registered in
one environment and added to others (same team and template), each environment's own record, and bad
input refused with the field named and nothing changed."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import duration_pb2, field_mask_pb2
from paved.catalog.v1 import catalog_pb2

State = catalog_pb2.Service


def _service(name: str, team: str, environment: str, **fields: Any) -> catalog_pb2.Service:
    defaults: dict[str, Any] = {"template": "templates/web-service", "state": State.STATE_PROVISIONING}
    service = catalog_pb2.Service(
        name=f"services/{name}", team=team, environment=environment, **{**defaults, **fields}
    )
    return service


async def _create(catalog: Any, service: catalog_pb2.Service, request_id: str = "") -> catalog_pb2.Service:
    return await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(service=service, request_id=request_id)
    )


async def _environments_of(catalog: Any, name: str) -> list[str]:
    got = await catalog.stub.GetService(catalog_pb2.GetServiceRequest(name=f"services/{name}"))
    return [e.environment for e in got.environments]


async def test_platform_path_is_development_staging_production(catalog: Any) -> None:
    reply = await catalog.stub.ListEnvironments(catalog_pb2.ListEnvironmentsRequest())

    assert [(e.name, e.position) for e in reply.environments] == [
        ("environments/development", 0),
        ("environments/staging", 1),
        ("environments/production", 2),
    ]
    production = reply.environments[2]
    assert production.approval_required and production.soak_time.seconds == 3600
    assert not reply.environments[0].approval_required


async def test_same_service_in_another_environment_is_added_as_a_child(catalog: Any) -> None:
    first = await _create(catalog, _service("checkout", "payments", "development"), "op-dev")
    assert [e.name for e in first.environments] == ["services/checkout/environments/development"]

    staging = _service("checkout", "payments", "staging")
    staging.parameters.update({"min_instances": 3})
    added = await _create(catalog, staging, "op-staging")

    assert added.uid == first.uid and added.environment == "development"
    assert [e.environment for e in added.environments] == ["development", "staging"]
    again = await _create(catalog, staging, "op-staging")  # a retried registration changes nothing
    assert [e.environment for e in again.environments] == ["development", "staging"]
    child = await catalog.stub.GetServiceEnvironment(
        catalog_pb2.GetServiceEnvironmentRequest(name="services/checkout/environments/staging")
    )
    assert child.state == State.STATE_PROVISIONING
    assert dict(child.parameter_overrides) == {"min_instances": 3}
    in_staging = await catalog.stub.ListServices(
        catalog_pb2.ListServicesRequest(filter='environment = "staging"')
    )
    assert [s.name for s in in_staging.services] == ["services/checkout"]
    in_production = await catalog.stub.ListServices(
        catalog_pb2.ListServicesRequest(filter='environment = "production"')
    )
    assert list(in_production.services) == []


async def test_full_pages_carry_each_service_s_environments_whatever_the_filter(catalog: Any) -> None:
    # Names sort a < b < c < d; b and d also run in staging, c is another team's.
    for name, team in (("a", "payments"), ("b", "payments"), ("c", "search"), ("d", "payments")):
        await _create(catalog, _service(name, team, "development"), f"op-{name}")
    for name in ("b", "d"):
        await _create(catalog, _service(name, "payments", "staging"), f"op-{name}-staging")

    async def pages(filter_text: str) -> list[tuple[str, list[str]]]:
        found: list[tuple[str, list[str]]] = []
        token = ""
        while True:
            page = await catalog.stub.ListServices(
                catalog_pb2.ListServicesRequest(
                    filter=filter_text, page_size=1, page_token=token, view=catalog_pb2.SERVICE_VIEW_FULL
                )
            )
            found += [
                (s.name.removeprefix("services/"), [e.environment for e in s.environments])
                for s in page.services
            ]
            token = page.next_page_token
            if not token:
                return found

    both = ["development", "staging"]
    assert await pages('environment = "staging"') == [("b", both), ("d", both)]
    assert await pages('team = "payments" AND NOT environment = "staging"') == [("a", ["development"])]
    # The same shape of filter with other values reads other services.
    assert await pages('team = "search"') == [("c", ["development"])]
    assert await pages('team = "payments"') == [("a", ["development"]), ("b", both), ("d", both)]
    assert await pages("") == [("a", ["development"]), ("b", both), ("c", ["development"]), ("d", both)]


async def test_a_different_service_under_the_same_name_is_a_conflict_saying_which(
    catalog: Any, failing: Any
) -> None:
    await _create(catalog, _service("checkout", "payments", "development"))

    team = await failing(_create(catalog, _service("checkout", "search", "staging")))
    template = await failing(
        _create(catalog, _service("checkout", "payments", "staging", template="templates/worker"))
    )
    twice = await failing(_create(catalog, _service("checkout", "payments", "development")))

    assert team.code == grpc.StatusCode.ALREADY_EXISTS and team.reason == "SERVICE_MISMATCH"
    assert "team is 'payments', not 'search'" in team.message and team.metadata["mismatch"] == "team"
    assert template.reason == "SERVICE_MISMATCH" and template.metadata["mismatch"] == "template"
    assert twice.reason == "ENVIRONMENT_EXISTS"
    assert await _environments_of(catalog, "checkout") == ["development"]


async def test_unknown_environment_is_refused_and_nothing_is_registered(catalog: Any, failing: Any) -> None:
    error = await failing(_create(catalog, _service("checkout", "payments", "qa")))

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.reason == "UNKNOWN_ENVIRONMENT"
    (violation,) = error.field_violations
    assert violation.field == "service.environment" and "known: development, staging, production" in (
        violation.description
    )
    missing = await failing(catalog.stub.GetService(catalog_pb2.GetServiceRequest(name="services/checkout")))
    assert missing.code == grpc.StatusCode.NOT_FOUND


async def test_each_environment_keeps_its_own_state_and_the_first_follows_the_service(catalog: Any) -> None:
    await _create(catalog, _service("checkout", "payments", "development"))
    await _create(catalog, _service("checkout", "payments", "staging"))

    await catalog.stub.UpdateServiceEnvironment(
        catalog_pb2.UpdateServiceEnvironmentRequest(
            service_environment=catalog_pb2.ServiceEnvironment(
                name="services/checkout/environments/staging",
                state=State.STATE_ACTIVE,
                version="1.4.0",
                image="registry.example/checkout:1.4.0",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["state", "version", "image"]),
        )
    )
    await catalog.stub.UpdateService(
        catalog_pb2.UpdateServiceRequest(
            service=catalog_pb2.Service(name="services/checkout", state=State.STATE_FAILED),
            update_mask=field_mask_pb2.FieldMask(paths=["state"]),
        )
    )

    listed = await catalog.stub.ListServiceEnvironments(
        catalog_pb2.ListServiceEnvironmentsRequest(parent="services/checkout")
    )
    states = {e.environment: (e.state, e.version) for e in listed.service_environments}
    assert states == {"development": (State.STATE_FAILED, ""), "staging": (State.STATE_ACTIVE, "1.4.0")}


async def test_missing_environment_of_a_service_is_not_found_and_unknown_one_is_invalid(
    catalog: Any, failing: Any
) -> None:
    await _create(catalog, _service("checkout", "payments", "development"))

    absent = await failing(
        catalog.stub.GetServiceEnvironment(
            catalog_pb2.GetServiceEnvironmentRequest(name="services/checkout/environments/production")
        )
    )
    unknown = await failing(
        catalog.stub.GetServiceEnvironment(
            catalog_pb2.GetServiceEnvironmentRequest(name="services/checkout/environments/qa")
        )
    )
    malformed = await failing(
        catalog.stub.GetServiceEnvironment(catalog_pb2.GetServiceEnvironmentRequest(name="services/checkout"))
    )

    assert absent.code == grpc.StatusCode.NOT_FOUND and absent.reason == "ENVIRONMENT_NOT_FOUND"
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT and unknown.field_violations[0].field == "name"
    assert malformed.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_environment_settings_change_by_mask_and_bad_values_change_nothing(
    catalog: Any, failing: Any
) -> None:
    changed = await catalog.stub.UpdateEnvironment(
        catalog_pb2.UpdateEnvironmentRequest(
            environment=catalog_pb2.Environment(
                name="environments/staging",
                approval_required=True,
                soak_time=duration_pb2.Duration(seconds=600),
                namespace="{team}-staging",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["approval_required", "soak_time", "namespace"]),
        )
    )
    assert changed.approval_required and changed.soak_time.seconds == 600
    assert changed.namespace == "{team}-staging"

    bad = await failing(
        catalog.stub.UpdateEnvironment(
            catalog_pb2.UpdateEnvironmentRequest(
                environment=catalog_pb2.Environment(
                    name="environments/staging",
                    replicas_floor=-1,
                    soak_time=duration_pb2.Duration(seconds=-5),
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["replicas_floor", "soak_time"]),
            )
        )
    )
    mask = await failing(
        catalog.stub.UpdateEnvironment(
            catalog_pb2.UpdateEnvironmentRequest(
                environment=catalog_pb2.Environment(name="environments/staging", position=7),
                update_mask=field_mask_pb2.FieldMask(paths=["position"]),
            )
        )
    )
    unknown = await failing(
        catalog.stub.UpdateEnvironment(
            catalog_pb2.UpdateEnvironmentRequest(
                environment=catalog_pb2.Environment(name="environments/qa", approval_required=True),
                update_mask=field_mask_pb2.FieldMask(paths=["approval_required"]),
            )
        )
    )

    assert {v.field for v in bad.field_violations} == {"environment.replicas_floor", "environment.soak_time"}
    assert mask.field_violations[0].field == "update_mask"
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT and unknown.reason == "UNKNOWN_ENVIRONMENT"
    after = await catalog.stub.ListEnvironments(catalog_pb2.ListEnvironmentsRequest())
    staging = after.environments[1]
    assert staging.soak_time.seconds == 600 and staging.replicas_floor == 0 and staging.position == 1


async def test_backstage_export_is_one_component_with_its_environments(catalog: Any) -> None:
    await _create(catalog, _service("checkout", "payments", "development"))
    await _create(catalog, _service("checkout", "payments", "production"))
    await catalog.stub.UpdateServiceEnvironment(
        catalog_pb2.UpdateServiceEnvironmentRequest(
            service_environment=catalog_pb2.ServiceEnvironment(
                name="services/checkout/environments/production",
                version="2.0.0",
                endpoints=["https://checkout.prod.example"],
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["version", "endpoints"]),
        )
    )

    exported = await catalog.stub.ExportBackstageEntities(catalog_pb2.ExportBackstageEntitiesRequest())

    components = [e for e in exported.entities if e["kind"] == "Component"]
    assert [c["metadata"]["name"] for c in components] == ["checkout"]
    (component,) = components
    annotations = component["metadata"]["annotations"]
    assert annotations["paved.dev/environments"] == "development,production"
    assert annotations["paved.dev/production-version"] == "2.0.0"
    assert annotations["paved.dev/development-state"] == "PROVISIONING"
    links = [(link["title"], link["url"]) for link in component["metadata"]["links"]]
    assert ("Endpoint (production)", "https://checkout.prod.example") in links
    assert component["spec"]["lifecycle"] == "production"
