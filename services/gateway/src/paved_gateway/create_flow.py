"""``POST /api/services``: the source design's flow as orchestrated calls, each answer mapped to HTTP.

request fields, template, parameters and name (every violation at once, see create_checks) → render →
estimate cost → check quota and evaluate policy (side by side, both refusals in one answer) →
provision; ``validate_only`` stops before provisioning and answers what the create would do.
Quota is checked after the estimate (the agreed order puts it before rendering): provisioning's
CheckQuota needs the plan's resources and the estimate to check all three quotas (services, instances,
monthly budget). No step before provisioning changes anything but policy's audit log of decisions, so
the order changes no other outcome.
"""

from __future__ import annotations

import asyncio
from typing import Any

from google.type import money_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import convert, plan_checks, schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.create_checks import check_create
from paved_gateway.errors import ApiError, call


async def create_service(
    backends: Backends,
    raw: object,
    principal: Principal,
    *,
    request_id: str,
    idempotent_replay_allowed: bool,
) -> schemas.CreateServiceAccepted | schemas.CreateServiceValidated:
    """Run the flow (only its checks for ``validate_only``); raises ApiError with every problem of the
    first stage that refuses: field violations of request, template, parameters and name together; then
    quota and policy together."""
    checked = await check_create(
        backends, raw, principal, idempotent_replay_allowed=idempotent_replay_allowed
    )
    body = checked.body
    template_name = convert.TEMPLATE_PREFIX + convert.bare(body.template, convert.TEMPLATE_PREFIX)
    rendered = await call(
        "catalog",
        backends.catalog.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template=template_name,
                parameters=convert.struct(checked.parameters),
                context=_render_context(body, checked.environment),
            )
        ),
    )
    plan = rendered.plan
    estimate = await plan_checks.estimate(backends, plan)
    # Quota and policy both need only the plan and the estimate: asked at once, and both refusals
    # reported together. Policy records its decision in the audit log either way.
    checks: list[object] = await asyncio.gather(
        _check_quota(backends, body.team, plan, estimate.total_monthly_cost),
        _evaluate(backends, body, principal, plan, estimate.total_monthly_cost),
        return_exceptions=True,
    )
    _raise_refusals(checks)
    quota, evaluation = checks
    assert isinstance(quota, provisioning_pb2.CheckQuotaResponse)
    assert isinstance(evaluation, policy_pb2.EvaluateResponse)
    policy = schemas.PolicySummary(
        outcome=policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix("DECISION_OUTCOME_"),
        decision=evaluation.decision,
        override_applied=evaluation.override_applied,
        warnings=_violations(evaluation),
    )
    if body.validate_only:
        return schemas.CreateServiceValidated(
            name=body.name,
            team=body.team,
            template=convert.bare(template_name, convert.TEMPLATE_PREFIX),
            environment=body.environment,
            resources=[schemas.PlannedResource(name=r.name, type=r.type) for r in plan.resources],
            endpoints=convert.planned_endpoints(plan),
            dashboards=convert.planned_dashboards(plan),
            estimated_monthly_cost=convert.money_view(estimate.total_monthly_cost),
            quota=[
                schemas.QuotaCheck(
                    quota=c.quota, current=c.current, requested=c.requested, limit=c.limit, allowed=c.allowed
                )
                for c in quota.checks
            ],
            policy=policy,
        )

    override_by = ""
    if body.override is not None and evaluation.override_applied:
        override_by = body.override.approved_by or principal.subject
    operation = await call(
        "provisioning",
        backends.provisioning.ProvisionService(
            provisioning_pb2.ProvisionServiceRequest(
                plan=plan,
                estimated_monthly_cost=estimate.total_monthly_cost,
                policy_decision=provisioning_pb2.PolicyDecisionRef(
                    decision=evaluation.decision,
                    outcome=policy.outcome,
                    override_approved_by=override_by,
                ),
                request_id=request_id,
                requester=principal.subject,
            )
        ),
    )
    return schemas.CreateServiceAccepted(
        id=body.name,
        name=body.name,
        team=body.team,
        environment=body.environment,
        operation=operation.name,
        endpoints=convert.planned_endpoints(plan),
        dashboards=convert.planned_dashboards(plan),
        documentation=None,
        estimated_monthly_cost=convert.money_view(estimate.total_monthly_cost),
        policy=policy,
    )


def _render_context(
    body: schemas.CreateServiceRequest, environment: catalog_pb2.Environment | None
) -> catalog_pb2.RenderContext:
    """What the platform supplies to the render: the environment's namespace (``{team}`` filled in),
    region and replicas floor when it sets them; the template's defaults otherwise."""
    context = catalog_pb2.RenderContext(service_name=body.name, team=body.team, environment=body.environment)
    if environment is not None:
        context.namespace = environment.namespace.replace("{team}", body.team)
        context.region = environment.region
        context.replicas_floor = environment.replicas_floor
    return context


