"""A service's rightsizing: its tracked compute settings, its usage history from alerting, the recommender,
and the prices of the change."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.attribution import bare_service_name
from paved_cost.instance_fit import cheapest_fit, monthly_saving, parse_quantity, unit_prices
from paved_cost.prices import PriceCatalog
from paved_cost.rightsizing import Advice, Current, recommend
from paved_cost.usage import UsageHistory

SERVICE_LABEL_LIMIT = 63


class HistorySource(Protocol):
    """Where usage history comes from (alerting over gRPC)."""

    async def usage(self, service: str, environment: str, now: float) -> tuple[UsageHistory, str]:
        """The service's usage and the history's source name."""
        ...


@dataclass(frozen=True)
class ResourceRecommendation:
    """A rightsizing of one service's compute, with its prices."""

    service: str
    environment: str
    resource: str
    team: str
    current: Current
    advice: Advice
    current_instance_type: str
    recommended_instance_type: str
    monthly_savings: Decimal
    currency: str
    history_source: str
    generated_at: datetime
    reasons: list[str]


class Rightsizer:
    """Recommends requests, limits, replicas and an instance type for a tracked service."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        history: HistorySource,
        catalog: PriceCatalog,
        currency: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessions = sessions
        self._history = history
        self._catalog = catalog
        self._currency = currency
        self._clock = clock

    async def recommend(self, service: str, environment: str) -> ResourceRecommendation:
        """The recommendation for ``service``'s compute (in ``environment`` when given)."""
        name = bare_service_name(service)
        violations = []
        if not name or len(name) > SERVICE_LABEL_LIMIT:
            violations.append(FieldViolation("service", "required: `services/{service}` or a service name"))
        if len(environment) > SERVICE_LABEL_LIMIT:
            violations.append(FieldViolation("environment", f"at most {SERVICE_LABEL_LIMIT} characters"))
        if violations:
            raise InvalidArgument("cannot recommend resources", violations)
        async with self._sessions() as session:
            tracked = await store.list_resources(session=session, service=name)
        compute = [
            r for r in tracked if r.type == "compute" and (not environment or r.environment == environment)
        ]
        if not compute:
            where = f" in {environment}" if environment else ""
            raise NotFound(
                f"services/{name} has no tracked compute resource{where}",
                metadata={"service": name, "environment": environment},
            )
        resource = compute[0]
        properties: dict[str, Any] = json.loads(resource.properties)
        current = current_settings(properties, resource.changed_at.timestamp())
        now = self._clock()
        history, source = await self._history.usage(name, environment, now.timestamp())
        advice = recommend(history, current)
        reasons = list(advice.reasons)
        if not history.cpu and not history.memory:
            reasons.insert(
                0, "no usage history in the last 8 days: send cpu_usage and memory_working_set samples"
            )
        region = str(properties.get("region") or self._catalog.default_region)
        units = unit_prices(self._catalog, region)
        hours = float(self._catalog.hours_per_month)
        saving = monthly_saving(
            units,
            hours,
            current.replicas,
            advice.cpu.recommended_request - current.cpu_request,
            advice.memory.recommended_request - current.memory_request,
        )
        fit = cheapest_fit(
            self._catalog,
            region,
            advice.cpu.recommended_request,
            advice.memory.recommended_request,
            advice.cpu.evidence.p50,
        )
        return ResourceRecommendation(
            service=name,
            environment=resource.environment,
            resource=resource.resource,
            team=resource.team,
            current=current,
            advice=advice,
            current_instance_type=str(properties.get("instance_type") or ""),
            recommended_instance_type=fit[0] if fit else "",
            monthly_savings=Decimal(str(round(saving, 2))),
            currency=self._currency,
            history_source=source,
            generated_at=now,
            reasons=reasons,
        )


def current_settings(properties: dict[str, Any], changed_at: float | None = None) -> Current:
    """Per-replica requests and limits of a tracked compute resource (catalog's property vocabulary)."""

    def quantity(key: str) -> float | None:
        value = properties.get(key)
        return parse_quantity(str(value)) if value not in (None, "") else None

    cpu, memory = quantity("cpu_request"), quantity("memory_request")
    if cpu is None or memory is None:
        raise FailedPrecondition(
            "the service's compute has no CPU and memory requests to rightsize",
            [
                PreconditionViolation(
                    "RESOURCES",
                    "cpu_request/memory_request",
                    "the workload's container must set resources.requests.cpu and .memory",
                )
            ],
            reason="NO_RESOURCE_REQUESTS",
        )

    def integer(key: str, default: int) -> int:
        value = properties.get(key)
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default

    replicas = integer("replicas", 1)
    return Current(
        cpu_request=cpu,
        memory_request=memory,
        replicas=replicas,
        cpu_limit=quantity("cpu_limit"),
        memory_limit=quantity("memory_limit"),
        min_replicas=integer("min_instances", replicas),
        max_replicas=integer("max_instances", replicas),
        changed_at=changed_at,
    )
