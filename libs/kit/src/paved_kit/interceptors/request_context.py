"""Request context interceptor: adopt or mint the request id, bind it, and log one line per request."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc

from paved_kit.context import bind_request, is_valid_request_id, new_request_id
from paved_kit.grpc_errors import REQUEST_ID_KEY
from paved_kit.interceptors.base import AroundInterceptor, Context, final_code
from paved_kit.logging import get_logger

_log = get_logger("paved.rpc")

# Probes and tooling call these all the time; their lines are debug noise, not traffic.
QUIET_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_SERVER_FAULTS = frozenset({grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS})


class RequestContextInterceptor(AroundInterceptor):
    """Binds ``request_id``/``rpc``/``service`` for the handler, returns ``x-request-id`` in trailing
    metadata and writes the canonical log line (method, code, duration_ms, peer)."""

    def __init__(self, service: str) -> None:
        self._service = service

    @asynccontextmanager
    async def around(self, context: Context, method: str) -> AsyncIterator[None]:
        incoming = dict(context.invocation_metadata() or ()).get(REQUEST_ID_KEY)
        request_id = (
            incoming if isinstance(incoming, str) and is_valid_request_id(incoming) else new_request_id()
        )
        context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
        started = time.perf_counter()
        failure: BaseException | None = None
        with bind_request(request_id=request_id, rpc=method, service=self._service):
            try:
                yield
            except BaseException as exc:
                failure = exc
                raise
            finally:
                code = final_code(context, failure)
                duration_ms = round((time.perf_counter() - started) * 1000, 3)
                log = _log.debug if method.startswith(QUIET_PREFIXES) else _log.info
                if code in _SERVER_FAULTS:
                    log = _log.error
                log(
                    "rpc handled",
                    method=method,
                    code=code.name,
                    duration_ms=duration_ms,
                    peer=context.peer(),
                )
