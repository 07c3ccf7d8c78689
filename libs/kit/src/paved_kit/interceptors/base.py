"""A server interceptor base that runs an async context manager around every kind of RPC.

grpc.aio hands interceptors a method handler; wrapping it correctly takes one wrapper per RPC kind
(unary or streaming requests, unary or streaming responses, coroutine or async-generator handlers).
Subclasses only say what happens around the call.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeAlias

import grpc
import grpc.aio

# grpc ships no type information; the alias documents intent.
Context: TypeAlias = grpc.aio.ServicerContext


def split_method(method: str) -> tuple[str, str]:
    """Split a full method name into service and method.

    ``/paved.catalog.v1.CatalogService/GetTemplate`` → (``paved.catalog.v1.CatalogService``, ``GetTemplate``).
    """
    service, _, name = method.lstrip("/").rpartition("/")
    return service or "unknown", name or method


def _status_code(value: Any) -> grpc.StatusCode | None:
    if value is None:
        return None
    if isinstance(value, grpc.StatusCode):
        return value
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code
    return grpc.StatusCode.UNKNOWN


def final_code(context: Context, exc: BaseException | None) -> grpc.StatusCode:
    """The status an RPC ended with, given the exception (if any) that left the handler."""
    if isinstance(exc, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    code = _status_code(context.code())
    if exc is not None and not isinstance(exc, grpc.aio.AbortError):
        return code if code not in (None, grpc.StatusCode.OK) else grpc.StatusCode.UNKNOWN
    return code or grpc.StatusCode.OK


async def _unary_response(behavior: Callable[..., Any], request: Any, context: Context) -> Any:
    result = behavior(request, context)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _stream_response(
    behavior: Callable[..., Any], request: Any, context: Context
) -> AsyncIterator[Any]:
    result = behavior(request, context)
    if inspect.isawaitable(result):
        # Reader/writer style: the handler wrote its responses with context.write().
        await result
    elif hasattr(result, "__aiter__"):
        async for response in result:
            yield response
    elif result is not None:
        for response in result:
            yield response


class AroundInterceptor(grpc.aio.ServerInterceptor, abc.ABC):
    """Runs :meth:`around` around the handler of every RPC, whatever its kind."""

    @abc.abstractmethod
    def around(self, context: Context, method: str) -> AbstractAsyncContextManager[None]:
        """What to do before and after the handler; exceptions from the handler pass through it."""

    def applies_to(self, method: str) -> bool:
        """Whether this interceptor wraps ``method`` at all."""
        return True

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not self.applies_to(method):
            # No handler: grpc answers UNIMPLEMENTED itself.
            return handler
        return self._wrap(handler, method)

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        around = self.around
        deserializer, serializer = handler.request_deserializer, handler.response_serializer

        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            async def unary_unary(request: Any, context: Context) -> Any:
                async with around(context, method):
                    return await _unary_response(inner_uu, request, context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, deserializer, serializer)

        if handler.unary_stream is not None:
            inner_us = handler.unary_stream

            async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
                async with around(context, method):
                    async for response in _stream_response(inner_us, request, context):
                        yield response

            return grpc.unary_stream_rpc_method_handler(unary_stream, deserializer, serializer)

        if handler.stream_unary is not None:
            inner_su = handler.stream_unary

            async def stream_unary(requests: Any, context: Context) -> Any:
                async with around(context, method):
                    return await _unary_response(inner_su, requests, context)

            return grpc.stream_unary_rpc_method_handler(stream_unary, deserializer, serializer)

        inner_ss = handler.stream_stream

        async def stream_stream(requests: Any, context: Context) -> AsyncIterator[Any]:
            async with around(context, method):
                async for response in _stream_response(inner_ss, requests, context):
                    yield response

        return grpc.stream_stream_rpc_method_handler(stream_stream, deserializer, serializer)
