"""Errors reach callers as rich statuses; unexpected failures reveal nothing but a request id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from paved_kit.errors import FieldViolation, PreconditionViolation, QuotaViolation
from paved_kit.grpc_errors import error_details
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcChannelFactory

from .conftest import SECRET_DETAIL, Echo


async def _fail(echo: Echo, action: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await echo.unary({"action": action}, metadata=(("x-request-id", f"req-{action}"),))
    return error.value


async def test_unexpected_exception_is_a_generic_internal_error(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    error = await _fail(Echo(grpc_channel_factory(echo_server)), "crash")
    details = error_details(error)

    assert details.code == grpc.StatusCode.INTERNAL
    assert details.message == "internal error (request id req-crash)"
    assert (details.reason, details.domain) == ("INTERNAL", "echo.paved.dev")
    assert details.request_id == "req-crash"
    everything_sent = f"{error.details()} {error.debug_error_string()} {error.trailing_metadata()!r}"
    for leak in ("hunter2", "RuntimeError", "Traceback", "db.py"):
        assert leak not in everything_sent
    # The traceback is in the server's log instead.
    assert SECRET_DETAIL in capsys.readouterr().out


async def test_invalid_argument_carries_every_field_violation(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    details = error_details(await _fail(Echo(grpc_channel_factory(echo_server)), "invalid"))

    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.message == "the template has 3 problems"
    assert (details.reason, details.domain) == ("TEMPLATE_INVALID", "echo.paved.dev")
    assert details.metadata == {"template": "templates/web"}
    assert details.field_violations == [
        FieldViolation("parameters.name", "required"),
        FieldViolation("parameters.replicas", "must be an integer"),
        FieldViolation("parameters.tier", "must be one of gold, silver"),
    ]


async def test_quota_exceeded_carries_quota_violations(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    details = error_details(await _fail(Echo(grpc_channel_factory(echo_server)), "quota"))

    assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert details.reason == "QUOTA_EXCEEDED"
    assert details.quota_violations == [
        QuotaViolation("teams/payments", "services: 10 of 10 used"),
        QuotaViolation("teams/payments", "budget: 5200 of 5000 USD"),
    ]


async def test_failed_precondition_carries_precondition_violations(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    details = error_details(await _fail(Echo(grpc_channel_factory(echo_server)), "precondition"))

    assert details.code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.reason == "POLICY_DENIED"
    assert details.precondition_violations == [
        PreconditionViolation("POLICY", "policies/encryption", "storage must be encrypted")
    ]


async def test_deliberate_abort_is_not_rewritten(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    error = await _fail(Echo(grpc_channel_factory(echo_server)), "abort")
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "deliberately not found"
    assert error_details(error).reason == ""


async def _requests(values: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for value in values:
        yield value


async def test_streaming_errors_are_translated_too(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    echo = Echo(grpc_channel_factory(echo_server))
    received: list[Any] = []
    with pytest.raises(grpc.aio.AioRpcError) as streamed:
        async for item in echo.server_stream({"count": 2, "then_fail": True}):
            received.append(item)
    assert len(received) == 2
    assert error_details(streamed.value).field_violations == [FieldViolation("count", "too many")]

    with pytest.raises(grpc.aio.AioRpcError) as bidi:
        _ = [item async for item in echo.bidi_stream(_requests([{"n": 1}, {"action": "crash"}]))]
    assert bidi.value.code() == grpc.StatusCode.INTERNAL
    assert "hunter2" not in (bidi.value.details() or "")


async def test_default_deadline_applies_when_the_caller_gives_none(
    echo_server: GrpcServer, grpc_channel_factory: GrpcChannelFactory
) -> None:
    echo = Echo(grpc_channel_factory(echo_server, default_timeout=0.2))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await echo.unary({"action": "sleep", "seconds": 2})
    assert error.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # An explicit timeout wins over the default.
    assert await echo.unary({"action": "sleep", "seconds": 0.3}, timeout=5)
