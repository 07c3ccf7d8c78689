"""Environments at the gateway: the environment a request names must be one of the platform's, and a
create of an existing service in another environment adds that environment to the same service only."""

from __future__ import annotations

from typing import Any

from paved.catalog.v1 import catalog_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert
from paved_gateway.backends import Backends
from paved_gateway.errors import call

ENVIRONMENT_PREFIX = "environments/"
BLOCKING_STATES = {
    catalog_pb2.Service.STATE_PROVISIONING,
    catalog_pb2.Service.STATE_ACTIVE,
    catalog_pb2.Service.STATE_DEPROVISIONING,
}


async def platform_environments(backends: Backends) -> list[catalog_pb2.Environment]:
    """The platform's environments in promotion order."""
    reply = await call("catalog", backends.catalog.ListEnvironments(catalog_pb2.ListEnvironmentsRequest()))
    return list(reply.environments)


def unknown_environment(field: str, name: str, known: list[catalog_pb2.Environment]) -> FieldViolation:
    names = ", ".join(convert.bare(e.name, ENVIRONMENT_PREFIX) for e in known)
    return FieldViolation(field, f"unknown environment {name!r}; known: {names}")


async def environment_stage(
    backends: Backends, name: object, violations: list[FieldViolation], field: str = "environment"
) -> catalog_pb2.Environment | None:
    """The platform's settings of environment ``name``; an unknown one adds a violation on ``field``."""
    if not isinstance(name, str):
        return None
    known = await platform_environments(backends)
    for environment in known:
        if convert.bare(environment.name, ENVIRONMENT_PREFIX) == name:
            return environment
    violations.append(unknown_environment(field, name, known))
    return None


def service_conflict(existing: catalog_pb2.Service, raw: dict[str, Any]) -> str | None:
    """Why creating ``raw`` conflicts with the registered ``existing`` service, or None when it may go on
    (a new environment of the same service, or a retired one). Another team's service is not the caller's
    business: its name is taken, nothing more is said about it."""
    name = convert.bare(existing.name, convert.SERVICE_PREFIX)
    taken = f"a service named {name!r} already exists; choose another name"
    team = raw.get("team")
    states = {e.environment: e.state for e in existing.environments} or {existing.environment: existing.state}
    if isinstance(team, str) and team != existing.team:
        return taken if any(state in BLOCKING_STATES for state in states.values()) else None
    environment = raw.get("environment") or "development"
    if environment in states:
        state = states[environment]
        if state in BLOCKING_STATES:
            described = convert.state_name(state)
            return f"a service named {name!r} already exists in {environment} (state {described})"
        return None
    template = raw.get("template")
    if isinstance(template, str):
        wanted = convert.bare(template, convert.TEMPLATE_PREFIX)
        have = convert.bare(existing.template, convert.TEMPLATE_PREFIX)
        if wanted != have:
            return (
                f"the team's service {name!r} is built from template {have!r}, not {wanted!r}; "
                "an environment can only be added to the same service"
            )
    return None
