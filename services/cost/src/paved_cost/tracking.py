"""What provisioning registers for cost tracking (services and their resources) and utilization samples."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.attribution import bare_service_name
from paved_cost.models import AppliedOptimization, EnvironmentEstimate, ServiceRegistration, TrackedResource
from paved_cost.resources import PlanResource

METRICS = frozenset({"cpu", "memory"})
MAX_SAMPLES_PER_CALL = 100_000


@dataclass(frozen=True)
class Sample:
    service: str
    resource: str
    metric: str
    value: float
    time: datetime | None


class Tracking:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], currency: str, clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._currency = currency
        self._clock = clock

    async def register(
        self,
        *,
        service: str,
        team: str,
        environment: str,
        resources: Sequence[PlanResource],
        estimated_monthly_cost: Decimal | None,
        template: str = "",
        optimization_operation: str = "",
    ) -> int:
        """Track ``resources`` as the service's whole set (idempotent: a retry changes nothing). With an
        ``optimization_operation`` the change is recorded once, so its realised saving can be measured."""
        name = bare_service_name(service)
        violations = []
        if not name:
            violations.append(FieldViolation("service", "must not be empty"))
        if not team:
            violations.append(FieldViolation("team", "must not be empty"))
        seen: set[str] = set()
        for index, resource in enumerate(resources):
            if not resource.name:
                violations.append(FieldViolation(f"resources[{index}].name", "must not be empty"))
            elif resource.name in seen:
                violations.append(
                    FieldViolation(f"resources[{index}].name", f"duplicate name {resource.name!r}")
                )
            seen.add(resource.name)
        if estimated_monthly_cost is not None and estimated_monthly_cost < 0:
            violations.append(FieldViolation("estimated_monthly_cost", "must not be negative"))
        if optimization_operation and not optimization_operation.startswith("operations/"):
            violations.append(
                FieldViolation("optimization_operation", "must be an operation name: operations/{operation}")
            )
        if violations:
            raise InvalidArgument("invalid registration", violations)
        now = self._clock()
        tracked = [
            TrackedResource(
                service=name,
                resource=resource.name,
                type=resource.type,
                team=team,
                environment=environment,
                properties=json.dumps(resource.properties, sort_keys=True),
                registered_at=now,
                changed_at=now,
            )
            for resource in resources
        ]
        async with self._sessions() as session, session.begin():
            await store.upsert_environment_estimate(
                session=session,
                estimate=EnvironmentEstimate(
                    service=name,
                    environment=environment,
                    team=team,
                    estimated_monthly_cost=estimated_monthly_cost,
                    currency=self._currency,
                    registered_at=now,
                ),
            )
            await store.upsert_registration(
                session=session,
                registration=ServiceRegistration(
                    service=name,
                    team=team,
                    environment=environment,
                    estimated_monthly_cost=await _total(session, name),
                    currency=self._currency,
                    registered_at=now,
                    template=template,
                ),
            )
            await store.replace_resources(session=session, service=name, resources=tracked)
            if optimization_operation and (
                await store.optimization_of_operation(session=session, operation=optimization_operation)
                is None
            ):
                # Realised savings are measured on the whole service; the record names its compute.
                changed = next((r.name for r in resources if r.type == "compute"), "")
                await store.add_optimization(
                    session=session,
                    optimization=AppliedOptimization(
                        recommendation="rightsizing",
                        service=name,
                        resource=changed,
                        from_instance_type="",
                        to_instance_type="",
                        monthly_savings=Decimal(0),
                        currency=self._currency,
                        operation=optimization_operation,
                        applied_at=now,
                    ),
                )
        return len(tracked)

    async def unregister(self, service: str, environment: str = "") -> int:
        """Stop tracking one environment of a service (the whole service when ``environment`` is empty,
        or when it was the last one); returns how many resources were removed."""
        name = bare_service_name(service)
        if not name:
            raise InvalidArgument("service is required", [FieldViolation("service", "must not be empty")])
        async with self._sessions() as session, session.begin():
            if not environment:
                return await store.delete_registration(session=session, service=name)
            removed = await store.delete_environment(session=session, service=name, environment=environment)
            registration = await store.get_registration(session=session, service=name)
            if not await store.environment_estimates(session=session, service=name):
                return removed + await store.delete_registration(session=session, service=name)
            if registration is not None:
                registration.estimated_monthly_cost = await _total(session, name)
            return removed

    async def is_registered(self, service: str) -> bool:
        """Whether the service is still registered for cost tracking (in some environment)."""
        async with self._sessions() as session:
            found = await store.get_registration(session=session, service=bare_service_name(service))
        return found is not None

    async def record(self, samples: Sequence[Sample]) -> int:
        """Store samples; every bad one is reported and none is stored."""
        violations = []
        if len(samples) > MAX_SAMPLES_PER_CALL:
            violations.append(FieldViolation("samples", f"at most {MAX_SAMPLES_PER_CALL} per message"))
        now = self._clock()
        rows = []
        for index, sample in enumerate(samples):
            path = f"samples[{index}]"
            if not bare_service_name(sample.service):
                violations.append(FieldViolation(f"{path}.service", "must not be empty"))
            if not sample.resource:
                violations.append(FieldViolation(f"{path}.resource", "must not be empty"))
            if sample.metric not in METRICS:
                violations.append(FieldViolation(f"{path}.metric", "must be cpu or memory"))
            if not math.isfinite(sample.value) or not 0 <= sample.value <= 1:
                violations.append(FieldViolation(f"{path}.value", "must be a fraction between 0 and 1"))
            rows.append(
                {
                    "service": bare_service_name(sample.service),
                    "resource": sample.resource,
                    "metric": sample.metric,
                    "value": sample.value,
                    "time": sample.time or now,
                }
            )
        if violations:
            raise InvalidArgument("invalid utilization samples", violations[:100])
        async with self._sessions() as session, session.begin():
            await store.insert_utilization(session=session, samples=rows)
        return len(rows)


async def _total(session: AsyncSession, service: str) -> Decimal | None:
    """The service's monthly estimate: the sum of its environments' (None when none has one)."""
    amounts = [
        e.estimated_monthly_cost
        for e in await store.environment_estimates(session=session, service=service)
        if e.estimated_monthly_cost is not None
    ]
    return sum(amounts, Decimal(0)) if amounts else None
