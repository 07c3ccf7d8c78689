"""Checks on what callers send: policies, exceptions, evaluation requests. Every problem at once.

Each check returns FieldViolations naming the field and the rule; the caller refuses the request
(INVALID_ARGUMENT) when there are any, so bad input changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from paved_kit.errors import FieldViolation

from paved_policy.domain import EvaluationContext, Override, Policy, PolicyException, Resource
from paved_policy.rules import RuleCompileError, RuleEngine

POLICY_ID = re.compile(r"^[a-z]([a-z0-9_-]{0,61}[a-z0-9])?$")
EXCEPTION_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
SCOPE_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
MAX_DESCRIPTION = 2048
MAX_EXPRESSION = 8192
MAX_MESSAGE = 2048
MAX_TEXT = 512
MAX_SCOPE_VALUES = 100


def policy_id_violation(policy_id: str, field: str) -> FieldViolation | None:
    """Why ``policy_id`` is not a valid policy id, if it is not."""
    if not POLICY_ID.match(policy_id):
        return FieldViolation(
            field,
            "must be 1-63 characters of lowercase letters, digits, '-' or '_', "
            "starting with a letter and ending with a letter or digit",
        )
    return None


def check_policy(policy: Policy, engine: RuleEngine, *, field: str = "policy") -> list[FieldViolation]:
    """Problems with the content of ``policy`` (not its id); the expression and message must compile."""
    problems: list[FieldViolation] = []
    if len(policy.description) > MAX_DESCRIPTION:
        problems.append(
            FieldViolation(f"{field}.description", f"must be at most {MAX_DESCRIPTION} characters")
        )
    if not policy.expression.strip():
        problems.append(
            FieldViolation(
                f"{field}.expression", "is required: a CEL expression that is true when a resource complies"
            )
        )
    elif len(policy.expression) > MAX_EXPRESSION:
        problems.append(FieldViolation(f"{field}.expression", f"must be at most {MAX_EXPRESSION} characters"))
    else:
        try:
            engine.compile(policy.expression, policy.revision)
        except RuleCompileError as exc:
            problems.append(FieldViolation(f"{field}.expression", f"invalid CEL: {exc}"))
    if len(policy.message) > MAX_MESSAGE:
        problems.append(FieldViolation(f"{field}.message", f"must be at most {MAX_MESSAGE} characters"))
    else:
        try:
            engine.compile_message(policy.message)
        except RuleCompileError as exc:
            problems.append(FieldViolation(f"{field}.message", f"invalid placeholder: {exc}"))
    for name, values in (
        ("resource_types", policy.scope.resource_types),
        ("teams", policy.scope.teams),
        ("environments", policy.scope.environments),
    ):
        if len(values) > MAX_SCOPE_VALUES:
            problems.append(
                FieldViolation(f"{field}.scope.{name}", f"must have at most {MAX_SCOPE_VALUES} values")
            )
        for index, value in enumerate(values):
            if not SCOPE_VALUE.match(value):
                problems.append(
                    FieldViolation(
                        f"{field}.scope.{name}[{index}]",
                        "must be 1-63 characters of letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit",
                    )
                )
    if len(policy.environment_levels) > MAX_SCOPE_VALUES:
        problems.append(
            FieldViolation(
                f"{field}.environment_levels", f"must have at most {MAX_SCOPE_VALUES} environments"
            )
        )
    for environment in policy.environment_levels:
        if not SCOPE_VALUE.match(environment):
            problems.append(
                FieldViolation(
                    f"{field}.environment_levels",
                    f"key {environment[:40]!r} must be an environment id "
                    "(1-63 letters, digits, '.', '_' or '-')",
                )
            )
    return problems


def check_exception(
    exception: PolicyException, *, now: datetime, max_duration: timedelta, field: str = "exception"
) -> list[FieldViolation]:
    """Problems with a new exception: who approved it, why, until when, and what it matches."""
    problems: list[FieldViolation] = []
    if not exception.approved_by.strip():
        problems.append(FieldViolation(f"{field}.approved_by", "is required: who approved the exception"))
    elif len(exception.approved_by) > MAX_TEXT:
        problems.append(FieldViolation(f"{field}.approved_by", f"must be at most {MAX_TEXT} characters"))
    if not exception.reason.strip():
        problems.append(FieldViolation(f"{field}.reason", "is required: why the exception is granted"))
    elif len(exception.reason) > MAX_DESCRIPTION:
        problems.append(FieldViolation(f"{field}.reason", f"must be at most {MAX_DESCRIPTION} characters"))
    if exception.expire_time <= now:
        problems.append(FieldViolation(f"{field}.expire_time", "is required and must be in the future"))
    elif exception.expire_time > now + max_duration:
        problems.append(
            FieldViolation(f"{field}.expire_time", f"must be at most {max_duration.days} days from now")
        )
    if len(exception.resource_pattern) > MAX_TEXT:
        problems.append(FieldViolation(f"{field}.resource_pattern", f"must be at most {MAX_TEXT} characters"))
    if exception.team and not SCOPE_VALUE.match(exception.team):
        problems.append(
            FieldViolation(f"{field}.team", "must be a team name (letters, digits, '.', '_', '-')")
        )
    return problems


def check_resources(
    resources: Sequence[Resource], *, max_resources: int, field: str = "resources"
) -> list[FieldViolation]:
    """Problems with the resources to evaluate: present, named uniquely, typed, not too many."""
    problems: list[FieldViolation] = []
    if not resources:
        problems.append(FieldViolation(field, "at least one resource is required"))
    if len(resources) > max_resources:
        problems.append(FieldViolation(field, f"at most {max_resources} resources per request"))
        return problems
    seen: set[str] = set()
    for index, resource in enumerate(resources):
        if not resource.name:
            problems.append(FieldViolation(f"{field}[{index}].name", "is required"))
        elif resource.name in seen:
            problems.append(
                FieldViolation(f"{field}[{index}].name", f"duplicate resource name {resource.name!r}")
            )
        seen.add(resource.name)
        if not resource.type:
            problems.append(FieldViolation(f"{field}[{index}].type", "is required"))
    return problems


def check_context(context: EvaluationContext, *, field: str = "context") -> list[FieldViolation]:
    """Problems with the evaluation context."""
    problems: list[FieldViolation] = []
    if context.estimated_monthly_cost < 0 or context.estimated_monthly_cost != context.estimated_monthly_cost:
        problems.append(FieldViolation(f"{field}.estimated_monthly_cost", "must be a number >= 0"))
    for name in ("team", "environment", "requester", "service", "currency"):
        if len(getattr(context, name)) > MAX_TEXT:
            problems.append(FieldViolation(f"{field}.{name}", f"must be at most {MAX_TEXT} characters"))
    return problems


def check_override(override: Override | None, *, field: str = "override") -> list[FieldViolation]:
    """An override must say who approved it and why; an incomplete one is refused, not ignored."""
    if override is None:
        return []
    problems: list[FieldViolation] = []
    if not override.approved_by.strip():
        problems.append(
            FieldViolation(f"{field}.approved_by", "is required in an override: who takes responsibility")
        )
    if not override.reason.strip():
        problems.append(
            FieldViolation(f"{field}.reason", "is required in an override: why the failure is accepted")
        )
    return problems


def check_parameters(
    parameters: Mapping[str, Any], *, field: str = "policy.parameters"
) -> list[FieldViolation]:
    """Parameter names must be CEL identifiers, so rules can read them as ``params.name``."""
    return [
        FieldViolation(f"{field}.{name}", "parameter names must be identifiers ([A-Za-z_][A-Za-z0-9_]*)")
        for name in parameters
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name)
    ]
