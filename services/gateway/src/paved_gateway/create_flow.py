"""``POST /api/services``: the source design's flow as orchestrated calls, each answer mapped to HTTP.

template (and name) → validate parameters → render → estimate cost → check quota and evaluate policy
(side by side) → provision.
Quota is checked after the estimate (the agreed order puts it before rendering): provisioning's
CheckQuota needs the plan's resources and the estimate to check all three quotas (services, instances,
monthly budget). No step before provisioning changes anything but policy's audit log of decisions, so
the order changes no other outcome.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert, schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.errors import ApiError, call, from_rpc_error, invalid

SERVICE_NAME_PARAMETER = "service_name"
BLOCKING_STATES = {
    catalog_pb2.Service.STATE_PROVISIONING,
    catalog_pb2.Service.STATE_ACTIVE,
    catalog_pb2.Service.STATE_DEPROVISIONING,
}


async def create_service(
    backends: Backends,
    body: schemas.CreateServiceRequest,
    principal: Principal,
    *,
    request_id: str,
    idempotent_replay_allowed: bool,
) -> schemas.CreateServiceAccepted:
    """Run the flow; raises ApiError with the answer of the first step that refuses."""
    principal.require_team(body.team)
    template_name = convert.TEMPLATE_PREFIX + convert.bare(body.template, convert.TEMPLATE_PREFIX)
    service_name = convert.SERVICE_PREFIX + body.name

    # Independent reads: one round trip instead of two.
    outcomes: list[object] = await asyncio.gather(
        _get_template(backends, template_name),
        _refuse_existing(backends, service_name, allow=idempotent_replay_allowed),
        return_exceptions=True,
    )
    for outcome in outcomes:  # the template's problem first: it is what the caller must fix
        if isinstance(outcome, BaseException):
            raise outcome
    template = outcomes[0]
    assert isinstance(template, catalog_pb2.Template)
    parameters = _parameters(body, template)
    await _validate(backends, template_name, parameters)

    rendered = await call(
        "catalog",
        backends.catalog.RenderTemplate(
            catalog_pb2.RenderTemplateRequest(
                template=template_name,
                parameters=convert.struct(parameters),
                context=catalog_pb2.RenderContext(
                    service_name=body.name, team=body.team, environment=body.environment
                ),
            )
        ),
    )
    plan = rendered.plan
    estimate = await call(
        "cost",
        backends.cost.EstimateCost(
            cost_pb2.EstimateCostRequest(resources=plan.resources, region=plan.region)
        ),
    )
    # Quota and policy both need only the plan and the estimate: asked at once. A quota refusal wins
    # (it comes first in the flow); policy still records its decision in the audit log either way.
    checks: list[object] = await asyncio.gather(
        _check_quota(backends, body.team, plan, estimate.total_monthly_cost),
        _evaluate(backends, body, principal, plan, estimate.total_monthly_cost),
        return_exceptions=True,
    )
    for outcome in checks:
        if isinstance(outcome, BaseException):
            raise outcome
    evaluation = checks[1]
    assert isinstance(evaluation, policy_pb2.EvaluateResponse)

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
                    outcome=policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix(
                        "DECISION_OUTCOME_"
                    ),
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
        policy=schemas.PolicySummary(
            outcome=policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix("DECISION_OUTCOME_"),
            decision=evaluation.decision,
            override_applied=evaluation.override_applied,
            warnings=_violations(evaluation),
        ),
    )


async def _get_template(backends: Backends, name: str) -> catalog_pb2.Template:
    try:
        return await backends.catalog.GetTemplate(catalog_pb2.GetTemplateRequest(name=name))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise invalid(
                "the request is invalid",
                [FieldViolation("template", f"no template named {convert.bare(name, 'templates/')!r}")],
            ) from None
        raise from_rpc_error(exc, "catalog") from None


async def _refuse_existing(backends: Backends, service_name: str, *, allow: bool) -> None:
    """A live service of that name makes the create a conflict, unless it is an idempotent replay
    (provisioning returns the same operation for the same Idempotency-Key)."""
    if allow:
        return
    try:
        existing = await backends.catalog.GetService(catalog_pb2.GetServiceRequest(name=service_name))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return
        raise from_rpc_error(exc, "catalog") from None
    if existing.state in BLOCKING_STATES:
        raise ApiError(
            409,
            f"a service named {convert.bare(service_name, 'services/')!r} already exists "
            f"(state {convert.state_name(existing.state)})",
        )


def _parameters(body: schemas.CreateServiceRequest, template: catalog_pb2.Template) -> dict[str, Any]:
    parameters = dict(body.parameters)
    declared = {parameter.name for parameter in template.parameters}
    if SERVICE_NAME_PARAMETER in declared:
        given = parameters.setdefault(SERVICE_NAME_PARAMETER, body.name)
        if given != body.name:
            raise invalid(
                "the request is invalid",
                [FieldViolation(f"parameters.{SERVICE_NAME_PARAMETER}", "must equal name when given")],
            )
    return parameters


async def _validate(backends: Backends, template: str, parameters: dict[str, Any]) -> None:
    result = await call(
        "catalog",
        backends.catalog.ValidateParameters(
            catalog_pb2.ValidateParametersRequest(template=template, parameters=convert.struct(parameters))
        ),
    )
    if not result.valid:
        raise invalid(
            f"the parameters do not satisfy {template}",
            [
                FieldViolation(
                    f"parameters.{v.field}" if v.field else "parameters",
                    f"{v.description} ({v.rule})" if v.rule else v.description,
                )
                for v in result.violations
            ],
        )


async def _check_quota(backends: Backends, team: str, plan: common_pb2.Plan, estimate: Any) -> None:
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
        return
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
    estimate: Any,
) -> policy_pb2.EvaluateResponse:
    request = policy_pb2.EvaluateRequest(
        resources=plan.resources,
        context=policy_pb2.EvaluationContext(
            team=body.team,
            environment=body.environment,
            requester=principal.subject,
            service=body.name,
            estimated_monthly_cost=convert.money_amount(estimate),
            currency=estimate.currency_code or "USD",
        ),
    )
    if body.override is not None:
        request.override.CopyFrom(
            policy_pb2.Override(
                approved_by=body.override.approved_by or principal.subject, reason=body.override.reason
            )
        )
    evaluation = await call("policy", backends.policy.Evaluate(request))
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
