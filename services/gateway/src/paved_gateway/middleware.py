"""Per-request plumbing: the request id (accepted, generated, returned, bound for the gRPC hops), one
canonical log line and the HTTP metrics, and the last resort for a failure no handler took: a 500 in
Backstage's shape naming the request id, logged as that request's one line with a bounded traceback (and
never the request's headers or body)."""

from __future__ import annotations

import time

from fastapi import Request
from paved_kit.context import bind_request, is_valid_request_id, new_request_id
from paved_kit.logging import get_logger
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paved_gateway.errors import ApiError, error_response

REQUEST_ID_HEADER = "x-request-id"
CLIENT_CLOSED_REQUEST = 499
_log = get_logger("paved_gateway.access")


class HttpMetrics:
    """The gateway's HTTP metrics, on the registry ``/metrics`` serves."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "paved_gateway_http_requests",
            "HTTP requests answered, by route and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "paved_gateway_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )


class RequestContextMiddleware:
    """Pure ASGI (not BaseHTTPMiddleware) so the contextvars it binds reach the route's gRPC calls."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = presented if presented and is_valid_request_id(presented) else new_request_id()
        status = 500
        started_response = False
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = message["status"]
                started_response = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        method = scope["method"]
        failure: Exception | None = None
        with bind_request(request_id=request_id, service="gateway"):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:  # the last resort: answer, log once, do not re-raise
                failure = exc
                if not started_response:
                    answer = ApiError(500, f"internal error (request id {request_id})")
                    await error_response(Request(scope), answer)(scope, receive, send_with_id)
            finally:
                if not started_response and failure is None:
                    # The client went away before an answer (mid-body, or the call was cancelled): not a
                    # server error. 499 as nginx logs it.
                    status = CLIENT_CLOSED_REQUEST
                elapsed = time.perf_counter() - started
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                self.metrics.requests.labels(method, route, str(status)).inc()
                self.metrics.latency.labels(method, route).observe(elapsed)
                # One line per request; for a failure it carries the (bounded, redacted) traceback.
                (_log.error if failure else _log.info)(
                    "http request",
                    method=method,
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                    exc_info=failure,
                )
