"""Tells the catalog whether a service's default alerts are in place whenever its rules change, so its
scorecard can show it. Best-effort: reports go out in the background after the change is stored, with a
short deadline; a catalog that is away is logged, never felt by the caller."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.best_effort import BestEffortSender
from paved_kit.client import LazyChannel

from paved_alerting.rules import default_rule_drafts
from paved_alerting.settings import AlertingSettings

# Reports beyond this many in flight are dropped: the service's next rule change reports again.
MAX_IN_FLIGHT = 256


def alert_facts(service: str, rules: Iterable[tuple[str, bool]]) -> dict[str, Any]:
    """Facts of a service's rules, given as (rule id, enabled): default alerts in place when each of the
    three defaults exists and is enabled."""
    enabled = dict(rules)
    defaults = [rule_id for rule_id, _ in default_rule_drafts(service, "-")]
    return {
        "default_alerts": all(enabled.get(rule_id) is True for rule_id in defaults),
        "alert_rules": len(enabled),
        "alert_rules_enabled": sum(enabled.values()),
    }


class CatalogFacts:
    """Sends facts to the catalog in the background; off when no catalog address is configured."""

    def __init__(self, settings: AlertingSettings) -> None:
        self._settings = settings
        self._catalog = LazyChannel(settings.catalog_address, settings)
        # Every change is sent (no de-duplication): rule changes are rare, and each reports the whole state.
        self._sender = BestEffortSender(
            "reporting facts to the catalog",
            timeout=settings.catalog_timeout_seconds,
            max_in_flight=MAX_IN_FLIGHT,
        )

    @property
    def enabled(self) -> bool:
        return bool(self._settings.catalog_address)

    def report(self, service: str, facts: dict[str, Any]) -> None:
        """Queue a report about ``service``; returns at once."""
        if not self.enabled:
            return
        self._sender.submit(service, lambda: self._send(service, facts), service_name=service)

    async def _send(self, service: str, facts: dict[str, Any]) -> None:
        stub = catalog_pb2_grpc.CatalogServiceStub(self._catalog.get())
        message = struct_pb2.Struct()
        message.update(facts)
        await stub.ReportServiceFacts(
            catalog_pb2.ReportServiceFactsRequest(
                service=f"services/{service}", source="alerting", facts=message
            ),
            timeout=self._settings.catalog_timeout_seconds,
        )

    async def drain(self) -> None:
        """Wait for the reports in flight (tests, shutdown)."""
        await self._sender.drain()

    async def close(self) -> None:
        await self._sender.close()
        await self._catalog.close()
