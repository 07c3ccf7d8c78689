"""Operation routes: an operation's state, and a server-sent-events stream of its step updates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Path
from fastapi.sse import EventSourceResponse, ServerSentEvent
from google.longrunning import operations_pb2

from paved_gateway import convert, schemas
from paved_gateway.access import not_found_for, not_permitted
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.deps import BackendsDep, PrincipalDep, SettingsDep
from paved_gateway.errors import call, from_rpc_error

router = APIRouter(prefix="/api/operations", tags=["operations"])

OperationId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")]
RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team's operation."},
    404: {"description": "No such operation (admins only)."},
}


async def authorized_operation(
    backends: Backends, principal: Principal, operation_id: str
) -> operations_pb2.Operation:
    """The operation if it belongs to one of the caller's teams."""
    what = f"operation {operation_id!r}"
    try:
        operation = await backends.operations.GetOperation(
            operations_pb2.GetOperationRequest(name=convert.OPERATION_PREFIX + operation_id)
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise not_found_for(principal, what) from None
        raise from_rpc_error(exc, "provisioning") from None
    if not principal.may_act_for(convert.operation_metadata(operation).team):
        raise not_permitted(principal, what)
    return operation


@router.get("/{operation_id}", response_model=schemas.Operation, responses=RESPONSES)
async def get_operation(
    operation_id: OperationId, backends: BackendsDep, principal: PrincipalDep
) -> schemas.Operation:
    """The operation, its steps, and its result or error once done."""
    return convert.operation(await authorized_operation(backends, principal, operation_id))


async def _authorized(
    operation_id: OperationId, backends: BackendsDep, principal: PrincipalDep
) -> operations_pb2.Operation:
    # As a dependency, so that a refusal is an HTTP error before the event stream starts.
    return await authorized_operation(backends, principal, operation_id)


@router.get("/{operation_id}/events", response_class=EventSourceResponse, responses=RESPONSES)
async def operation_events(
    first: Annotated[operations_pb2.Operation, Depends(_authorized)],
    backends: BackendsDep,
    settings: SettingsDep,
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `step` whenever a step changes state or progress, then `done` with the whole
    operation."""
    async for event in _events(backends, first, settings.operation_poll_seconds):
        yield event


async def _events(
    backends: Backends, first: operations_pb2.Operation, poll_seconds: float
) -> AsyncIterator[ServerSentEvent]:
    # A step's detail changing is news too: a fleet upgrade's wave reports each service as it goes.
    seen: dict[str, tuple[str, int, str]] = {}
    operation = first
    sequence = 0
    while True:
        view = convert.operation(operation)
        for step in view.steps:
            key = (step.state, step.attempts, step.detail or "")
            if seen.get(step.name) != key:
                seen[step.name] = key
                sequence += 1
                yield ServerSentEvent(event="step", id=str(sequence), data=step.model_dump())
        if view.done:
            sequence += 1
            yield ServerSentEvent(event="done", id=str(sequence), data=view.model_dump())
            return
        await asyncio.sleep(poll_seconds)
        try:
            operation = await backends.operations.GetOperation(
                operations_pb2.GetOperationRequest(name=operation.name)
            )
        except grpc.RpcError as exc:
            error = from_rpc_error(exc, "provisioning")
            yield ServerSentEvent(event="error", data={"name": error.name, "message": error.message})
            return


@router.post("/{operation_id}/cancel", status_code=202, response_model=schemas.Operation, responses=RESPONSES)
async def cancel_operation(
    operation: Annotated[operations_pb2.Operation, Depends(_authorized)], backends: BackendsDep
) -> schemas.Operation:
    """Ask the operation to stop at its next step boundary and undo what it did; answers the operation
    as it is now (a finished operation is left as it is). Follow it to see it end."""
    if not operation.done:
        await call(
            "provisioning",
            backends.operations.CancelOperation(operations_pb2.CancelOperationRequest(name=operation.name)),
        )
        operation = await call(
            "provisioning",
            backends.operations.GetOperation(operations_pb2.GetOperationRequest(name=operation.name)),
        )
    return convert.operation(operation)
