"""Service routes: create (the orchestrated flow), status (parallel fan-out), list, deploy, rollback."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

import grpc
from fastapi import APIRouter, Path, Query, Request, Response
from paved.alerting.v1 import alerting_pb2
from paved.catalog.v1 import catalog_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert, create_flow, drift_schemas, drift_view, schemas, service_environments
from paved_gateway.access import (
    and_filters,
    authorized_service,
    not_found_for,
    not_permitted,
    team_filter,
    team_scope,
)
from paved_gateway.auth import Principal
from paved_gateway.deps import BackendsDep, IdempotencyKeyDep, PrincipalDep, read_json, request_id_for
from paved_gateway.environments import environment_stage
from paved_gateway.errors import ApiError, call, from_rpc_error, invalid
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/services", tags=["services"])

ServiceId = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="Service name.")]
StateName = Literal["provisioning", "active", "failed", "deprovisioning", "deleted"]
ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input; every field error is listed."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team, quota exceeded or denied by policy."},
}


# Routes on one named service also answer 404 when it does not exist.
_SERVICE_ERROR_RESPONSES: dict[int | str, dict[str, str]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such service (admins only)."},
    503: {"description": "A service the answer needs is down."},
}


@router.post(
    "",
    status_code=202,
    response_model=schemas.CreateServiceAccepted | schemas.CreateServiceValidated,
    responses={
        200: {"description": "validate_only: every check passed; what the create would do."},
        **ERROR_RESPONSES,
        409: {"description": "A service with that name exists (and nothing else is wrong)."},
        413: {"description": "The body is larger than the gateway accepts."},
        422: {
            "description": "Soft-mandatory policies failed (an override can approve), or the "
            "Idempotency-Key was used for a different request."
        },
        503: {"description": "A service the flow needs is down."},
    },
    # The body is parsed by the flow itself, so that its field errors join the template's and the
    # parameters' in one answer; the document still shows its schema.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/CreateServiceRequest"}}
            },
        }
    },
)
async def create_service(
    request: Request,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> schemas.CreateServiceAccepted | schemas.CreateServiceValidated:
    """Validate, check quota, render, estimate, evaluate policy and start provisioning (or, with
    `validate_only`, only check and answer 200)."""
    answer = await create_flow.create_service(
        backends,
        await read_json(request),
        principal,
        request_id=request_id_for(key, principal),
        idempotent_replay_allowed=key is not None,
    )
    if isinstance(answer, schemas.CreateServiceValidated):
        response.status_code = 200
        return answer
    response.headers["Location"] = f"/api/operations/{convert.bare(answer.operation, 'operations/')}"
    return answer


@router.get("", response_model=schemas.ServiceList, responses=ERROR_RESPONSES)
async def list_services(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    state: StateName | None = None,
    template: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    environment: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> schemas.ServiceList:
    """Services the caller may see, filtered, one page at a time."""
    filter_ = and_filters(
        team_filter(team_scope(principal, team)),
        f"state = {state.upper()}" if state else "",
        f'template = "templates/{template}"' if template else "",
        f'environment = "{environment}"' if environment else "",
    )
    reply = await call(
        "catalog",
        backends.catalog.ListServices(
            catalog_pb2.ListServicesRequest(page_size=page_size, page_token=page_token or "", filter=filter_)
        ),
    )
    return schemas.ServiceList(
        services=[convert.service_summary(s) for s in reply.services],
        next_page_token=reply.next_page_token or None,
    )


@router.get(
    "/{service_id}",
    response_model=schemas.ServiceStatus,
    responses=_SERVICE_ERROR_RESPONSES,
)
async def get_service(
    service_id: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    environment: Annotated[
        str | None,
        Query(min_length=1, max_length=63, pattern=DNS_LABEL, description="Only this environment."),
    ] = None,
) -> schemas.ServiceStatus:
    """The service with its health, metrics and cost, asked of catalog, alerting and cost at once, and
    each environment it runs in (``?environment=`` narrows the answer to one)."""
    replies: list[object] = await asyncio.gather(
        backends.catalog.GetService(catalog_pb2.GetServiceRequest(name=convert.SERVICE_PREFIX + service_id)),
        backends.alerting.GetServiceHealth(alerting_pb2.GetServiceHealthRequest(service=service_id)),
        backends.cost.GetServiceCost(cost_pb2.GetServiceCostRequest(service=service_id)),
        return_exceptions=True,
    )
    catalog_reply, health_reply, cost_reply = replies
    unavailable: list[str] = []
    service = _catalog_part(catalog_reply, principal, service_id, unavailable)
    cost = _cost_part(cost_reply, unavailable)
    owner = service.team if service is not None else (cost.team if cost is not None else None)
    if not owner:
        # The catalog is down and cost does not know the name either: whether the service exists at all
        # is unknown, so nothing is answered (not even to an admin) rather than a service made up.
        raise ApiError(
            503,
            "the catalog service is unavailable: cannot tell whether the service exists or who owns it",
            details={"service": "catalog", "unavailable": unavailable},
        )
    if not principal.may_act_for(owner):
        raise not_permitted(principal, f"service {service_id!r}")
    health = _health_part(health_reply, unavailable)
    healths = {service_environments.DEFAULT_ENVIRONMENT: health}
    if service is not None:
        healths.update(await _other_healths(backends, service_id, service, unavailable))
        # The service as a whole is shown as it is where it was created.
        health = healths.get(service.environment, health)
    environments = service_environments.statuses(service, healths, cost) if service else []
    if environment is not None and service is not None:
        return await service_environments.narrowed(
            backends,
            principal,
            service,
            environment,
            environments,
            convert.service_cost(cost) if cost else None,
            unavailable,
        )
    return schemas.ServiceStatus(
        id=service_id,
        name=service_id,
        team=owner,
        template=convert.bare(service.template, convert.TEMPLATE_PREFIX) if service else None,
        environment=service.environment if service else None,
        status=convert.state_name(service.state) if service else "unknown",
        health=convert.health_name(health.status)
        if health
        else ("unavailable" if "alerting" in unavailable else "unknown"),
        metrics=convert.metrics(health) if health else None,
        cost=convert.service_cost(cost) if cost else None,
        endpoints=list(service.endpoints) if service else [],
        dashboards=convert.links(service.dashboards) if service else [],
        documentation=(service.documentation_url or None) if service else None,
        unavailable=unavailable,
        environments=environments,
    )


async def _other_healths(
    backends: BackendsDep, service_id: str, service: catalog_pb2.Service, unavailable: list[str]
) -> dict[str, alerting_pb2.ServiceHealth | None]:
    """The health of each environment of the service other than the default one (asked at once)."""
    names = [
        name
        for name in service_environments.names(service)
        if name != service_environments.DEFAULT_ENVIRONMENT
    ]
    if not names:
        return {}
    replies = await asyncio.gather(
        *(
            backends.alerting.GetServiceHealth(
                alerting_pb2.GetServiceHealthRequest(service=service_id, environment=name)
            )
            for name in names
        ),
        return_exceptions=True,
    )
    down: list[str] = []
    found = {name: _health_part(reply, down) for name, reply in zip(names, replies, strict=True)}
    if down and "alerting" not in unavailable:
        unavailable.append("alerting")
    return found


@router.delete(
    "/{service_id}",
    status_code=202,
    response_model=schemas.OperationAccepted,
    responses={**_SERVICE_ERROR_RESPONSES, 409: {"description": "Another operation is changing it there."}},
)
async def deprovision(
    service_id: ServiceId,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
    environment: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=63,
            pattern=DNS_LABEL,
            description="The environment to remove (the last one removes the service); by default the one "
            "it was created in.",
        ),
    ] = None,
) -> schemas.OperationAccepted:
    """Deprovision the service from one environment: its GitOps directory, alert rules, cost tracking and
    catalog record there; removing its last environment removes the service."""
    service = await authorized_service(backends, principal, service_id)
    if environment is not None and environment not in service_environments.names(service):
        problems: list[FieldViolation] = []
        await environment_stage(backends, environment, problems)
        if problems:
            raise invalid("the request is invalid", problems)
        raise ApiError(404, f"service {service_id!r} does not run in {environment}")
    operation = await call(
        "provisioning",
        backends.provisioning.DeprovisionService(
            provisioning_pb2.DeprovisionServiceRequest(
                service=convert.SERVICE_PREFIX + service_id,
                environment=environment or "",
                request_id=request_id_for(key, principal),
                requester=principal.subject,
            )
        ),
    )
    operation_id = convert.bare(operation.name, convert.OPERATION_PREFIX)
    response.headers["Location"] = f"/api/operations/{operation_id}"
    return schemas.OperationAccepted(
        id=operation_id, operation=operation.name, service=service_id, workflow="deprovision"
    )


def _catalog_part(
    reply: object, principal: Principal, service_id: str, unavailable: list[str]
) -> catalog_pb2.Service | None:
    if isinstance(reply, catalog_pb2.Service):
        return reply
    if isinstance(reply, grpc.RpcError):
        if reply.code() == grpc.StatusCode.NOT_FOUND:
            raise not_found_for(principal, f"service {service_id!r}")
        if _is_down(reply):
            unavailable.append("catalog")
            return None
        raise from_rpc_error(reply, "catalog")
    raise reply if isinstance(reply, BaseException) else TypeError("unexpected catalog reply")


def _health_part(reply: object, unavailable: list[str]) -> alerting_pb2.ServiceHealth | None:
    if isinstance(reply, alerting_pb2.ServiceHealth):
        return reply
    if isinstance(reply, grpc.RpcError):
        if reply.code() != grpc.StatusCode.NOT_FOUND:
            unavailable.append("alerting")
        return None
    raise reply if isinstance(reply, BaseException) else TypeError("unexpected alerting reply")


def _cost_part(reply: object, unavailable: list[str]) -> cost_pb2.ServiceCost | None:
    if isinstance(reply, cost_pb2.ServiceCost):
        return reply
    if isinstance(reply, grpc.RpcError):
        if reply.code() != grpc.StatusCode.NOT_FOUND:
            unavailable.append("cost")
        return None
    raise reply if isinstance(reply, BaseException) else TypeError("unexpected cost reply")


def _is_down(exc: grpc.RpcError) -> bool:
    code = exc.code()
    return code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


async def _run_workflow(
    workflow: str,
    service_id: str,
    body: schemas.WorkflowRequest,
    response: Response,
    backends: BackendsDep,
    principal: Principal,
    key: str | None,
) -> schemas.OperationAccepted:
    await authorized_service(backends, principal, service_id)
    operation = await call(
        "provisioning",
        backends.provisioning.RunWorkflow(
            provisioning_pb2.RunWorkflowRequest(
                service=convert.SERVICE_PREFIX + service_id,
                workflow=workflow,
                version=body.version or "",
                image=body.image or "",
                environment=body.environment or "",
                request_id=request_id_for(key, principal),
                requester=principal.subject,
            )
        ),
    )
    operation_id = convert.bare(operation.name, convert.OPERATION_PREFIX)
    response.headers["Location"] = f"/api/operations/{operation_id}"
    return schemas.OperationAccepted(
        id=operation_id, operation=operation.name, service=service_id, workflow=workflow
    )


@router.post(
    "/{service_id}/deploy",
    status_code=202,
    response_model=schemas.OperationAccepted,
    responses=_SERVICE_ERROR_RESPONSES,
)
async def deploy(
    service_id: ServiceId,
    body: schemas.WorkflowRequest,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> schemas.OperationAccepted:
    """Run the template's deploy workflow."""
    return await _run_workflow("deploy", service_id, body, response, backends, principal, key)


