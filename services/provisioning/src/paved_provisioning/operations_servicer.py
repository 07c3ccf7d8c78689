"""gRPC servicer of the standard ``google.longrunning.Operations`` service over provisioning's operations."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import empty_pb2
from paved_kit.errors import FieldViolation, InvalidArgument

from paved_provisioning import convert
from paved_provisioning.provisioner import Provisioner

DEFAULT_WAIT_SECONDS = 30.0
MAX_WAIT_SECONDS = 600.0


def _operation_id(name: str) -> str:
    prefix, _, op_id = name.partition("/")
    if prefix != "operations" or not op_id or "/" in op_id:
        raise InvalidArgument(
            "invalid operation name", [FieldViolation("name", "must be operations/{operation}")]
        )
    return op_id


class OperationsServicer(operations_pb2_grpc.OperationsServicer):
    """Get, List, Cancel, Delete and Wait."""

    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner

    async def GetOperation(
        self, request: operations_pb2.GetOperationRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        return convert.operation(await self.provisioner.get_operation(_operation_id(request.name)))

    async def ListOperations(
        self, request: operations_pb2.ListOperationsRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.ListOperationsResponse:
        if request.name not in ("", "operations"):
            raise InvalidArgument(
                "invalid collection", [FieldViolation("name", "must be empty or 'operations'")]
            )
        views, token = await self.provisioner.list_operations(
            request.filter, request.page_size, request.page_token
        )
        return operations_pb2.ListOperationsResponse(
            operations=[convert.operation(v) for v in views], next_page_token=token
        )

    async def DeleteOperation(
        self, request: operations_pb2.DeleteOperationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.provisioner.delete_operation(_operation_id(request.name))
        return empty_pb2.Empty()

    async def CancelOperation(
        self, request: operations_pb2.CancelOperationRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await self.provisioner.cancel_operation(_operation_id(request.name))
        return empty_pb2.Empty()

    async def WaitOperation(
        self, request: operations_pb2.WaitOperationRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        timeout = DEFAULT_WAIT_SECONDS
        if request.HasField("timeout"):
            timeout = request.timeout.ToTimedelta().total_seconds()
            if timeout < 0:
                raise InvalidArgument("invalid timeout", [FieldViolation("timeout", "must not be negative")])
        remaining = context.time_remaining()
        if remaining is not None:
            timeout = min(timeout, max(remaining - 0.2, 0.0))
        view = await self.provisioner.wait_operation(
            _operation_id(request.name), min(timeout, MAX_WAIT_SECONDS)
        )
        return convert.operation(view)
