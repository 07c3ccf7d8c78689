"""Proto ⇄ domain conversion for the policy service; unconvertible values become field violations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from paved.common.v1 import common_pb2
from paved.policy.v1 import policy_pb2
from paved_kit.errors import FieldViolation

from paved_policy.domain import (
    POLICY_PREFIX,
    Decision,
    EnforcementLevel,
    EvaluationContext,
    EvaluationError,
    Outcome,
    Override,
    Policy,
    PolicyException,
    PolicyRecord,
    Resource,
    ResourceResult,
    Scope,
    Severity,
    Violation,
    WaivedViolation,
)

SEVERITIES = {
    policy_pb2.SEVERITY_ERROR: Severity.ERROR,
    policy_pb2.SEVERITY_WARNING: Severity.WARNING,
    policy_pb2.SEVERITY_INFO: Severity.INFO,
}
LEVELS = {
    policy_pb2.ENFORCEMENT_LEVEL_ADVISORY: EnforcementLevel.ADVISORY,
    policy_pb2.ENFORCEMENT_LEVEL_SOFT_MANDATORY: EnforcementLevel.SOFT_MANDATORY,
    policy_pb2.ENFORCEMENT_LEVEL_HARD_MANDATORY: EnforcementLevel.HARD_MANDATORY,
}
OUTCOMES = {
    Outcome.ALLOW: policy_pb2.DECISION_OUTCOME_ALLOW,
    Outcome.ALLOW_WITH_WARNINGS: policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS,
    Outcome.NEEDS_OVERRIDE: policy_pb2.DECISION_OUTCOME_NEEDS_OVERRIDE,
    Outcome.DENY: policy_pb2.DECISION_OUTCOME_DENY,
}
_SEVERITY_TO_PROTO = {value: key for key, value in SEVERITIES.items()}
_LEVEL_TO_PROTO = {value: key for key, value in LEVELS.items()}


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python (numbers are floats, as JSON has them)."""
    return json_format.MessageToDict(struct)


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _datetime(stamp: timestamp_pb2.Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def _enum(
    value: int,
    table: dict[Any, Any],
    names: Callable[[int], str],
    field: str,
    problems: list[FieldViolation],
    fallback: Any,
) -> Any:
    if value in table:
        return table[value]
    choices = ", ".join(names(key) for key in table)
    problems.append(FieldViolation(field, f"is required: one of {choices}"))
    return fallback


def policy_from_proto(
    message: policy_pb2.Policy, *, policy_id: str, field: str, problems: list[FieldViolation]
) -> Policy:
    """The policy a request carries; unconvertible enums are added to ``problems``."""
    return Policy(
        policy_id=policy_id,
        description=message.description,
        severity=_enum(
            message.severity,
            SEVERITIES,
            policy_pb2.Severity.Name,
            f"{field}.severity",
            problems,
            Severity.ERROR,
        ),
        enforcement_level=_enum(
            message.enforcement_level,
            LEVELS,
            policy_pb2.EnforcementLevel.Name,
            f"{field}.enforcement_level",
            problems,
            EnforcementLevel.ADVISORY,
        ),
        scope=Scope(
            tuple(message.scope.resource_types), tuple(message.scope.teams), tuple(message.scope.environments)
        ),
        expression=message.expression,
        message=message.message,
        parameters=struct_to_dict(message.parameters),
        enabled=message.enabled,
        environment_levels={
            environment: _enum(
                level,
                LEVELS,
                policy_pb2.EnforcementLevel.Name,
                f"{field}.environment_levels[{environment}]",
                problems,
                EnforcementLevel.ADVISORY,
            )
            for environment, level in message.environment_levels.items()
        },
    )


def policy_id_of(name: str) -> str:
    """The id in ``policies/{policy}`` (or the text as given, for validation to judge)."""
    return name.removeprefix(POLICY_PREFIX)


def policy_to_proto(record: PolicyRecord) -> policy_pb2.Policy:
    """A stored policy as the API shows it."""
    policy = record.policy
    message = policy_pb2.Policy(
        name=policy.name,
        description=policy.description,
        severity=_SEVERITY_TO_PROTO[policy.severity],
        enforcement_level=_LEVEL_TO_PROTO[policy.enforcement_level],
        scope=policy_pb2.Scope(
            resource_types=policy.scope.resource_types,
            teams=policy.scope.teams,
            environments=policy.scope.environments,
        ),
        expression=policy.expression,
        message=policy.message,
        environment_levels={k: _LEVEL_TO_PROTO[v] for k, v in policy.environment_levels.items()},
        enabled=policy.enabled,
        builtin=policy.builtin,
        revision=policy.revision,
        etag=record.etag,
        create_time=_timestamp(record.create_time),
        update_time=_timestamp(record.update_time),
    )
    message.parameters.update(dict(policy.parameters))
    return message


def exception_from_proto(message: policy_pb2.PolicyException, *, policy: str) -> PolicyException:
    """The exception a CreateException carries (an unset expire_time is the epoch, refused as past)."""
    return PolicyException(
        name="",
        policy=policy,
        approved_by=message.approved_by,
        reason=message.reason,
        expire_time=_datetime(message.expire_time),
        resource_pattern=message.resource_pattern,
        team=message.team,
    )


def exception_to_proto(exception: PolicyException) -> policy_pb2.PolicyException:
    """An exception as the API shows it."""
    message = policy_pb2.PolicyException(
        name=exception.name,
        resource_pattern=exception.resource_pattern,
        team=exception.team,
        approved_by=exception.approved_by,
        reason=exception.reason,
        expire_time=_timestamp(exception.expire_time),
    )
    if exception.create_time is not None:
        message.create_time.CopyFrom(_timestamp(exception.create_time))
    return message


def resource_from_proto(message: common_pb2.Resource) -> Resource:
    """A plan resource as rules see it."""
    return Resource(
        name=message.name,
        type=message.type,
        tags=dict(message.tags),
        properties=struct_to_dict(message.properties),
    )


def context_from_proto(
    message: policy_pb2.EvaluationContext, now: Callable[[], datetime]
) -> EvaluationContext:
    """The evaluation context; the time defaults to now."""
    return EvaluationContext(
        time=_datetime(message.time) if message.HasField("time") else now(),
        team=message.team,
        environment=message.environment,
        requester=message.requester,
        service=message.service,
        estimated_monthly_cost=message.estimated_monthly_cost,
        currency=message.currency,
        attributes=struct_to_dict(message.attributes),
    )


def override_from_request(request: policy_pb2.EvaluateRequest) -> Override | None:
    """The override, when the request carries one (an empty one is refused by validation)."""
    if not request.HasField("override"):
        return None
    return Override(approved_by=request.override.approved_by, reason=request.override.reason)


def _violation(violation: Violation) -> policy_pb2.Violation:
    return policy_pb2.Violation(
        policy=violation.policy,
        policy_revision=violation.policy_revision,
        severity=_SEVERITY_TO_PROTO[violation.severity],
        enforcement_level=_LEVEL_TO_PROTO[violation.enforcement_level],
        message=violation.message,
        resource=violation.resource,
    )


def _waived(item: WaivedViolation) -> policy_pb2.WaivedViolation:
    return policy_pb2.WaivedViolation(violation=_violation(item.violation), exception=item.exception)


def _error(error: EvaluationError) -> policy_pb2.EvaluationError:
    return policy_pb2.EvaluationError(
        policy=error.policy,
        resource=error.resource,
        message=error.message,
        enforcement_level=_LEVEL_TO_PROTO[error.enforcement_level],
    )


def result_to_proto(result: ResourceResult) -> policy_pb2.ResourceResult:
    """One resource's findings."""
    return policy_pb2.ResourceResult(
        resource=result.resource,
        type=result.type,
        violations=[_violation(v) for v in result.violations],
        waived=[_waived(w) for w in result.waived],
        errors=[_error(e) for e in result.errors],
        policies_evaluated=result.policies_evaluated,
    )


def decision_to_proto(decision: Decision) -> policy_pb2.Decision:
    """A recorded decision."""
    message = policy_pb2.Decision(
        name=decision.name,
        outcome=OUTCOMES[decision.outcome],
        inputs_digest=decision.inputs_digest,
        policy_revisions=dict(decision.policy_revisions),
        requester=decision.requester,
        team=decision.team,
        environment=decision.environment,
        service=decision.service,
        results=[result_to_proto(r) for r in decision.results],
        create_time=_timestamp(decision.create_time),
    )
    if decision.override is not None:
        message.override.CopyFrom(
            policy_pb2.Override(approved_by=decision.override.approved_by, reason=decision.override.reason)
        )
    return message
