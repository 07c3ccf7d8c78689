"""Rightsizing routes: a service's resource recommendation with its evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from paved.cost.v1 import cost_pb2
from pydantic import BaseModel, ConfigDict

from paved_gateway import convert
from paved_gateway.access import authorized_service
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call
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
