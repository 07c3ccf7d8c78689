"""Channels and stubs of the five services the gateway fronts, opened once per app and shared."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import grpc.aio
from google.longrunning import operations_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved.alerting.v1 import alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2_grpc
from paved.cost.v1 import cost_pb2_grpc
from paved.policy.v1 import policy_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2_grpc
from paved_kit.client import channel_from_settings

from paved_gateway.settings import GatewaySettings

SERVICE_NAMES = ("catalog", "provisioning", "policy", "cost", "alerting")


@dataclass
class Backends:
    """Stubs of every service; close() closes their channels."""

    channels: dict[str, grpc.aio.Channel]
    catalog: catalog_pb2_grpc.CatalogServiceStub
    provisioning: provisioning_pb2_grpc.ProvisioningServiceStub
    operations: operations_pb2_grpc.OperationsStub
    policy: policy_pb2_grpc.PolicyServiceStub
    cost: cost_pb2_grpc.CostServiceStub
    alerting: alerting_pb2_grpc.AlertingServiceStub

    async def close(self) -> None:
        """Close every channel."""
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))

    async def health(self, deadline: float) -> dict[str, str]:
        """Each service's gRPC health status name (SERVING, NOT_SERVING, or UNAVAILABLE when unreachable)."""

        async def check(name: str) -> tuple[str, str]:
            stub = health_pb2_grpc.HealthStub(self.channels[name])
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=deadline)
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
                return name, "UNAVAILABLE" if code != grpc.StatusCode.UNIMPLEMENTED else "UNKNOWN"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        return dict(await asyncio.gather(*(check(name) for name in SERVICE_NAMES)))


def open_backends(settings: GatewaySettings) -> Backends:
    """Channels to every service at the configured addresses (connected lazily on first call)."""

    def channel(address: str) -> grpc.aio.Channel:
        return channel_from_settings(address, settings, default_timeout=settings.call_timeout_seconds)

    channels = {
        "catalog": channel(settings.catalog_address),
        "provisioning": channel(settings.provisioning_address),
        "policy": channel(settings.policy_address),
        "cost": channel(settings.cost_address),
        "alerting": channel(settings.alerting_address),
    }
    return Backends(
        channels=channels,
        catalog=catalog_pb2_grpc.CatalogServiceStub(channels["catalog"]),
        provisioning=provisioning_pb2_grpc.ProvisioningServiceStub(channels["provisioning"]),
        operations=operations_pb2_grpc.OperationsStub(channels["provisioning"]),
        policy=policy_pb2_grpc.PolicyServiceStub(channels["policy"]),
        cost=cost_pb2_grpc.CostServiceStub(channels["cost"]),
        alerting=alerting_pb2_grpc.AlertingServiceStub(channels["alerting"]),
    )
