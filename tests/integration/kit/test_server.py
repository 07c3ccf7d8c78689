"""GrpcServer behaviour operators and callers notice: health, graceful stop, auth, reflection, metrics."""

from __future__ import annotations

import asyncio
import urllib.request

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from paved_kit.grpc_errors import error_details
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory

from .conftest import ECHO_SERVICE, Echo, register_echo

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_reports_every_service_serving(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    health = health_pb2_grpc.HealthStub(grpc_channel_factory(echo_server))
    for service in ("", ECHO_SERVICE):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == SERVING
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await health.Check(health_pb2.HealthCheckRequest(service="paved.nope.v1.Nope"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stop_reports_not_serving_while_in_flight_calls_finish(
    grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server = await grpc_server_factory(register_echo, name="echo", grace_period_seconds=5)
    channel = grpc_channel_factory(server, default_timeout=None)
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert (await watch.read()).status == SERVING
    in_flight = asyncio.ensure_future(Echo(channel).unary({"action": "sleep", "seconds": 0.5}))
    await asyncio.sleep(0.1)

    stopping = asyncio.create_task(server.stop())
    assert (await watch.read()).status == NOT_SERVING
    assert not stopping.done()
    watch.cancel()

    assert (await in_flight)["request_id"]
    await asyncio.wait_for(stopping, timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as after:
        await Echo(grpc_channel_factory(server, retry=False)).unary({}, timeout=1)
    assert after.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_auth_requires_the_bearer_token_except_for_health(
    grpc_server_factory: GrpcServerFactory,
    grpc_channel_factory: GrpcChannelFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = await grpc_server_factory(register_echo, name="echo", auth_token="s3cret-token-value")

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await Echo(grpc_channel_factory(server)).unary({})
    assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_details(missing.value).reason == "MISSING_CREDENTIALS"

    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await Echo(grpc_channel_factory(server, token="guess")).unary({})
    assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_details(wrong.value).reason == "INVALID_CREDENTIALS"

    reply = await Echo(grpc_channel_factory(server, token="s3cret-token-value")).unary({})
    assert reply["caller"] == "service-token"

    anonymous = grpc_channel_factory(server)
    health = await health_pb2_grpc.HealthStub(anonymous).Check(health_pb2.HealthCheckRequest())
    assert health.status == SERVING

    assert "s3cret-token-value" not in capsys.readouterr().out


async def test_reflection_lists_application_health_and_reflection_services(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(grpc_channel_factory(echo_server))
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {service.name async for reply in responses for service in reply.list_services_response.service}
    assert names == {
        ECHO_SERVICE,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_reflection_v1_answers_and_describes_itself(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    # v1 is what current clients (grpcurl, grpcui, Postman) ask for first; its messages are v1alpha's.
    call = grpc_channel_factory(echo_server).stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    requests = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpc.reflection.v1.ServerReflection"),
    ]
    replies = [reply async for reply in call(iter(requests))]
    names = {service.name for service in replies[0].list_services_response.service}
    assert {ECHO_SERVICE, "grpc.reflection.v1.ServerReflection"} <= names
    file = descriptor_pb2.FileDescriptorProto.FromString(
        replies[1].file_descriptor_response.file_descriptor_proto[0]
    )
    assert file.package == "grpc.reflection.v1"
    assert file.service[0].method[0].input_type == ".grpc.reflection.v1.ServerReflectionRequest"


async def test_metrics_count_requests_by_code(
    grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server = await grpc_server_factory(register_echo, name="echo", metrics_port=0)
    echo = Echo(grpc_channel_factory(server))
    await echo.unary({})
    with pytest.raises(grpc.aio.AioRpcError):
        await echo.unary({"action": "invalid"})

    url = f"http://127.0.0.1:{server.metrics_port}/metrics"
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read().decode())

    labels = f'method="Unary",service="{ECHO_SERVICE}"'
    assert f'paved_grpc_server_handled_total{{code="OK",{labels}}}' in body
    assert f'paved_grpc_server_handled_total{{code="INVALID_ARGUMENT",{labels}}}' in body
    assert f"paved_grpc_server_handling_seconds_count{{{labels}}}" in body


async def test_second_server_on_a_taken_port_fails_loudly(
    echo_server: GrpcServer, grpc_server_factory: GrpcServerFactory
) -> None:
    with pytest.raises(OSError, match="cannot listen"):
        await grpc_server_factory(register_echo, name="echo", port=echo_server.port)
