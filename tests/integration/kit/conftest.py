"""A JSON-over-gRPC echo service that exercises every RPC kind and every error path of the kit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import grpc.aio
import pytest
from paved_kit.client import create_channel
from paved_kit.context import current_caller, current_request_id
from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PreconditionViolation,
    QuotaExceeded,
    QuotaViolation,
    Unavailable,
)
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcServerFactory

ECHO_SERVICE = "paved.test.v1.EchoService"
ATTEMPTS: dict[str, int] = {}
SECRET_DETAIL = "password=hunter2 at /srv/internal/db.py line 42"


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def decode(data: bytes) -> Any:
    return json.loads(data)


def method(name: str) -> str:
    return f"/{ECHO_SERVICE}/{name}"


def _seen(context: grpc.aio.ServicerContext) -> dict[str, Any]:
    metadata = dict(context.invocation_metadata() or ())
    return {
        "request_id": current_request_id(),
        "header_request_id": metadata.get("x-request-id"),
        "caller": current_caller(),
    }


async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
    action = request.get("action")
    if action == "crash":
        raise RuntimeError(SECRET_DETAIL)
    if action == "invalid":
        raise InvalidArgument(
            "the template has 3 problems",
            [
                FieldViolation("parameters.name", "required"),
                FieldViolation("parameters.replicas", "must be an integer"),
                FieldViolation("parameters.tier", "must be one of gold, silver"),
            ],
            reason="TEMPLATE_INVALID",
            metadata={"template": "templates/web"},
        )
    if action == "quota":
        raise QuotaExceeded(
            "team payments is over quota",
            [
                QuotaViolation("teams/payments", "services: 10 of 10 used"),
                QuotaViolation("teams/payments", "budget: 5200 of 5000 USD"),
            ],
        )
    if action == "precondition":
        raise FailedPrecondition(
            "denied by policy",
            [PreconditionViolation("POLICY", "policies/encryption", "storage must be encrypted")],
            reason="POLICY_DENIED",
        )
    if action == "abort":
        await context.abort(grpc.StatusCode.NOT_FOUND, "deliberately not found")
    if action == "hop":
        async with create_channel(request["address"], token=request.get("token")) as channel:
            downstream = channel.unary_unary(
                method("Unary"), request_serializer=encode, response_deserializer=decode
            )
            return {"here": _seen(context), "downstream": await downstream({})}
    if action == "flaky":
        # Fails UNAVAILABLE until the request's third attempt (retries keep the request id).
        key = current_request_id() or ""
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if ATTEMPTS[key] < 3:
            raise Unavailable("warming up")
        return {**_seen(context), "attempts": ATTEMPTS[key]}
    if action == "sleep":
        await asyncio.sleep(request["seconds"])
    return _seen(context)


async def server_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    for index in range(request["count"]):
        yield {"index": index, "request_id": current_request_id()}
    if request.get("then_fail"):
        raise InvalidArgument("stream broke", [FieldViolation("count", "too many")])


async def server_stream_writer(request: Any, context: grpc.aio.ServicerContext) -> None:
    for index in range(request["count"]):
        await context.write({"index": index})


async def client_stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
    total = 0
    async for item in requests:
        total += item["n"]
    return {"total": total, "request_id": current_request_id()}


async def bidi_stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
    async for item in requests:
        if item.get("action") == "crash":
            raise RuntimeError(SECRET_DETAIL)
        yield {"echo": item["n"], "request_id": current_request_id()}


def echo_handlers() -> dict[str, grpc.RpcMethodHandler]:
    kw: dict[str, Callable[[Any], Any]] = {"request_deserializer": decode, "response_serializer": encode}
    return {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, **kw),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, **kw),
        "ServerStreamWriter": grpc.unary_stream_rpc_method_handler(server_stream_writer, **kw),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, **kw),
        "BidiStream": grpc.stream_stream_rpc_method_handler(bidi_stream, **kw),
    }


def register_echo(server: GrpcServer) -> None:
    server.add_method_handlers(ECHO_SERVICE, echo_handlers())


@pytest.fixture
async def echo_server(grpc_server_factory: GrpcServerFactory) -> GrpcServer:
    return await grpc_server_factory(register_echo, name="echo")


class Echo:
    """Client-side callables of the echo service on one channel."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        kw: dict[str, Any] = {"request_serializer": encode, "response_deserializer": decode}
        self.unary = channel.unary_unary(method("Unary"), **kw)
        self.server_stream = channel.unary_stream(method("ServerStream"), **kw)
        self.server_stream_writer = channel.unary_stream(method("ServerStreamWriter"), **kw)
        self.client_stream = channel.stream_unary(method("ClientStream"), **kw)
        self.bidi_stream = channel.stream_stream(method("BidiStream"), **kw)
