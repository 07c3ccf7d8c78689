"""Metrics interceptor: count and time every RPC by service, method and status code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from paved_kit.interceptors.base import AroundInterceptor, Context, final_code, split_method
from paved_kit.metrics import GrpcServerMetrics


class MetricsInterceptor(AroundInterceptor):
    """Updates ``paved_grpc_server_handled_total`` and ``paved_grpc_server_handling_seconds``."""

    def __init__(self, metrics: GrpcServerMetrics) -> None:
        self._metrics = metrics

    @asynccontextmanager
    async def around(self, context: Context, method: str) -> AsyncIterator[None]:
        service, name = split_method(method)
        started = time.perf_counter()
        failure: BaseException | None = None
        try:
            yield
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._metrics.handling_seconds.labels(service, name).observe(time.perf_counter() - started)
            self._metrics.handled.labels(service, name, final_code(context, failure).name).inc()
