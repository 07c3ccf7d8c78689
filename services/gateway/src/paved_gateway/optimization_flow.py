"""Applying a rightsizing: recommendation (cost) → guardrails as ordinary policies (policy, on a resource
of type ``optimization``) → one change per service per period → a canaried, baked change (provisioning)."""

from __future__ import annotations

import math
import time
from typing import Any

from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import convert
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.create_flow import raise_for_decision
from paved_gateway.errors import ApiError, call

OPTIMIZE_WORKFLOW = "optimize_resources"
MIB = 1024**2


def cpu_quantity(cores: float) -> str:
    """Whole millicores, rounded up as cost's recommendation rounds them."""
    return f"{max(1, math.ceil(cores * 1000 - 1e-9))}m"


def memory_quantity(size: float) -> str:
    """Whole MiB, rounded up."""
    return f"{max(1, math.ceil(size / MIB - 1e-9))}Mi"


def change_of(rec: cost_pb2.ResourceRecommendation) -> dict[str, Any]:
    """The settings that differ from the current ones, as Kubernetes quantities and replica bounds."""
    change: dict[str, Any] = {}
    cpu, memory = rec.cpu, rec.memory
    if cpu.recommended_request != cpu.current_request:
        change["cpu_request"] = cpu_quantity(cpu.recommended_request)
    if cpu.HasField("recommended_limit") and cpu.recommended_limit != cpu.current_limit:
        change["cpu_limit"] = cpu_quantity(cpu.recommended_limit)
    if memory.recommended_request != memory.current_request:
        change["memory_request"] = memory_quantity(memory.recommended_request)
    if memory.HasField("recommended_limit") and memory.recommended_limit != memory.current_limit:
        change["memory_limit"] = memory_quantity(memory.recommended_limit)
    return change


def _relative(before: float, after: float) -> float:
    return after / before - 1 if before else 0.0


def guardrail_resource(
    service: catalog_pb2.Service, rec: cost_pb2.ResourceRecommendation, change: dict[str, Any]
) -> common_pb2.Resource:
    """The change as a policy resource: guardrails are ordinary policies scoped to type ``optimization``,
    e.g. ``resource.properties.memory_cut <= 0.3`` for production. It carries the tags of the resource it
    changes, so tag policies judge it as they judge that resource."""
    cpu_change = _relative(rec.cpu.current_request, rec.cpu.recommended_request)
    memory_change = _relative(rec.memory.current_request, rec.memory.recommended_request)
    properties = {
        "service": rec.service,
        "resource": rec.resource,
        "cpu_change": cpu_change,
        "memory_change": memory_change,
        "cpu_cut": max(0.0, -cpu_change),
        "memory_cut": max(0.0, -memory_change),
        "increase": cpu_change > 0 or memory_change > 0,
        "confidence_days": rec.confidence,
        "monthly_savings": convert.money_amount(rec.monthly_savings),
        **change,
    }
    changed = next((r for r in service.plan.resources if r.name == rec.resource), None)
    return common_pb2.Resource(
        name=f"{rec.resource}-optimization",
        type="optimization",
        properties=convert.struct(properties),
        tags=dict(changed.tags) if changed is not None else {},
    )


async def check_guardrails(
    backends: Backends,
    principal: Principal,
    service: catalog_pb2.Service,
    rec: cost_pb2.ResourceRecommendation,
    resource: common_pb2.Resource,
    environment: str,
) -> policy_pb2.EvaluateResponse:
    """Evaluate the guardrail policies; 403/422 when they deny."""
    evaluation = await call(
        "policy",
        backends.policy.Evaluate(
            policy_pb2.EvaluateRequest(
                resources=[resource],
                context=policy_pb2.EvaluationContext(
                    team=service.team,
                    environment=environment,
                    requester=principal.subject,
                    service=rec.service,
                    estimated_monthly_cost=0.0,
                    currency=rec.monthly_savings.currency_code or "USD",
                ),
            )
        ),
    )
    raise_for_decision(evaluation)
    return evaluation


async def recent_optimization(
    backends: Backends, service: str, period_seconds: float
) -> dict[str, Any] | None:
    """The service's optimization that started within the period, if any."""
    reply = await call(
        "provisioning",
        backends.provisioning.ListDeployments(
            provisioning_pb2.ListDeploymentsRequest(parent=f"services/{service}", page_size=100)
        ),
    )
    since = time.time() - period_seconds
    for deployment in reply.deployments:
        if deployment.workflow == OPTIMIZE_WORKFLOW and deployment.start_time.seconds >= since:
            return convert.to_dict(deployment)
    return None


def nothing_to_change(rec: cost_pb2.ResourceRecommendation) -> ApiError:
    reasons = [*rec.reasons, *rec.cpu.reasons, *rec.memory.reasons]
    return ApiError(
        409,
        "the recommendation changes nothing now" + (f": {'; '.join(reasons)}" if reasons else ""),
        name="ConflictError",
    )
