"""The checks of a create that answer with field violations, all run before any of them refuses: the
request's fields, the template, the template's parameters and the name's availability. A caller fixes
everything from one 400 instead of one stage per attempt."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2
from paved_kit.errors import FieldViolation
from pydantic import ValidationError

from paved_gateway import convert, schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.environments import environment_stage, service_conflict
from paved_gateway.errors import ApiError, call, from_rpc_error, invalid

SERVICE_NAME_PARAMETER = "service_name"


@dataclass
class CheckedCreate:
    """A create request whose fields, template and parameters all passed."""

    body: schemas.CreateServiceRequest
    template: catalog_pb2.Template
    parameters: dict[str, Any]
    # The platform's settings for the environment the service is created in.
    environment: catalog_pb2.Environment | None = None


@dataclass
class _Findings:
    violations: list[FieldViolation] = field(default_factory=list)
    conflict: str | None = None


async def check_create(
    backends: Backends, raw: object, principal: Principal, *, idempotent_replay_allowed: bool
) -> CheckedCreate:
    """The checked request; raises 400 with every violation of every stage, 409 when the name is the
    only problem, 403 when the caller may not act for the team."""
    if not isinstance(raw, dict):
        raise invalid("the request is invalid", [FieldViolation("body", "must be a JSON object")])
    body, violations, bad_fields = _parse(raw)
    team = raw.get("team")
    if "team" not in bad_fields and isinstance(team, str):
        # Authorization before anything that would tell a stranger whether a template or name exists.
        principal.require_team(team)
    findings = _Findings(violations=list(violations))
    name = raw.get("name") if "name" not in bad_fields else None
    template_ref = raw.get("template") if "template" not in bad_fields else None
    given = raw.get("parameters") if "parameters" not in bad_fields else None
    parameters: dict[str, Any] = dict(given) if isinstance(given, dict) else {}

    environment = raw.get("environment", "development") if "environment" not in bad_fields else None
    outcomes: list[object] = await asyncio.gather(
        _template_stage(backends, template_ref, name, parameters, findings),
        _conflict_stage(backends, name, findings, skip=idempotent_replay_allowed, raw=raw),
        environment_stage(backends, environment, findings.violations),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if failures and not findings.violations:
        raise failures[0]
    # A service that could not answer does not hide the problems already found: they need fixing anyway.
    template = outcomes[0]
    if findings.violations:
        everything = list(findings.violations)
        if findings.conflict:
            everything.append(FieldViolation("name", findings.conflict))
        raise invalid(_summary(everything), everything)
    if findings.conflict:
        raise ApiError(409, findings.conflict)
    assert body is not None and isinstance(template, catalog_pb2.Template)
    settings = outcomes[2] if isinstance(outcomes[2], catalog_pb2.Environment) else None
    return CheckedCreate(body=body, template=template, parameters=parameters, environment=settings)


def _parse(raw: dict[str, Any]) -> tuple[schemas.CreateServiceRequest | None, list[FieldViolation], set[str]]:
    try:
        return schemas.CreateServiceRequest.model_validate(raw), [], set()
    except ValidationError as exc:
        violations: list[FieldViolation] = []
        bad: set[str] = set()
        for error in exc.errors(include_input=False, include_url=False):
            loc = [str(part) for part in error.get("loc", ())]
            if loc:
                bad.add(loc[0])
            violations.append(FieldViolation(".".join(loc) or "body", _rule(error)))
        return None, violations, bad


def _rule(error: Any) -> str:
    """Pydantic's message, with a pattern spelled out in words where we know it."""
    context = error.get("ctx") or {}
    if error.get("type") == "string_pattern_mismatch" and context.get("pattern") == schemas.DNS_LABEL:
        return (
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter and not "
            "ending with '-'"
        )
    if error.get("type") == "extra_forbidden":
        return "is not a field of this request"
    return str(error.get("msg", "invalid"))


def _summary(violations: list[FieldViolation]) -> str:
    count = len(violations)
    return f"the request is invalid: {count} problem{'s' if count != 1 else ''}"


async def _template_stage(
    backends: Backends,
    template_ref: object,
    name: object,
    parameters: dict[str, Any],
    findings: _Findings,
) -> catalog_pb2.Template | None:
    if not isinstance(template_ref, str):
        return None
    template_name = convert.TEMPLATE_PREFIX + convert.bare(template_ref, convert.TEMPLATE_PREFIX)
    try:
        template = await backends.catalog.GetTemplate(catalog_pb2.GetTemplateRequest(name=template_name))
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            findings.violations.append(
                FieldViolation("template", f"no template named {convert.bare(template_name, 'templates/')!r}")
            )
            return None
        raise from_rpc_error(exc, "catalog") from None
    declared = {parameter.name for parameter in template.parameters}
    name_given = SERVICE_NAME_PARAMETER in parameters
    if (
        SERVICE_NAME_PARAMETER in declared
        and isinstance(name, str)
        and parameters.setdefault(SERVICE_NAME_PARAMETER, name) != name
    ):
        findings.violations.append(
            FieldViolation(f"parameters.{SERVICE_NAME_PARAMETER}", "must equal name when given")
        )
    result = await call(
        "catalog",
        backends.catalog.ValidateParameters(
            catalog_pb2.ValidateParametersRequest(
                template=template_name, parameters=convert.struct(parameters)
            )
        ),
    )
    for violation in result.violations:
        if violation.field == SERVICE_NAME_PARAMETER and not name_given and not isinstance(name, str):
            continue  # the name itself is wrong (already reported); its copy would repeat it
        findings.violations.append(
            FieldViolation(
                f"parameters.{violation.field}" if violation.field else "parameters",
                f"{violation.description} ({violation.rule})" if violation.rule else violation.description,
            )
        )
    return template


async def _conflict_stage(
    backends: Backends, name: object, findings: _Findings, *, skip: bool, raw: dict[str, Any]
) -> None:
    """A live service of that name in that environment is a conflict, unless the request is an idempotent
    replay (provisioning returns the same operation for the same Idempotency-Key). In another environment
    it adds that environment when it is the same service (team and template), else it is a conflict."""
    if skip or not isinstance(name, str):
        return
    try:
        existing = await backends.catalog.GetService(
            catalog_pb2.GetServiceRequest(name=convert.SERVICE_PREFIX + name)
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return
        raise from_rpc_error(exc, "catalog") from None
    findings.conflict = service_conflict(existing, raw)
