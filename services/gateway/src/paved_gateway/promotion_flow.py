"""``POST /api/services/{name}/promotions``: the target plan rendered from the service's configuration, the
target's own overrides and the source's image; its cost estimate and the policy decision at the target's
levels; then provisioning's promotion operation, whose gates judge them with soak and approval."""

from __future__ import annotations

from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert, plan_checks, schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.environments import ENVIRONMENT_PREFIX, platform_environments, unknown_environment
from paved_gateway.errors import call, from_rpc_error, invalid


async def promote(
    backends: Backends,
    service: catalog_pb2.Service,
    body: schemas.PromotionRequest,
    principal: Principal,
    *,
    request_id: str,
) -> provisioning_pb2.PromoteServiceRequest:
    """The checked promotion request for provisioning; 400 naming ``from``/``to`` when they are wrong."""
    service_id = convert.bare(service.name, convert.SERVICE_PREFIX)
    known = await platform_environments(backends)
    by_name = {convert.bare(e.name, ENVIRONMENT_PREFIX): e for e in known}
    problems: list[FieldViolation] = []
    for field, name in (("from", body.source), ("to", body.target)):
        if name not in by_name:
            problems.append(unknown_environment(field, name, known))
    if not problems:
        if body.source == body.target:
            problems.append(FieldViolation("to", "must differ from from"))
        elif by_name[body.target].position < by_name[body.source].position:
            order = " → ".join(by_name)
            problems.append(
                FieldViolation("to", f"must come after {body.source} in the promotion order ({order})")
            )
    runs_in = {e.environment: e for e in service.environments}
    if body.source in by_name and body.source not in runs_in:
        problems.append(FieldViolation("from", f"service {service_id!r} does not run in {body.source}"))
    if problems:
        raise invalid("the promotion is invalid", problems)
    source = await _environment(backends, service_id, body.source)
    target = runs_in.get(body.target)
    overrides = convert.to_dict(target.parameter_overrides) if target is not None else {}
    parameters = {**convert.to_dict(service.parameters), **overrides}
    settings = by_name[body.target]
    context = catalog_pb2.RenderContext(
        service_name=service_id,
        team=service.team,
        environment=body.target,
        namespace=settings.namespace.replace("{team}", service.team),
        region=settings.region,
        replicas_floor=settings.replicas_floor,
        image=source.image or source.plan.image,
    )
    rendered = await call(
        "catalog",
        backends.catalog.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template=service.template, parameters=convert.struct(parameters), context=context
            )
        ),
    )
    plan = rendered.plan
    estimate = await plan_checks.estimate(backends, plan)
    evaluation = await plan_checks.evaluate(
        backends,
        plan_checks.evaluate_request(
            plan.resources,
            team=service.team,
            environment=body.target,
            requester=principal.subject,
            service=service_id,
            monthly_cost=estimate.total_monthly_cost,
        ),
    )
    return provisioning_pb2.PromoteServiceRequest(
        service=service.name,
        source_environment=body.source,
        target_environment=body.target,
        version=body.version or "",
        plan=plan,
        estimated_monthly_cost=estimate.total_monthly_cost,
        policy_decision=provisioning_pb2.PolicyDecisionRef(
            decision=evaluation.decision,
            outcome=policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix("DECISION_OUTCOME_"),
        ),
        request_id=request_id,
        requester=principal.subject,
    )


async def _environment(
    backends: Backends, service_id: str, environment: str
) -> catalog_pb2.ServiceEnvironment:
    try:
        return await backends.catalog.GetServiceEnvironment(
            catalog_pb2.GetServiceEnvironmentRequest(name=f"services/{service_id}/environments/{environment}")
        )
    except grpc.RpcError as exc:
        raise from_rpc_error(exc, "catalog") from None


GATE_STEPS = {"gate_policy": "policy", "gate_soak": "soak", "gate_cost": "cost", "gate_approval": "approval"}


def status(operation: schemas.Operation) -> schemas.PromotionStatus:
    """A promotion as its gates see it: each gate's state and evidence, and where the promotion is."""
    steps = {s.name: s for s in operation.steps}
    gates = [
        schemas.PromotionGateView(
            gate=gate,
            state=steps[name].state if name in steps else "pending",
            evidence=(steps[name].detail or steps[name].error or None) if name in steps else None,
        )
        for name, gate in GATE_STEPS.items()
    ]
    approval = steps.get("gate_approval")
    phase: str
    if operation.done:
        phase = operation.status
    elif approval is not None and approval.state == "running":
        phase = "waiting_for_approval"
    elif any(g.state in ("pending", "running") for g in gates):
        phase = "gating"
    else:
        phase = "deploying"
    result: dict[str, Any] = operation.result or {}
    return schemas.PromotionStatus(
        id=operation.id,
        operation=operation.name,
        service=operation.service,
        target=operation.environment,
        source=result.get("sourceEnvironment") or result.get("source_environment"),
        version=result.get("version"),
        phase=phase,
        gates=gates,
        error=operation.error,
    )
