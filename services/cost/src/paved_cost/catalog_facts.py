"""Tells the catalog whether a service's resources are tracked for cost and how many cost recommendations
are open for it, so its scorecard can show it. Best-effort: the facts are worked out and sent in the
background after the change is stored, with a short deadline; a catalog that is away is logged, never
felt by the caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import struct_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.client import channel_from_settings
from paved_kit.logging import get_logger

from paved_cost.analysis import CostAnalysis
from paved_cost.settings import CostSettings

_log = get_logger(__name__)
# Reports beyond this many in flight are dropped: the service's next change reports again.
MAX_IN_FLIGHT = 64


class CatalogFacts:
    """Reports cost facts of services; off when no catalog address is configured."""

    def __init__(self, settings: CostSettings, analysis: CostAnalysis) -> None:
        self._settings = settings
        self._analysis = analysis
        self._channel: grpc.aio.Channel | None = None
        self._stub: catalog_pb2_grpc.CatalogServiceStub | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._settings.catalog_address)

    def registered(self, services: Iterable[str]) -> None:
        """Services whose tracked resources or utilization changed: report them tracked, with their
        open recommendations."""
        self._start({s for s in services if s}, tracked=True)

    def unregistered(self, service: str) -> None:
        self._start({service} if service else set(), tracked=False)

    def _start(self, services: set[str], *, tracked: bool) -> None:
        if not self.enabled or not services:
            return
        if len(self._tasks) >= MAX_IN_FLIGHT:
            _log.warning("catalog facts dropped: too many reports in flight", services=len(services))
            return
        task = asyncio.create_task(self._report(sorted(services), tracked), name="catalog-facts")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _report(self, services: list[str], tracked: bool) -> None:
        counts: dict[str, int] = dict.fromkeys(services, 0)
        if tracked:
            try:
                for recommendation in await self._analysis.recommendations():
                    if recommendation.service in counts:
                        counts[recommendation.service] += 1
            except Exception:
                _log.warning("could not work out recommendations for the catalog facts", exc_info=True)
                return
        for service in services:
            facts: dict[str, Any] = {"cost_registered": tracked}
            if tracked:
                facts["open_recommendations"] = counts[service]
            await self._send(service, facts)

    async def _send(self, service: str, facts: dict[str, Any]) -> None:
        if self._stub is None:
            self._channel = channel_from_settings(
                self._settings.catalog_address, self._settings, default_timeout=None, retry=False
            )
            self._stub = catalog_pb2_grpc.CatalogServiceStub(self._channel)
        message = struct_pb2.Struct()
        message.update(facts)
        try:
            await self._stub.ReportServiceFacts(
                catalog_pb2.ReportServiceFactsRequest(
                    service=f"services/{service}", source="cost", facts=message
                ),
                timeout=self._settings.catalog_timeout_seconds,
            )
        except grpc.aio.AioRpcError as exc:
            _log.warning("reporting facts to the catalog failed", service_name=service, code=exc.code().name)
        except Exception:
            _log.warning("reporting facts to the catalog failed", service_name=service, exc_info=True)

    async def drain(self) -> None:
        """Wait for the reports in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), self._settings.catalog_timeout_seconds)
        if self._channel is not None:
            await self._channel.close()
            self._channel = self._stub = None
