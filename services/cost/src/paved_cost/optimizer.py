"""AutoOptimize: apply the low-risk recommendations (rightsize well below the threshold) via provisioning."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from paved_kit.errors import FailedPrecondition, PreconditionViolation
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_cost import store
from paved_cost.analysis import CostAnalysis
from paved_cost.attribution import bare_service_name
from paved_cost.models import AppliedOptimization
from paved_cost.recommendations import Kind, Recommendation, Risk

_REQUEST_NAMESPACE = uuid.UUID("6f3a3c52-8d0e-4a57-9a53-0f7c2b8e9d11")


class ProvisioningError(Exception):
    """Provisioning refused or failed; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Provisioning(Protocol):
    """The part of provisioning AutoOptimize needs."""

    async def update_instance_type(
        self, *, service: str, resource: str, instance_type: str, request_id: str
    ) -> str:
        """Start the change; returns the operation name. Raises :class:`ProvisioningError`."""
        ...


@dataclass(frozen=True)
class Action:
    recommendation: Recommendation
    applied: bool
    operation: str = ""
    error: str = ""


class Optimizer:
    def __init__(
        self,
        analysis: CostAnalysis,
        sessions: async_sessionmaker[AsyncSession],
        provisioning: Provisioning | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._analysis = analysis
        self._sessions = sessions
        self._provisioning = provisioning
        self._clock = clock

    async def optimize(self, *, dry_run: bool, team: str = "", service: str = "") -> list[Action]:
        """What AutoOptimize did (or, on a dry run, would do); only LOW-risk rightsizes qualify."""
        if not dry_run and self._provisioning is None:
            raise FailedPrecondition(
                "no provisioning address is configured, so optimizations cannot be applied; use dry_run",
                [
                    PreconditionViolation(
                        "CONFIGURATION",
                        "PAVED_COST_PROVISIONING_ADDRESS",
                        "set it to provisioning's host:port to apply optimizations",
                    )
                ],
                reason="PROVISIONING_NOT_CONFIGURED",
            )
        service = bare_service_name(service)
        candidates = [
            r
            for r in await self._analysis.recommendations()
            if r.kind is Kind.RIGHTSIZE
            and r.risk is Risk.LOW
            and (not team or r.team == team)
            and (not service or r.service == service)
        ]
        if dry_run:
            return [Action(r, applied=False) for r in candidates]
        return [await self._apply(r) for r in candidates]

    async def _apply(self, recommendation: Recommendation) -> Action:
        assert self._provisioning is not None
        # Same recommendation and target → same request id, so a retried AutoOptimize is idempotent.
        request_id = str(
            uuid.uuid5(
                _REQUEST_NAMESPACE, f"{recommendation.name}:{recommendation.recommended_instance_type}"
            )
        )
        try:
            operation = await self._provisioning.update_instance_type(
                service=f"services/{recommendation.service}",
                resource=recommendation.resource,
                instance_type=recommendation.recommended_instance_type,
                request_id=request_id,
            )
        except ProvisioningError as err:
            return Action(recommendation, applied=False, error=err.message)
        now = self._clock()
        async with self._sessions() as session, session.begin():
            tracked = await store.get_resource(
                session=session, service=recommendation.service, resource=recommendation.resource
            )
            if tracked is not None:
                properties = json.loads(tracked.properties)
                properties["instance_type"] = recommendation.recommended_instance_type
                tracked.properties = json.dumps(properties, sort_keys=True)
                # Utilization measured on the old size says nothing about the new one.
                tracked.changed_at = now
            await store.add_optimization(
                session=session,
                optimization=AppliedOptimization(
                    recommendation=recommendation.name,
                    service=recommendation.service,
                    resource=recommendation.resource,
                    from_instance_type=recommendation.current_instance_type,
                    to_instance_type=recommendation.recommended_instance_type,
                    monthly_savings=recommendation.monthly_savings,
                    currency=self._analysis.currency,
                    operation=operation,
                    applied_at=now,
                ),
            )
        return Action(recommendation, applied=True, operation=operation)


def total_savings(actions: list[Action]) -> Decimal:
    return sum((a.recommendation.monthly_savings for a in actions), Decimal(0))
