"""Tells the catalog whether a service's resources are tracked for cost and how many cost recommendations
are open for it, so its scorecard can show it. Best-effort: the facts are worked out and sent in the
background after the change is stored, with a short deadline; a catalog that is away is logged, never
felt by the caller."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from google.protobuf import struct_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.best_effort import BestEffortSender, attempt
from paved_kit.client import LazyChannel
from paved_kit.logging import get_logger

from paved_cost.analysis import CostAnalysis
from paved_cost.settings import CostSettings

_log = get_logger(__name__)
# Reports beyond this many in flight are dropped: the service's next change reports again.
MAX_IN_FLIGHT = 64
# Working out the open recommendations reads the whole analysis: bounded, but longer than one send.
ANALYSIS_DEADLINE_SECONDS = 60.0
WHAT = "reporting facts to the catalog"


class CatalogFacts:
    """Reports cost facts of services in the background; off when no catalog address is configured."""

    def __init__(self, settings: CostSettings, analysis: CostAnalysis) -> None:
        self._settings = settings
        self._analysis = analysis
        self._catalog = LazyChannel(settings.catalog_address, settings)
        self._sender = BestEffortSender(
            WHAT,
            timeout=settings.catalog_timeout_seconds,
            max_in_flight=MAX_IN_FLIGHT,
        )

    @property
    def enabled(self) -> bool:
        return bool(self._settings.catalog_address)

    def registered(self, services: Iterable[str]) -> None:
        """Services whose tracked resources or utilization changed: report them tracked, with their
        open recommendations."""
        chosen = sorted({s for s in services if s})
        if not self.enabled or not chosen:
            return
        self._sender.submit(
            ",".join(chosen),
            lambda: self._report_tracked(chosen),
            # One analysis, then one send after the other (a batch may name many services).
            timeout=ANALYSIS_DEADLINE_SECONDS + len(chosen) * self._settings.catalog_timeout_seconds,
            services=len(chosen),
        )

    def unregistered(self, service: str) -> None:
        if self.enabled and service:
            facts: dict[str, Any] = {"cost_registered": False}
            self._sender.submit(service, lambda: self._send(service, facts), service_name=service)

    async def _report_tracked(self, services: list[str]) -> None:
        counts: dict[str, int] = dict.fromkeys(services, 0)
        try:
            for recommendation in await self._analysis.recommendations():
                if recommendation.service in counts:
                    counts[recommendation.service] += 1
        except Exception:
            _log.warning("could not work out recommendations for the catalog facts", exc_info=True)
            return
        for service in services:
            facts: dict[str, Any] = {"cost_registered": True, "open_recommendations": counts[service]}
            await attempt(
                WHAT,
                functools.partial(self._send, service, facts),
                deadline=self._settings.catalog_timeout_seconds,
                service_name=service,
            )

    async def _send(self, service: str, facts: dict[str, Any]) -> None:
        stub = catalog_pb2_grpc.CatalogServiceStub(self._catalog.get())
        message = struct_pb2.Struct()
        message.update(facts)
        await stub.ReportServiceFacts(
            catalog_pb2.ReportServiceFactsRequest(
                service=f"services/{service}", source="cost", facts=message
            ),
            timeout=self._settings.catalog_timeout_seconds,
        )

    async def drain(self) -> None:
        """Wait for the reports in flight, including those a report starts (tests, shutdown)."""
        await self._sender.drain()

    async def close(self) -> None:
        await self._sender.close()
        await self._catalog.close()
