"""Request ids and the canonical request context travel across hops and through every RPC kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from paved_kit.context import bind_request
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory

from .conftest import Echo, register_echo


async def test_request_id_travels_to_the_second_hop(
    grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server_b = await grpc_server_factory(register_echo, name="b")
    server_a = await grpc_server_factory(register_echo, name="a")
    echo = Echo(grpc_channel_factory(server_a))

    call = echo.unary(
        {"action": "hop", "address": server_b.address}, metadata=(("x-request-id", "req-hop-1"),)
    )
    reply = await call

    assert reply["here"]["request_id"] == "req-hop-1"
    assert reply["downstream"]["header_request_id"] == "req-hop-1"
    assert reply["downstream"]["request_id"] == "req-hop-1"
    assert ("x-request-id", "req-hop-1") in tuple(await call.trailing_metadata())


async def test_client_sends_the_bound_request_id_or_a_new_one(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    echo = Echo(grpc_channel_factory(echo_server))
    with bind_request(request_id="outer-42"):
        assert (await echo.unary({}))["request_id"] == "outer-42"
    first, second = await echo.unary({}), await echo.unary({})
    assert first["request_id"] and second["request_id"]
    assert first["request_id"] != second["request_id"]


async def test_unsafe_incoming_request_id_is_replaced(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    echo = Echo(grpc_channel_factory(echo_server))
    reply = await echo.unary({}, metadata=(("x-request-id", "spaced out; " + "x" * 300),))
    assert reply["request_id"] != reply["header_request_id"]
    assert " " not in reply["request_id"]


async def _requests(values: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for value in values:
        yield value


async def test_every_rpc_kind_passes_through_the_interceptors(
    grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server = await grpc_server_factory(register_echo, name="echo", auth_token="s3cret")
    echo = Echo(grpc_channel_factory(server, token="s3cret"))
    rid = (("x-request-id", "kinds-1"),)

    unary = await echo.unary({}, metadata=rid)
    server_stream = [item async for item in echo.server_stream({"count": 3}, metadata=rid)]
    writer_stream = [item async for item in echo.server_stream_writer({"count": 2}, metadata=rid)]
    client_stream = await echo.client_stream(_requests([{"n": 1}, {"n": 2}, {"n": 3}]), metadata=rid)
    bidi = [item async for item in echo.bidi_stream(_requests([{"n": 7}, {"n": 8}]), metadata=rid)]

    assert unary["request_id"] == "kinds-1"
    assert unary["caller"] == "service-token"
    assert server_stream == [{"index": i, "request_id": "kinds-1"} for i in range(3)]
    assert writer_stream == [{"index": 0}, {"index": 1}]
    assert client_stream == {"total": 6, "request_id": "kinds-1"}
    assert bidi == [{"echo": 7, "request_id": "kinds-1"}, {"echo": 8, "request_id": "kinds-1"}]

    # And auth guards every kind, not only unary calls.
    anonymous = Echo(grpc_channel_factory(server))
    with pytest.raises(grpc.aio.AioRpcError) as streamed:
        _ = [item async for item in anonymous.server_stream({"count": 1})]
    assert streamed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as bidi_error:
        _ = [item async for item in anonymous.bidi_stream(_requests([{"n": 1}]))]
    assert bidi_error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as client_streamed:
        await anonymous.client_stream(_requests([{"n": 1}]))
    assert client_streamed.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unknown_method_is_unimplemented(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    channel = grpc_channel_factory(echo_server)
    missing = channel.unary_unary("/paved.test.v1.EchoService/Missing")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await missing(b"")
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED
