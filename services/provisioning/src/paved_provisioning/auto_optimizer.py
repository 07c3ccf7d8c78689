"""The automatic rightsizing loop: every interval, each opted-in service's recommendation (cost, over gRPC)
is decided on (:mod:`auto_optimization`) and what may go out now is started as an ``optimize_resources``
operation, so canary, bake and automatic rollback apply; what waits is logged with the reason."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from paved_kit.cancellation import raise_if_cancelling
from paved_kit.errors import PavedError
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import steps, store
from paved_provisioning.auto_optimization import AutoApplyRules, Decision, decide, guardrail_properties
from paved_provisioning.peers import Peers
from paved_provisioning.provisioner import Provisioner
from paved_provisioning.resource_change import ResourceChange
from paved_provisioning.settings import ProvisioningSettings
from paved_provisioning.steps import StepError

_log = get_logger(__name__)
REQUESTER = "paved-auto-optimizer"


@dataclass(frozen=True)
class Outcome:
    """What one pass did for one service: the operation it started, or why none."""

    service: str
    decision: Decision | None = None
    operation: str = ""
    skipped: str = ""


def rules_from(settings: ProvisioningSettings) -> AutoApplyRules:
    return AutoApplyRules(
        period_seconds=settings.auto_optimize_period_hours * 3600,
        learning_days=settings.auto_optimize_learning_days,
        min_confidence=settings.auto_optimize_min_confidence,
        min_change=settings.auto_optimize_min_change,
    )


def request_id(service: str, change: dict[str, str], interval: float) -> str:
    """The same change of the same service within one interval is one operation, also when several
    provisioning replicas run the loop at once."""
    bucket = int(time.time() // interval)
    digest = hashlib.sha256(repr((service, sorted(change.items()), bucket)).encode()).hexdigest()[:24]
    return f"auto-optimize-{digest}"


class AutoOptimizer:
    """Runs :meth:`run_once` every ``auto_optimize_interval_seconds``."""

    def __init__(
        self,
        settings: ProvisioningSettings,
        sessions: async_sessionmaker[AsyncSession],
        peers: Peers,
        provisioner: Provisioner,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.peers = peers
        self.provisioner = provisioner
        self.rules = rules_from(settings)

    async def run(self) -> None:
        _log.info("automatic rightsizing started", services=self.settings.auto_optimize_services)
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                raise_if_cancelling()
                _log.exception("automatic rightsizing pass failed")
            await asyncio.sleep(self.settings.auto_optimize_interval_seconds)

    async def run_once(self) -> list[Outcome]:
        """One pass over the opted-in services."""
        return [await self._service(name) for name in self.settings.auto_optimize_services]

    async def _service(self, name: str) -> Outcome:
        outcome = await self._decide_and_start(name)
        if outcome.operation:
            _log.info(
                "automatic rightsizing started",
                service=name,
                operation=outcome.operation,
                change=outcome.decision.change if outcome.decision else {},
                withheld=list(outcome.decision.skipped) if outcome.decision else [],
            )
        else:
            _log.info("automatic rightsizing skipped", service=name, reason=outcome.skipped)
        return outcome

    async def _decide_and_start(self, name: str) -> Outcome:
        async with self.sessions() as session:
            record = await store.get_service(session=session, name=name)
            last = await store.last_operation_start(
                session=session, service=name, kind=steps.OPTIMIZE_RESOURCES
            )
        if record is None or record.state != "active":
            state = record.state if record is not None else "not provisioned"
            return Outcome(name, skipped=f"services/{name} is {state}")
        try:
            rec = await self.peers.recommend_resources(name, record.environment)
        except StepError as exc:
            return Outcome(name, skipped=f"no recommendation: {exc}")
        since_last = None if last is None else max(0.0, time.time() - last.timestamp())
        decision = decide(rec, self.rules, since_last)
        if not decision.apply:
            return Outcome(name, decision, skipped="; ".join(decision.skipped))
        changed: dict[str, Any] = next(
            (r for r in record.plan.get("resources", []) if r.get("name") == rec.resource), {}
        )
        try:
            denied = await self.peers.check_guardrails(
                service=name,
                team=record.team,
                environment=record.environment,
                requester=REQUESTER,
                resource=rec.resource,
                properties=guardrail_properties(rec, decision.change),
                tags=dict(changed.get("tags") or {}),
                currency=self.settings.currency,
            )
        except StepError as exc:
            # Fail closed: a change the guardrails did not judge is not applied.
            return Outcome(name, decision, skipped=f"guardrails not evaluated: {exc}")
        if denied is not None:
            return Outcome(name, decision, skipped=denied)
        try:
            view = await self.provisioner.optimize_resources(
                f"services/{name}",
                rec.resource,
                ResourceChange(
                    cpu_request=decision.change.get("cpu_request", ""),
                    cpu_limit=decision.change.get("cpu_limit", ""),
                    memory_request=decision.change.get("memory_request", ""),
                    memory_limit=decision.change.get("memory_limit", ""),
                ),
                bake_seconds=self.settings.optimization_bake_seconds,
                reason=decision.reason(),
                request_id=request_id(name, decision.change, self.settings.auto_optimize_interval_seconds),
                requester=REQUESTER,
            )
        except PavedError as exc:
            # E.g. another operation of the service is running: the next pass tries again.
            return Outcome(name, decision, skipped=f"not started: {exc}")
        return Outcome(name, decision, operation=f"operations/{view.operation.id}")
