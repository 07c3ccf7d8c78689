"""The environments part of ``GET /api/services/{name}``: each environment the service runs in, and the
answer narrowed to one with ``?environment=``."""

from __future__ import annotations

from collections.abc import Mapping

from paved.alerting.v1 import alerting_pb2
from paved.catalog.v1 import catalog_pb2
from paved.cost.v1 import cost_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert, schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.environments import environment_stage
from paved_gateway.errors import ApiError, invalid

# What alerting means by a request that names no environment.
DEFAULT_ENVIRONMENT = "development"


def _found(service: catalog_pb2.Service) -> list[catalog_pb2.ServiceEnvironment]:
    return list(service.environments) or [
        catalog_pb2.ServiceEnvironment(environment=service.environment, state=service.state)
    ]


def names(service: catalog_pb2.Service) -> list[str]:
    """The environments the service runs in, in promotion order."""
    return [e.environment for e in _found(service)]


def statuses(
    service: catalog_pb2.Service,
    healths: Mapping[str, alerting_pb2.ServiceHealth | None],
    cost: cost_pb2.ServiceCost | None,
) -> list[schemas.EnvironmentStatus]:
    """Each environment in promotion order, with the health and metrics alerting reports for it and the
    monthly estimate cost holds for it. Billing does not say which environment a charge is for, so the
    month's actual figures are the service's (at its top level), not an environment's."""
    estimates = {e.environment: e for e in cost.environments} if cost is not None else {}
    return [
        schemas.EnvironmentStatus(
            name=e.environment,
            status=convert.state_name(e.state),
            version=e.version or None,
            image=e.image or None,
            endpoints=list(e.endpoints),
            health=convert.health_name(health.status) if (health := healths.get(e.environment)) else None,
            metrics=convert.metrics(health) if health else None,
            cost=convert.environment_cost(estimates[e.environment]) if e.environment in estimates else None,
        )
        for e in _found(service)
    ]


async def narrowed(
    backends: Backends,
    principal: Principal,
    service: catalog_pb2.Service,
    environment: str,
    environments: list[schemas.EnvironmentStatus],
    cost: schemas.Cost | None,
    unavailable: list[str],
) -> schemas.ServiceStatus:
    """The service as it is in ``environment``: 400 naming ``environment`` when the platform has no such
    environment, 404 when the service does not run there."""
    service_id = convert.bare(service.name, convert.SERVICE_PREFIX)
    chosen = next((e for e in environments if e.name == environment), None)
    if chosen is None:
        problems: list[FieldViolation] = []
        await environment_stage(backends, environment, problems)
        if problems:
            raise invalid("the request is invalid", problems)
        # The caller may see the service (checked before): saying where it does not run tells nothing new.
        raise ApiError(404, f"service {service_id!r} does not run in {environment}")
    return schemas.ServiceStatus(
        id=service_id,
        name=service_id,
        team=service.team,
        template=convert.bare(service.template, convert.TEMPLATE_PREFIX),
        environment=environment,
        status=chosen.status,
        health=chosen.health or "unknown",
        metrics=chosen.metrics,
        # Billing is per service: the month's figures stay the service's; the environment's estimate is
        # in its entry.
        cost=cost,
        endpoints=chosen.endpoints,
        dashboards=convert.links(service.dashboards),
        documentation=service.documentation_url or None,
        unavailable=unavailable,
        environments=[chosen],
    )
