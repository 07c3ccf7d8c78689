"""Validation interceptor: decode every request itself and check it at the edge, before the handler.

grpc decodes requests before any interceptor runs and answers UNKNOWN, with the decoder's own text,
when that fails (a Struct nested past protobuf's depth limit does). Taking over decoding turns that into
INVALID_ARGUMENT, and :func:`paved_kit.validation.request_violations` refuses hostile values (NaN,
out-of-range Timestamps, NUL, unknown enum numbers...) with a ``BadRequest`` naming each field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import grpc
import grpc.aio
from google.protobuf.message import DecodeError, Message

from paved_kit.errors import FieldViolation, InvalidArgument, Reason
from paved_kit.interceptors.auth import EXEMPT_PREFIXES
from paved_kit.interceptors.base import Context
from paved_kit.validation import request_violations

Decoder = Callable[[bytes], Any]


def decode_request(decoder: Decoder | None, raw: Any, handler_checked: frozenset[str] = frozenset()) -> Any:
    """The request decoded and checked; InvalidArgument when it cannot be decoded or holds bad values."""
    if decoder is None:
        return raw
    try:
        request = decoder(raw)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise InvalidArgument(
            "the request could not be decoded: it is malformed or nested too deeply",
            [FieldViolation("request", "must be a well-formed message nested at most 100 levels")],
            reason=Reason.MALFORMED_REQUEST,
        ) from exc
    if isinstance(request, Message):
        violations = request_violations(request, handler_checked=handler_checked)
        if violations:
            noun = "value" if len(violations) == 1 else "values"
            raise InvalidArgument(
                f"the request has {len(violations)} unusable {noun}: "
                + "; ".join(f"{v.field}: {v.description}" for v in violations[:3]),
                violations,
                reason=Reason.INVALID_REQUEST_VALUE,
            )
    return request


class ValidationInterceptor(grpc.aio.ServerInterceptor):
    """Decodes and checks the requests of every RPC but health and reflection (which need no checks).

    Must run inside the error interceptor, which turns its InvalidArgument into a rich status.
    ``handler_checked``: fields (``package.Message.field``) the handlers judge themselves.
    """

    def __init__(self, handler_checked: frozenset[str] = frozenset()) -> None:
        self._handler_checked = handler_checked

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(EXEMPT_PREFIXES):
            return handler
        decoder = handler.request_deserializer
        if decoder is None:
            return handler
        serializer = handler.response_serializer
        skip = self._handler_checked

        def decode(raw: bytes) -> Any:
            return decode_request(decoder, raw, skip)

        if handler.unary_unary is not None:
            inner_uu = handler.unary_unary

            def unary_unary(raw: bytes, context: Context) -> Any:
                return inner_uu(decode(raw), context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, None, serializer)

        if handler.unary_stream is not None:
            inner_us = handler.unary_stream

            def unary_stream(raw: bytes, context: Context) -> Any:
                return inner_us(decode(raw), context)

            return grpc.unary_stream_rpc_method_handler(unary_stream, None, serializer)

        if handler.stream_unary is not None:
            inner_su = handler.stream_unary

            def stream_unary(raws: Any, context: Context) -> Any:
                return inner_su(_decoded(decode, raws), context)

            return grpc.stream_unary_rpc_method_handler(stream_unary, None, serializer)

        inner_ss = handler.stream_stream

        def stream_stream(raws: Any, context: Context) -> Any:
            return inner_ss(_decoded(decode, raws), context)

        return grpc.stream_stream_rpc_method_handler(stream_stream, None, serializer)


async def _decoded(decode: Decoder, raws: AsyncIterator[bytes] | Iterable[bytes]) -> AsyncIterator[Any]:
    if hasattr(raws, "__aiter__"):
        async for raw in raws:
            yield decode(raw)
    else:
        for raw in raws:
            yield decode(raw)
