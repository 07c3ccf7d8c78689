"""Promotion routes: start a promotion of a service from one environment to a later one, follow its gates,
and approve or reject it while it waits at its approval gate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import convert, promotion_flow, schemas
from paved_gateway.access import authorized_service, not_found_for
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.deps import BackendsDep, IdempotencyKeyDep, PrincipalDep, request_id_for
from paved_gateway.errors import call
from paved_gateway.routes.operations import authorized_operation
from paved_gateway.routes.services import ServiceId

router = APIRouter(prefix="/api/services", tags=["promotions"])

PromotionId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Unknown environment, not a later one, or a version that never ran in from."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team's service."},
    404: {"description": "No such service or promotion (admins only)."},
    409: {"description": "A promotion into that environment is running, or no approval is pending."},
}


async def _promotion(
    backends: Backends, principal: Principal, service_id: str, promotion_id: str
) -> schemas.Operation:
    operation = convert.operation(await authorized_operation(backends, principal, promotion_id))
    if operation.kind != "promotion" or operation.service != service_id:
        raise not_found_for(principal, f"promotion {promotion_id!r} of service {service_id!r}")
    return operation


@router.post(
    "/{service_id}/promotions", status_code=202, response_model=schemas.PromotionStatus, responses=RESPONSES
)
async def start_promotion(
    service_id: ServiceId,
    body: schemas.PromotionRequest,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> schemas.PromotionStatus:
    """Promote the version and configuration running in ``from`` into ``to`` after the gates."""
    service = await authorized_service(backends, principal, service_id)
    request = await promotion_flow.promote(
        backends, service, body, principal, request_id=request_id_for(key, principal)
    )
    operation = await call("provisioning", backends.provisioning.PromoteService(request))
    promotion_id = convert.bare(operation.name, convert.OPERATION_PREFIX)
    response.headers["Location"] = f"/api/services/{service_id}/promotions/{promotion_id}"
    status = promotion_flow.status(convert.operation(operation))
    return status.model_copy(update={"source": body.source, "version": body.version})


@router.get(
    "/{service_id}/promotions/{promotion_id}", response_model=schemas.PromotionStatus, responses=RESPONSES
)
async def get_promotion(
    service_id: ServiceId, promotion_id: PromotionId, backends: BackendsDep, principal: PrincipalDep
) -> schemas.PromotionStatus:
    """Where the promotion is and what each gate found."""
    return promotion_flow.status(await _promotion(backends, principal, service_id, promotion_id))


async def _decide(
    decision: str,
    service_id: str,
    promotion_id: str,
    body: schemas.ApprovalRequest,
    backends: Backends,
    principal: Principal,
) -> schemas.PromotionStatus:
    await _promotion(backends, principal, service_id, promotion_id)
    name = convert.OPERATION_PREFIX + promotion_id
    if decision == "approve":
        call_ = backends.provisioning.ApprovePromotion(
            provisioning_pb2.ApprovePromotionRequest(
                name=name, approver=principal.subject, reason=body.reason
            )
        )
    else:
        call_ = backends.provisioning.RejectPromotion(
            provisioning_pb2.RejectPromotionRequest(name=name, approver=principal.subject, reason=body.reason)
        )
    return promotion_flow.status(convert.operation(await call("provisioning", call_)))


@router.post(
    "/{service_id}/promotions/{promotion_id}/approve",
    response_model=schemas.PromotionStatus,
    responses=RESPONSES,
)
async def approve_promotion(
    service_id: ServiceId,
    promotion_id: PromotionId,
    body: schemas.ApprovalRequest,
    backends: BackendsDep,
    principal: PrincipalDep,
) -> schemas.PromotionStatus:
    """Approve a promotion waiting at its approval gate; the approval names who (the caller) and why."""
    return await _decide("approve", service_id, promotion_id, body, backends, principal)


@router.post(
    "/{service_id}/promotions/{promotion_id}/reject",
    response_model=schemas.PromotionStatus,
    responses=RESPONSES,
)
async def reject_promotion(
    service_id: ServiceId,
    promotion_id: PromotionId,
    body: schemas.ApprovalRequest,
    backends: BackendsDep,
    principal: PrincipalDep,
) -> schemas.PromotionStatus:
    """Reject a promotion waiting at its approval gate: it fails and changes nothing in the target."""
    return await _decide("reject", service_id, promotion_id, body, backends, principal)
