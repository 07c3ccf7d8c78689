"""The service registry over real gRPC: idempotent create, updates, lifecycle, filters and keyset paging."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import grpc
from google.protobuf import field_mask_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2

State = catalog_pb2.Service


async def _plan(catalog: Any, name: str, team: str, environment: str = "development") -> common_pb2.Plan:
    request = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name=name, team=team, environment=environment),
    )
    request.parameters.update({"service_name": name, "language": "go"})
    return (await catalog.stub.RenderTemplate(request)).plan


def _service(name: str, team: str, **fields: Any) -> catalog_pb2.Service:
    defaults: dict[str, Any] = {"template": "templates/web-service", "environment": "development"}
    return catalog_pb2.Service(name=f"services/{name}", team=team, **{**defaults, **fields})


async def test_create_from_a_plan_is_idempotent_by_request_id(catalog: Any, failing: Any) -> None:
    plan = await _plan(catalog, "checkout", "payments", "production")
    request = catalog_pb2.CreateServiceRequest(
        service=catalog_pb2.Service(name="services/checkout", state=State.STATE_PROVISIONING, plan=plan),
        request_id="op-1",
    )
    first = await catalog.stub.CreateService(request)
    assert first.team == "payments" and first.environment == "production"
    assert first.template == "templates/web-service" and first.template_revision == 1
    assert first.state == State.STATE_PROVISIONING and first.uid and first.etag
    assert first.parameters["language"] == "go"
    assert first.plan.resources[0].properties["instance_type"] == "t3.medium"
    again = await catalog.stub.CreateService(request)
    assert again == first
    fetched = await catalog.stub.GetService(catalog_pb2.GetServiceRequest(name="services/checkout"))
    assert fetched == first
    (basic,) = (await catalog.stub.ListServices(catalog_pb2.ListServicesRequest())).services
    assert not basic.HasField("plan") and basic.uid == first.uid
    full = await catalog.stub.ListServices(
        catalog_pb2.ListServicesRequest(view=catalog_pb2.SERVICE_VIEW_FULL)
    )
    assert list(full.services) == [first]

    conflict = await failing(
        catalog.stub.CreateService(
            catalog_pb2.CreateServiceRequest(
                service=_service("checkout", "payments", environment="production")
            )
        )
    )
    assert conflict.code == grpc.StatusCode.ALREADY_EXISTS and conflict.reason == "ENVIRONMENT_EXISTS"
    reused = await failing(
        catalog.stub.CreateService(
            catalog_pb2.CreateServiceRequest(service=_service("other", "payments"), request_id="op-1")
        )
    )
    assert reused.code == grpc.StatusCode.ALREADY_EXISTS and reused.reason == "REQUEST_ID_REUSED"


async def test_concurrent_retries_create_one_service(catalog: Any) -> None:
    request = catalog_pb2.CreateServiceRequest(service=_service("racer", "speed"), request_id="same-key")
    results = await asyncio.gather(
        *(catalog.stub.CreateService(request) for _ in range(6)), return_exceptions=True
    )
    assert all(isinstance(r, catalog_pb2.Service) for r in results), results
    assert len({r.uid for r in results}) == 1


async def test_invalid_services_are_rejected_with_every_violation(catalog: Any, failing: Any) -> None:
    bad = catalog_pb2.Service(
        name="services/ok-name",
        team="Bad Team",
        template="templates/web-service",
        endpoints=["not a url"],
        dashboards=[common_pb2.Link(title="", url="ftp://x")],
    )
    error = await failing(catalog.stub.CreateService(catalog_pb2.CreateServiceRequest(service=bad)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in error.field_violations} == {
        "service.team",
        "service.endpoints[0]",
        "service.dashboards[0].title",
        "service.dashboards[0].url",
    }
    bad_name = await failing(
        catalog.stub.CreateService(catalog_pb2.CreateServiceRequest(service=_service("Bad_Name", "t")))
    )
    assert [v.field for v in bad_name.field_violations] == ["service.name"]
    listed = await catalog.stub.ListServices(catalog_pb2.ListServicesRequest())
    assert list(listed.services) == []


async def test_update_state_and_links_with_a_mask(catalog: Any, failing: Any) -> None:
    created = await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(service=_service("shop", "retail"))
    )
    update = catalog_pb2.Service(
        name="services/shop",
        state=State.STATE_ACTIVE,
        endpoints=["https://shop.development.paved.internal"],
        dashboards=[common_pb2.Link(title="shop overview", url="http://grafana.paved.internal/d/x")],
        documentation_url="https://docs.paved.internal/shop",
        team="ignored-because-not-in-mask",
    )
    mask = field_mask_pb2.FieldMask(paths=["state", "endpoints", "dashboards", "documentation_url"])
    active = await catalog.stub.UpdateService(
        catalog_pb2.UpdateServiceRequest(service=update, update_mask=mask)
    )
    assert active.state == State.STATE_ACTIVE and active.team == "retail"
    assert list(active.endpoints) == ["https://shop.development.paved.internal"]
    assert active.dashboards[0].title == "shop overview"
    assert active.etag != created.etag and active.uid == created.uid

    stale = catalog_pb2.Service(name="services/shop", state=State.STATE_FAILED, etag=created.etag)
    aborted = await failing(
        catalog.stub.UpdateService(
            catalog_pb2.UpdateServiceRequest(
                service=stale, update_mask=field_mask_pb2.FieldMask(paths=["state"])
            )
        )
    )
    assert aborted.code == grpc.StatusCode.ABORTED

    immutable = await failing(
        catalog.stub.UpdateService(
            catalog_pb2.UpdateServiceRequest(
                service=update, update_mask=field_mask_pb2.FieldMask(paths=["template"])
            )
        )
    )
    assert (
        immutable.code == grpc.StatusCode.INVALID_ARGUMENT
        and immutable.field_violations[0].field == "update_mask"
    )

    # Re-provisioning as provisioning does it: state, plan, team and environment in one update.
    plan = await _plan(catalog, "shop", "retail", "staging")
    moved = await catalog.stub.UpdateService(
        catalog_pb2.UpdateServiceRequest(
            service=catalog_pb2.Service(
                name="services/shop",
                state=State.STATE_PROVISIONING,
                plan=plan,
                team="retail",
                environment="staging",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["state", "plan", "team", "environment"]),
        )
    )
    assert moved.environment == "staging" and moved.plan == plan and moved.state == State.STATE_PROVISIONING

    for target in (State.STATE_DEPROVISIONING, State.STATE_DELETED):
        await catalog.stub.UpdateService(
            catalog_pb2.UpdateServiceRequest(
                service=catalog_pb2.Service(name="services/shop", state=target),
                update_mask=field_mask_pb2.FieldMask(paths=["state"]),
            )
        )
    revived = await failing(
        catalog.stub.UpdateService(
            catalog_pb2.UpdateServiceRequest(
                service=catalog_pb2.Service(name="services/shop", state=State.STATE_ACTIVE),
                update_mask=field_mask_pb2.FieldMask(paths=["state"]),
            )
        )
    )
    assert revived.code == grpc.StatusCode.FAILED_PRECONDITION
    assert revived.precondition_violations[0].type == "STATE"
    # The name of a deleted service can be registered again.
    again = await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(service=_service("shop", "retail"))
    )
    assert again.uid != created.uid and again.state == State.STATE_PROVISIONING


async def test_delete_and_template_in_use(catalog: Any, failing: Any) -> None:
    await catalog.stub.CreateService(catalog_pb2.CreateServiceRequest(service=_service("api", "core")))
    in_use = await failing(
        catalog.stub.DeleteTemplate(catalog_pb2.DeleteTemplateRequest(name="templates/web-service"))
    )
    assert in_use.code == grpc.StatusCode.FAILED_PRECONDITION
    await catalog.stub.DeleteService(catalog_pb2.DeleteServiceRequest(name="services/api"))
    gone = await failing(catalog.stub.GetService(catalog_pb2.GetServiceRequest(name="services/api")))
    assert gone.code == grpc.StatusCode.NOT_FOUND
    again = await failing(catalog.stub.DeleteService(catalog_pb2.DeleteServiceRequest(name="services/api")))
    assert again.code == grpc.StatusCode.NOT_FOUND


async def _register(catalog: Any, specs: list[tuple[str, str, str, str, int]]) -> None:
    """(name, team, template, environment, state) tuples, created concurrently."""
    await asyncio.gather(
        *(
            catalog.stub.CreateService(
                catalog_pb2.CreateServiceRequest(
                    service=_service(
                        name, team, template=f"templates/{template}", environment=environment, state=state
                    )
                )
            )
            for name, team, template, environment, state in specs
        )
    )


async def _list_all(catalog: Any, filter_text: str, page_size: int = 100) -> list[str]:
    names: list[str] = []
    token = ""
    while True:
        page = await catalog.stub.ListServices(
            catalog_pb2.ListServicesRequest(filter=filter_text, page_size=page_size, page_token=token)
        )
        names += [s.name.removeprefix("services/") for s in page.services]
        token = page.next_page_token
        if not token:
            return names


async def test_filters(catalog: Any, failing: Any) -> None:
    await _register(
        catalog,
        [
            ("a1", "alpha", "web-service", "production", State.STATE_ACTIVE),
            ("a2", "alpha", "background-worker", "development", State.STATE_PROVISIONING),
            ("a3", "alpha", "web-service", "development", State.STATE_FAILED),
            ("b1", "beta", "web-service", "production", State.STATE_ACTIVE),
            ("b2", "beta", "scheduled-job", "staging", State.STATE_ACTIVE),
        ],
    )
    assert await _list_all(catalog, 'team = "alpha"') == ["a1", "a2", "a3"]
    assert await _list_all(catalog, "state = ACTIVE") == ["a1", "b1", "b2"]
    assert await _list_all(catalog, "template = web-service AND state = ACTIVE") == ["a1", "b1"]
    assert await _list_all(catalog, 'team = alpha AND template = "templates/web-service"') == ["a1", "a3"]
    assert await _list_all(catalog, "environment = production state = ACTIVE") == ["a1", "b1"]
    assert await _list_all(catalog, "team = beta AND (environment = staging OR state = STATE_FAILED)") == [
        "b2"
    ]
    assert await _list_all(catalog, "NOT team = alpha") == ["b1", "b2"]
    assert await _list_all(catalog, "state != ACTIVE") == ["a2", "a3"]
    for bad in ("colour = red", "state = SLEEPING", "team = ", "team > alpha"):
        error = await failing(catalog.stub.ListServices(catalog_pb2.ListServicesRequest(filter=bad)))
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT, bad
        assert error.field_violations[0].field == "filter"
    page = await catalog.stub.ListServices(
        catalog_pb2.ListServicesRequest(filter="team = alpha", page_size=2)
    )
    mismatched = await failing(
        catalog.stub.ListServices(
            catalog_pb2.ListServicesRequest(filter="team = beta", page_token=page.next_page_token)
        )
    )
    assert mismatched.field_violations[0].field == "page_token"
    negative = await failing(catalog.stub.ListServices(catalog_pb2.ListServicesRequest(page_size=-1)))
    assert negative.field_violations[0].field == "page_size"


async def test_paging_has_no_duplicates_or_gaps_while_rows_are_inserted(catalog: Any) -> None:
    rng = random.Random(7)
    original = [f"svc-{i:03d}" for i in range(60)]
    await _register(
        catalog, [(n, "paging", "web-service", "development", State.STATE_ACTIVE) for n in original]
    )
    await _register(catalog, [(f"svc-{i:03d}x", "other", "web-service", "development", 1) for i in range(10)])
    seen: list[str] = []
    token = ""
    inserted = 0
    while True:
        page = await catalog.stub.ListServices(
            catalog_pb2.ListServicesRequest(filter="team = paging", page_size=7, page_token=token)
        )
        seen += [s.name.removeprefix("services/") for s in page.services]
        # Between pages, others register services that sort before, among and after the rows listed.
        batch = [f"svc-{rng.randrange(0, 70):03d}-new{inserted + k}" for k in range(3)] + [f"aaa-{inserted}"]
        inserted += len(batch)
        await _register(catalog, [(n, "paging", "web-service", "development", 1) for n in batch])
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)), "a service was listed twice"
    assert set(original) <= set(seen), f"services were skipped: {sorted(set(original) - set(seen))}"
    assert seen == sorted(seen)
