"""Tells the catalog what the last evaluation found for a service (its open policy violations), so the
service's scorecard can show whether it is policy compliant. Best-effort: the report runs after the
decision is recorded, in the background, with a short deadline; a catalog that is away is logged, never
felt by the caller of Evaluate."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.best_effort import BestEffortSender
from paved_kit.client import LazyChannel

from paved_policy.domain import EnforcementLevel, EvaluationResult
from paved_policy.settings import PolicySettings

# Reports beyond this many in flight are dropped: the next evaluation of the service reports again.
MAX_IN_FLIGHT = 256
MAX_REMEMBERED = 10_000
_VOLATILE = ("policy_decision", "policy_decision_time")
COST_LIMIT = "cost_limit"  # the built-in policy whose result is the scorecard's budget check
BLOCKING = (EnforcementLevel.SOFT_MANDATORY, EnforcementLevel.HARD_MANDATORY)


def decision_facts(result: EvaluationResult, decision: str, decided: str) -> dict[str, Any]:
    """Facts of one decision: open (unwaived, mandatory) violations and rule errors, and the outcome."""
    violations = sum(
        1 for r in result.results for v in r.violations if v.enforcement_level in BLOCKING
    ) + sum(1 for r in result.results for e in r.errors if e.enforcement_level in BLOCKING)
    advisories = sum(
        1 for r in result.results for v in r.violations if v.enforcement_level == EnforcementLevel.ADVISORY
    )
    over_budget = any(
        v.policy.removeprefix("policies/") == COST_LIMIT for r in result.results for v in r.violations
    )
    return {
        "policy_violations": violations,
        "cost_within_limit": not over_budget,
        "policy_advisories": advisories,
        "policy_waived": sum(len(r.waived) for r in result.results),
        "policy_outcome": result.outcome.value,
        "policy_decision": decision,
        "policy_decision_time": decided,
    }


def _essence(facts: dict[str, Any]) -> tuple[Any, ...]:
    # Which decision it was and when change on every evaluation; the rest is what the scorecard shows.
    return tuple(sorted((k, v) for k, v in facts.items() if k not in _VOLATILE))


class FactsReporter:
    """Sends facts to the catalog in the background; disabled when no catalog address is configured.

    Facts of an unchanged result (decision name and time aside) are not sent again for a service."""

    def __init__(self, settings: PolicySettings) -> None:
        self._settings = settings
        self._catalog = LazyChannel(settings.catalog_address, settings)
        # The call carries the deadline itself (gRPC's own timer): no second one per report.
        self._sender = BestEffortSender(
            "reporting facts to the catalog",
            timeout=None,
            max_in_flight=MAX_IN_FLIGHT,
            remember=MAX_REMEMBERED,
        )

    @property
    def enabled(self) -> bool:
        return bool(self._settings.catalog_address)

    def report(self, service: str, facts: dict[str, Any]) -> None:
        """Queue a report about ``service`` (bare name); returns at once."""
        if not self.enabled or not service:
            return
        self._sender.submit(
            service, lambda: self._send(service, facts), fingerprint=_essence(facts), service_name=service
        )

    async def _send(self, service: str, facts: dict[str, Any]) -> None:
        stub = catalog_pb2_grpc.CatalogServiceStub(self._catalog.get())
        message = struct_pb2.Struct()
        message.update(facts)
        await stub.ReportServiceFacts(
            catalog_pb2.ReportServiceFactsRequest(
                service=f"services/{service}", source="policy", facts=message
            ),
            timeout=self._settings.catalog_timeout_seconds,
        )

    async def drain(self) -> None:
        """Wait for the reports in flight (tests, shutdown)."""
        await self._sender.drain()

    async def close(self) -> None:
        await self._sender.close(grace=self._settings.catalog_timeout_seconds)
        await self._catalog.close()
