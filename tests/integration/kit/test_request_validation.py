"""Every server decodes and checks requests at the edge: hostile values answer INVALID_ARGUMENT naming
the field, over a real channel, and the handler never runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from paved_kit.grpc_errors import error_details
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory

SERVICE = "paved.test.v1.StructService"
CALLS: list[str] = []


async def keys(request: struct_pb2.Struct, context: grpc.aio.ServicerContext) -> struct_pb2.Struct:
    CALLS.append("Keys")
    reply = struct_pb2.Struct()
    reply.update({"keys": sorted(request.keys())})
    return reply


async def total(
    requests: AsyncIterator[struct_pb2.Struct], context: grpc.aio.ServicerContext
) -> struct_pb2.Struct:
    CALLS.append("Total")
    count = 0.0
    async for item in requests:
        count += item["n"]
    reply = struct_pb2.Struct()
    reply.update({"total": count})
    return reply


async def when(request: timestamp_pb2.Timestamp, context: grpc.aio.ServicerContext) -> Any:
    CALLS.append("When")
    return timestamp_pb2.Timestamp(seconds=request.ToDatetime().year)


def register(server: GrpcServer) -> None:
    struct_kw: dict[str, Any] = {
        "request_deserializer": struct_pb2.Struct.FromString,
        "response_serializer": struct_pb2.Struct.SerializeToString,
    }
    server.add_method_handlers(
        SERVICE,
        {
            "Keys": grpc.unary_unary_rpc_method_handler(keys, **struct_kw),
            "Total": grpc.stream_unary_rpc_method_handler(total, **struct_kw),
            "When": grpc.unary_unary_rpc_method_handler(
                when,
                request_deserializer=timestamp_pb2.Timestamp.FromString,
                response_serializer=timestamp_pb2.Timestamp.SerializeToString,
            ),
        },
    )


@pytest.fixture
async def channel(
    grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> grpc.aio.Channel:
    CALLS.clear()
    return grpc_channel_factory(await grpc_server_factory(register, name="structs"))


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def unary(channel: grpc.aio.Channel, name: str, response: Any = struct_pb2.Struct) -> Any:
    return channel.unary_unary(
        f"/{SERVICE}/{name}",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response.FromString,
    )


async def test_a_clean_request_reaches_the_handler(channel: grpc.aio.Channel) -> None:
    reply = await unary(channel, "Keys")(struct({"b": 1, "a": {"x": [1, 2]}}))
    assert list(reply["keys"]) == ["a", "b"]
    assert CALLS == ["Keys"]


async def test_a_struct_too_deep_to_decode_is_invalid_argument_not_unknown(channel: grpc.aio.Channel) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(60):
        deep = {"a": deep}
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await unary(channel, "Keys")(struct(deep))
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "MALFORMED_REQUEST"
    assert [v.field for v in details.field_violations] == ["request"]
    assert "upb" not in details.message and "Exceeded" not in details.message
    assert CALLS == []


async def test_nan_and_nul_are_refused_with_their_fields(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await unary(channel, "Keys")(struct({"parameters": {"replicas": float("nan"), "name": "a\x00"}}))
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "INVALID_REQUEST_VALUE"
    assert sorted(v.field for v in details.field_violations) == ["parameters.name", "parameters.replicas"]
    assert CALLS == []


async def test_a_timestamp_out_of_range_is_refused_before_the_handler(channel: grpc.aio.Channel) -> None:
    call = unary(channel, "When", timestamp_pb2.Timestamp)
    assert (await call(timestamp_pb2.Timestamp(seconds=0))).seconds == 1970
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(timestamp_pb2.Timestamp(seconds=2**62))
    assert error_details(error.value).code == grpc.StatusCode.INVALID_ARGUMENT
    assert CALLS == ["When"]


async def test_every_message_of_a_request_stream_is_checked(channel: grpc.aio.Channel) -> None:
    call = channel.stream_unary(
        f"/{SERVICE}/Total",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=struct_pb2.Struct.FromString,
    )
    assert (await call(iter([struct({"n": 1}), struct({"n": 2})])))["total"] == 3
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(iter([struct({"n": 1}), struct({"n": float("inf")})]))
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in details.field_violations] == ["n"]
