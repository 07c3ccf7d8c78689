"""Client interceptors: every outgoing call carries the request id, the bearer token and a deadline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc.aio
from pydantic import SecretStr

from paved_kit.context import current_request_id, new_request_id
from paved_kit.grpc_errors import REQUEST_ID_KEY
from paved_kit.interceptors.auth import AUTHORIZATION_KEY

Continuation = Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]]


class OutgoingContext:
    """Adds ``x-request-id`` (the current request's, else a new one), ``authorization`` and a default
    deadline to call details; values the caller set explicitly win."""

    def __init__(self, *, token: SecretStr | str | None, default_timeout: float | None) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._authorization = f"Bearer {secret}" if secret else None
        self._default_timeout = default_timeout

    def details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        """The call details to send instead of ``details``."""
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if REQUEST_ID_KEY not in metadata:
            metadata.add(REQUEST_ID_KEY, current_request_id() or new_request_id())
        if self._authorization is not None and AUTHORIZATION_KEY not in metadata:
            metadata.add(AUTHORIZATION_KEY, self._authorization)
        timeout = details.timeout if details.timeout is not None else self._default_timeout
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=timeout,
            metadata=metadata,
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )

    def interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """One interceptor per call kind: a grpc.aio channel files each interceptor under a single kind."""
        return [
            _UnaryUnary(self),
            _UnaryStream(self),
            _StreamUnary(self),
            _StreamStream(self),
        ]


class _Outgoing:
    """Holds the context every call kind's interceptor applies."""

    def __init__(self, outgoing: OutgoingContext) -> None:
        self._outgoing = outgoing


class _UnaryUnary(_Outgoing, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Continuation, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._outgoing.details(client_call_details), request)


class _UnaryStream(_Outgoing, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Continuation, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._outgoing.details(client_call_details), request)


class _StreamUnary(_Outgoing, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(
        self,
        continuation: Continuation,
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(self._outgoing.details(client_call_details), request_iterator)


class _StreamStream(_Outgoing, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(
        self,
        continuation: Continuation,
        client_call_details: grpc.aio.ClientCallDetails,
        request_iterator: Any,
    ) -> Any:
        return await continuation(self._outgoing.details(client_call_details), request_iterator)
