"""Rightsizing routes: a service's recommendation with its evidence, applying it (dry run, guardrails, one
change per period, canary and bake), and the history of optimizations with their outcomes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from google.protobuf import duration_pb2
from paved.catalog.v1 import catalog_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2
from pydantic import BaseModel, ConfigDict, Field

from paved_gateway import convert, optimization_flow, optimization_history
from paved_gateway.access import authorized_service, team_filter, team_scope
from paved_gateway.deps import BackendsDep, IdempotencyKeyDep, PrincipalDep, request_id_for
from paved_gateway.errors import ApiError, call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api", tags=["optimizations"])

ServiceId = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="Service name.")]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
    404: {"description": "No such service, or it has no tracked compute."},
    412: {"description": "The service's compute sets no requests, or history is not configured."},
    503: {"description": "The usage history could not be read."},
}


class ResourceRecommendation(BaseModel):
    """CPU (cores) and memory (bytes) per replica: current, recommended, VPA's bounds and the evidence
    (percentiles, samples, days); replica bounds, cheapest fitting instance type, estimated monthly saving,
    confidence (days of history) and whether decreases are allowed yet."""

    model_config = ConfigDict(extra="allow")

    service: str
    cpu: dict[str, Any]
    memory: dict[str, Any]
    monthly_savings: dict[str, Any]


@router.get("/services/{name}/recommendations", response_model=ResourceRecommendation, responses=RESPONSES)
async def service_recommendations(
    name: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    environment: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
) -> dict[str, Any]:
    """Rightsizing of the service's compute from its usage history, with the evidence behind it."""
    await authorized_service(backends, principal, name)
    reply = await call(
        "cost",
        backends.cost.RecommendResources(
            cost_pb2.RecommendResourcesRequest(service=name, environment=environment or "")
        ),
    )
    data = convert.to_dict(reply)
    data.setdefault("monthly_savings", {})
    return data


class OptimizationRequest(BaseModel):
    """Apply the service's current recommendation (or only show what would happen, ``dry_run``)."""

    model_config = ConfigDict(extra="forbid")

    environment: str | None = Field(None, min_length=1, max_length=63, pattern=DNS_LABEL)
    dry_run: bool = False
    bake_seconds: int | None = Field(None, ge=1, le=86400, description="Canary watch time; default 10 min.")
    period_hours: float = Field(24.0, ge=0, le=720, description="At most one optimization per this period.")


class OptimizationPlan(BaseModel):
    """What an optimization does: the change, the guardrail decision, the recommendation it comes from."""

    model_config = ConfigDict(extra="allow")

    dry_run: bool
    service: str
    change: dict[str, Any]
    policy: dict[str, Any]
    recommendation: dict[str, Any]
    operation: str | None = None


@router.post(
    "/services/{name}/optimizations",
    status_code=202,
    response_model=OptimizationPlan,
    responses={**RESPONSES, 409: {"description": "Nothing to change, or changed within the period."}},
)
async def apply_optimization(
    name: ServiceId,
    body: OptimizationRequest,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> OptimizationPlan:
    """Apply the recommendation through a canary that bakes against the service's pre-change signals and is
    promoted or rolled back automatically; guardrails are the policies on resources of type
    ``optimization``. 200 with the plan on a dry run, 202 with the operation otherwise."""
    service = await authorized_service(backends, principal, name)
    rec = await call(
        "cost",
        backends.cost.RecommendResources(
            cost_pb2.RecommendResourcesRequest(service=name, environment=body.environment or "")
        ),
    )
    change = optimization_flow.change_of(rec)
    if not change:
        raise optimization_flow.nothing_to_change(rec)
    environment = body.environment or rec.environment or service.environment
    evaluation = await optimization_flow.check_guardrails(
        backends,
        principal,
        service,
        rec,
        optimization_flow.guardrail_resource(service, rec, change),
        environment,
    )
    plan = OptimizationPlan(
        dry_run=body.dry_run,
        service=name,
        change=change,
        policy=convert.to_dict(evaluation),
        recommendation=convert.to_dict(rec),
    )
    if body.dry_run:
        response.status_code = 200
        return plan
    recent = await optimization_flow.recent_optimization(backends, name, body.period_hours * 3600)
    if recent is not None:
        raise ApiError(
            409,
            f"services/{name} was optimized within the last {body.period_hours:g} h (one change per period)",
            name="ConflictError",
            details={"last": recent},
        )
    request = provisioning_pb2.OptimizeResourcesRequest(
        service=f"services/{name}",
        resource=rec.resource,
        reason="; ".join([*rec.cpu.reasons, *rec.memory.reasons]) or "rightsizing recommendation",
        request_id=request_id_for(key, principal),
        requester=principal.subject,
        **change,
    )
    if body.bake_seconds:
        request.bake_time.CopyFrom(duration_pb2.Duration(seconds=body.bake_seconds))
    operation = await call("provisioning", backends.provisioning.OptimizeResources(request))
    plan.operation = operation.name
    response.headers["location"] = f"/api/operations/{operation.name.removeprefix('operations/')}"
    return plan


@router.get("/optimizations", responses=RESPONSES)
async def list_optimizations(
    backends: BackendsDep,
    principal: PrincipalDep,
    service: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    team: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
) -> dict[str, Any]:
    """Optimizations, newest first: each with its outcome (promoted; rolled_back with the reason;
    in_progress; applied for AutoOptimize's changes) and the saving FOCUS actuals show (the same number of
    full days after the change against before it, per day and per month; null until a day has passed),
    with the sums per team. One service's (``service``), else those of ``team`` or of the caller's teams
    (the first 100 services of each)."""
    if service is not None:
        await authorized_service(backends, principal, service)
        result = await optimization_history.history(backends, [service], None, service=service)
        return {"service": service, **result}
    teams = team_scope(principal, team)
    reply = await call(
        "catalog",
        backends.catalog.ListServices(
            catalog_pb2.ListServicesRequest(page_size=100, filter=team_filter(teams))
        ),
    )
    names = [s.name.removeprefix(convert.SERVICE_PREFIX) for s in reply.services]
    return await optimization_history.history(backends, names, teams)
