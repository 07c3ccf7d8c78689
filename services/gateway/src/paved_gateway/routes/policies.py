"""Policy routes: the policies in force, and evaluating resources against them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from paved.policy.v1 import policy_pb2

from paved_gateway import convert, schemas
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call

router = APIRouter(prefix="/api/policies", tags=["policies"])

RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
}


@router.get("", response_model=schemas.Items, responses=RESPONSES)
async def list_policies(
    backends: BackendsDep,
    _principal: PrincipalDep,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> schemas.Items:
    """Policies with their enforcement level, scope and CEL expression."""
    reply = await call(
        "policy",
        backends.policy.ListPolicies(
            policy_pb2.ListPoliciesRequest(page_size=page_size, page_token=page_token or "")
        ),
    )
    return schemas.Items(
        items=[convert.to_dict(p) for p in reply.policies], next_page_token=reply.next_page_token or None
    )


@router.post("/evaluate", response_model=dict[str, Any], responses=RESPONSES)
async def evaluate(
    body: schemas.EvaluateRequest, backends: BackendsDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Evaluate resources against the enabled policies; the decision is recorded in the audit log."""
    principal.require_team(body.context.team)
    request = policy_pb2.EvaluateRequest(
        resources=[convert.resource(r) for r in body.resources],
        context=policy_pb2.EvaluationContext(
            team=body.context.team,
            environment=body.context.environment,
            requester=principal.subject,
            service=body.context.service or "",
            estimated_monthly_cost=body.context.estimated_monthly_cost or 0.0,
            currency=body.context.currency,
        ),
    )
    if body.override is not None:
        request.override.CopyFrom(
            policy_pb2.Override(
                approved_by=body.override.approved_by or principal.subject, reason=body.override.reason
            )
        )
    reply = await call("policy", backends.policy.Evaluate(request))
    data = convert.to_dict(reply)
    data["outcome"] = policy_pb2.DecisionOutcome.Name(reply.outcome).removeprefix("DECISION_OUTCOME_")
    return data
