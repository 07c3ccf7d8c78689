"""Channels retry what is safe to retry and take credentials from settings."""

from __future__ import annotations

import grpc
import pytest
from paved_kit.client import channel_from_settings
from paved_kit.server import GrpcServer
from paved_kit.testing import EphemeralServerSettings, GrpcChannelFactory, GrpcServerFactory

from .conftest import Echo, register_echo


async def test_unavailable_is_retried_with_backoff(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    echo = Echo(grpc_channel_factory(echo_server))
    reply = await echo.unary({"action": "flaky"}, metadata=(("x-request-id", "flaky-retried"),))
    assert reply["attempts"] == 3

    no_retry = Echo(grpc_channel_factory(echo_server, retry=False))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await no_retry.unary({"action": "flaky"}, metadata=(("x-request-id", "flaky-once"),))
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_channel_from_settings_sends_the_service_token(grpc_server_factory: GrpcServerFactory) -> None:
    server = await grpc_server_factory(register_echo, name="echo", auth_token="shared-token")
    caller_settings = EphemeralServerSettings(auth_token="shared-token")
    async with channel_from_settings(server.address, caller_settings) as channel:
        assert (await Echo(channel).unary({}))["caller"] == "service-token"
