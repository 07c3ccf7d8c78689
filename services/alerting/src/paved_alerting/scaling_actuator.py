"""Predictive scaling that acts, for the services opted in to it: when a service's request-rate schedule is
active (its backtest beats seasonal-naive and stays under the MAPE threshold), the minimum replicas it sets
for the hour under way and the next go to provisioning as a scale-out-only resource change. Provisioning
raises the HPA's minReplicas through its canaried GitOps workflow, capped at the plan's maximum replicas,
and refuses anything that would not raise it: a forecast never scales in. Shadow schedules change nothing.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from paved_kit.cancellation import raise_if_cancelling
from paved_kit.client import LazyChannel
from paved_kit.errors import PavedError
from paved_kit.logging import get_logger

from paved_alerting.clock import Clock
from paved_alerting.forecasting import Forecaster, Schedule, validate
from paved_alerting.hourly import hour_start
from paved_alerting.settings import AlertingSettings

_log = get_logger(__name__)
METRIC = "requests_per_second"
REQUESTER = "paved-alerting"
# The forecast query's own ceiling is left wide: the plan's maximum replicas, which provisioning applies,
# is the bound that counts.
QUERY_MAX_REPLICAS = 1000


@dataclass(frozen=True)
class Actuation:
    """What one pass did for one service: ``raised``, ``shadow``, ``unchanged``, ``no_schedule`` or
    ``failed``, and why."""

    service: str
    outcome: str
    detail: str
    min_replicas: int = 0
    operation: str = ""


class ScalingActuator:
    """Applies the active schedules of the opted-in services through provisioning."""

    def __init__(
        self, settings: AlertingSettings, clock: Clock, forecaster: Forecaster | None = None
    ) -> None:
        self._settings = settings
        self._forecaster = forecaster
        self._clock = clock
        self._channel = LazyChannel(settings.provisioning_address, settings)

    async def run_once(self) -> list[Actuation]:
        """One pass over the opted-in services."""
        return [await self.actuate(service) for service in self._settings.scaling_actuation_services]

    async def actuate(self, service: str) -> Actuation:
        """Forecast ``service``'s request rate and apply its schedule when it has earned it."""
        if self._forecaster is None:
            return Actuation(service, "no_schedule", "no metric history is kept (history_enabled is off)")
        try:
            query = validate(service, "", METRIC, 24, 0.9, 0.0, 1, QUERY_MAX_REPLICAS)
            result = await self._forecaster.forecast(query)
        except PavedError as err:
            return Actuation(service, "no_schedule", str(err))
        if result.schedule is None:
            return Actuation(service, "no_schedule", "the forecast carries no scaling schedule")
        return await self.apply(service, result.schedule)

    async def apply(self, service: str, schedule: Schedule) -> Actuation:
        """Raise ``service``'s minimum replicas to what ``schedule`` needs now and in the next hour, if it is
        active."""
        if schedule.mode != "active" or not schedule.hours:
            return Actuation(service, "shadow", schedule.reason)
        wanted = max(count for _, count, _ in schedule.hours[:2])
        hour = hour_start(self._clock.now())
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(self._channel.get())
        try:
            operation = await stub.OptimizeResources(
                provisioning_pb2.OptimizeResourcesRequest(
                    service=f"services/{service}",
                    min_replicas=wanted,
                    scale_out_only=True,
                    reason=f"predictive scaling: the forecast needs {wanted} replicas ({schedule.reason})",
                    request_id=f"predictive-scaling-{service}-{hour}-{wanted}",
                    requester=REQUESTER,
                ),
                timeout=self._settings.provisioning_timeout_seconds,
            )
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.FAILED_PRECONDITION:
                return Actuation(service, "unchanged", err.details() or "", wanted)
            _log.warning("predictive scaling could not act", service_name=service, code=err.code().name)
            return Actuation(service, "failed", f"provisioning answered {err.code().name}", wanted)
        _log.info("predictive scaling raised min replicas", service_name=service, min_replicas=wanted)
        return Actuation(service, "raised", schedule.reason, wanted, operation.name)

    async def close(self) -> None:
        await self._channel.close()


async def actuate_every(actuator: ScalingActuator, interval: float) -> None:
    """Run a pass every ``interval`` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        try:
            await actuator.run_once()
        except Exception:
            raise_if_cancelling()
            _log.exception("predictive scaling pass failed")
        await asyncio.sleep(interval)
