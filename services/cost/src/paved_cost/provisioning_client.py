"""Provisioning over gRPC, as AutoOptimize needs it."""

from __future__ import annotations

import grpc
import grpc.aio
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from paved_kit.grpc_errors import error_details

from paved_cost.optimizer import ProvisioningError

REQUESTER = "paved-cost/auto-optimize"


class GrpcProvisioning:
    """Calls ``ProvisioningService.UpdateInstanceType`` on ``channel``."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)

    async def update_instance_type(
        self, *, service: str, resource: str, instance_type: str, request_id: str
    ) -> str:
        request = provisioning_pb2.UpdateInstanceTypeRequest(
            service=service,
            resource=resource,
            instance_type=instance_type,
            request_id=request_id,
            requester=REQUESTER,
        )
        try:
            operation = await self._stub.UpdateInstanceType(request)
        except grpc.aio.AioRpcError as err:
            details = error_details(err)
            raise ProvisioningError(f"provisioning answered {details.code.name}: {details.message}") from None
        return str(operation.name)