def _raise_refusals(outcomes: list[object]) -> None:
    """The first refusal (quota before policy), carrying the others in ``alsoRefusedBy``."""
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if not errors:
        return
    first = errors[0]
    if not isinstance(first, ApiError):
        raise first
    others = [
        {"name": e.name, "message": e.message, "statusCode": e.status, **e.details}
        for e in errors[1:]
        if isinstance(e, ApiError)
    ]
    if others:
        first.details["alsoRefusedBy"] = others
    raise first


async def _check_quota(
    backends: Backends, team: str, plan: common_pb2.Plan, estimate: money_pb2.Money
) -> provisioning_pb2.CheckQuotaResponse:
    # Provisioning answers RESOURCE_EXHAUSTED (reason QUOTA_EXCEEDED) when the plan does not fit; the
    # error mapping turns that into the seed's 403 {error: "Quota exceeded", current, limit}.
    result = await call(
        "provisioning",
        backends.provisioning.CheckQuota(
            provisioning_pb2.CheckQuotaRequest(team=team, plan=plan, estimated_monthly_cost=estimate)
        ),
    )
    exceeded = [check for check in result.checks if not check.allowed]
    if result.allowed and not exceeded:
        return result
    first = exceeded[0] if exceeded else None
    extra = {
        "quota": first.quota if first else None,
        "current": first.current if first else None,
        "requested": first.requested if first else None,
        "limit": first.limit if first else None,
    }
    raise ApiError(403, "Quota exceeded", name="QuotaExceededError", details=dict(extra), extra=extra)


async def _evaluate(
    backends: Backends,
    body: schemas.CreateServiceRequest,
    principal: Principal,
    plan: common_pb2.Plan,
    estimate: money_pb2.Money,
) -> policy_pb2.EvaluateResponse:
    request = plan_checks.evaluate_request(
        plan.resources,
        team=body.team,
        environment=body.environment,
        requester=principal.subject,
        service=body.name,
        monthly_cost=estimate,
    )
    if body.override is not None:
        request.override.CopyFrom(
            policy_pb2.Override(
                approved_by=body.override.approved_by or principal.subject, reason=body.override.reason
            )
        )
    evaluation = await plan_checks.evaluate(backends, request)
    raise_for_decision(evaluation)
    return evaluation


def raise_for_decision(evaluation: policy_pb2.EvaluateResponse) -> None:
    """403 on a hard denial; 422 when an override would let it pass."""
    outcome = evaluation.outcome
    details = {
        "outcome": policy_pb2.DecisionOutcome.Name(outcome).removeprefix("DECISION_OUTCOME_"),
        "decision": evaluation.decision,
        "violations": _violations(evaluation),
        "summary": evaluation.summary,
    }
    if outcome == policy_pb2.DECISION_OUTCOME_DENY:
        raise ApiError(
            403, "denied by policy", name="PolicyDeniedError", details={**details, "overridePossible": False}
        )
    if outcome == policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE:
        raise ApiError(
            422,
            "soft-mandatory policies failed; an override can approve it: resend with "
            '"override": {"reason": "...", "approved_by": "..."}',
            name="PolicyOverrideRequiredError",
            details={**details, "overridePossible": True},
        )
    if outcome == policy_pb2.DECISION_OUTCOME_UNSPECIFIED:
        raise ApiError(502, "the policy service returned no decision", name="BadGatewayError")


def _violations(evaluation: policy_pb2.EvaluateResponse) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for result in evaluation.results:
        for violation in result.violations:
            found.append(
                {
                    "policy": violation.policy,
                    "resource": violation.resource or result.resource,
                    "message": violation.message,
                    "severity": policy_pb2.Severity.Name(violation.severity)
                    .removeprefix("SEVERITY_")
                    .lower(),
                    "enforcement_level": policy_pb2.EnforcementLevel.Name(violation.enforcement_level)
                    .removeprefix("ENFORCEMENT_LEVEL_")
                    .lower(),
                }
            )
        for error in result.errors:
            found.append(
                {
                    "policy": error.policy,
                    "resource": error.resource or result.resource,
                    "message": f"could not be evaluated: {error.message}",
                    "severity": "error",
                    "enforcement_level": policy_pb2.EnforcementLevel.Name(error.enforcement_level)
                    .removeprefix("ENFORCEMENT_LEVEL_")
                    .lower(),
                }
            )
    return found
