"""Tells the catalog whether a service's default alerts are in place whenever its rules change, so its
scorecard can show it. Best-effort: reports go out in the background after the change is stored, with a
short deadline; a catalog that is away is logged, never felt by the caller."""

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

from paved_alerting.rules import default_rule_drafts
from paved_alerting.settings import AlertingSettings

_log = get_logger(__name__)
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
    """Sends facts to the catalog in background tasks; off when no catalog address is configured."""

    def __init__(self, settings: AlertingSettings) -> None:
        self._settings = settings
        self._channel: grpc.aio.Channel | None = None
        self._stub: catalog_pb2_grpc.CatalogServiceStub | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self._settings.catalog_address)

    def report(self, service: str, facts: dict[str, Any]) -> None:
        """Queue a report about ``service``; returns at once."""
        if not self.enabled:
            return
        if len(self._tasks) >= MAX_IN_FLIGHT:
            _log.warning("catalog facts dropped: too many reports in flight", service_name=service)
            return
        task = asyncio.create_task(self._send(service, facts), name=f"catalog-facts-{service}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
                    service=f"services/{service}", source="alerting", facts=message
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