@router.post(
    "/{service_id}/rollback",
    status_code=202,
    response_model=schemas.OperationAccepted,
    responses=_SERVICE_ERROR_RESPONSES,
)
async def rollback(
    service_id: ServiceId,
    body: schemas.WorkflowRequest,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> schemas.OperationAccepted:
    """Run the template's rollback workflow."""
    return await _run_workflow("rollback", service_id, body, response, backends, principal, key)


@router.get(
    "/{service_id}/drift",
    response_model=drift_schemas.ServiceDriftReport,
    responses={**_SERVICE_ERROR_RESPONSES, 404: {"description": "No such service or template revision."}},
)
async def service_drift(
    service_id: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    revision: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Revision to compare with; 0: the latest.")
    ] = 0,
) -> drift_schemas.ServiceDriftReport:
    """Each environment of the service against a revision of its template (the latest by default): the
    revision it is on, the structured diff of moving it, and whether its files were edited by hand."""
    service = await authorized_service(backends, principal, service_id)
    template = convert.bare(service.template, convert.TEMPLATE_PREFIX)
    drift, environments = await drift_view.drift_of(backends, template, revision, service_id, None)
    return drift_schemas.ServiceDriftReport(
        service=service_id,
        template=template,
        revision=drift.revision,
        latest_revision=drift.latest_revision,
        environments=environments,
    )
