"""The one place where failures become HTTP answers: gRPC status → HTTP status, in Backstage's error shape.

Backstage's clients read ``{"error": {"name", "message", ...}, "request": {"method", "url"},
"response": {"statusCode"}}`` (``@backstage/errors`` ``ErrorResponseBody``); ``name`` uses its error
class names so the portal shows them as it shows its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

import grpc
import grpc.aio
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from paved_kit.context import current_request_id
from paved_kit.errors import FieldViolation, Reason
from paved_kit.grpc_errors import error_details
from paved_kit.logging import get_logger
from starlette.exceptions import HTTPException as StarletteHTTPException

_log = get_logger(__name__)
T = TypeVar("T")

# gRPC code → (HTTP status, Backstage error name). UNAUTHENTICATED from a service means the gateway's
# own credentials were refused, which is our misconfiguration and not the caller's: 502.
GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "InputError"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "InputError"),
    grpc.StatusCode.FAILED_PRECONDITION: (409, "ConflictError"),
    grpc.StatusCode.NOT_FOUND: (404, "NotFoundError"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "ConflictError"),
    grpc.StatusCode.ABORTED: (409, "ConflictError"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "NotAllowedError"),
    grpc.StatusCode.UNAUTHENTICATED: (502, "BadGatewayError"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "TooManyRequestsError"),
    grpc.StatusCode.UNAVAILABLE: (503, "ServiceUnavailableError"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "GatewayTimeoutError"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "NotImplementedError"),
    grpc.StatusCode.CANCELLED: (503, "ServiceUnavailableError"),
    grpc.StatusCode.INTERNAL: (500, "Error"),
    grpc.StatusCode.UNKNOWN: (500, "Error"),
    grpc.StatusCode.DATA_LOSS: (500, "Error"),
}

HTTP_NAMES: dict[int, str] = {
    400: "InputError",
    401: "AuthenticationError",
    403: "NotAllowedError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    406: "NotAcceptableError",
    409: "ConflictError",
    413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError",
    422: "UnprocessableEntityError",
    429: "TooManyRequestsError",
    500: "Error",
    502: "BadGatewayError",
    503: "ServiceUnavailableError",
    504: "GatewayTimeoutError",
}


class ApiError(Exception):
    """An HTTP error answer: status, Backstage error name, safe message and extra detail fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        name: str | None = None,
        details: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.name = name or HTTP_NAMES.get(status, "Error")
        self.details = details or {}
        # Top-level body fields next to error/request/response (e.g. the seed's quota `current`/`limit`).
        self.extra = extra or {}
        self.headers = headers or {}


def unauthenticated(message: str) -> ApiError:
    """401 with the challenge header RFC 6750 asks for."""
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer realm="paved"'})


def forbidden(message: str) -> ApiError:
    """403 for a caller acting outside its teams."""
    return ApiError(403, message)


def invalid(message: str, violations: list[FieldViolation]) -> ApiError:
    """400 naming every bad field."""
    return ApiError(400, message, details={"fieldViolations": [asdict(v) for v in violations]})


def body_field(field: str, fields: Mapping[str, str]) -> str:
    """The HTTP body's name for a service's field path: ``fields`` maps a proto path (or a prefix of one,
    e.g. ``platform_input.``) to the body's; paths it does not name are kept."""
    if field in fields:
        return fields[field]
    for proto, body in fields.items():
        if proto.endswith(".") and field.startswith(proto):
            return body + field.removeprefix(proto)
    return field


def from_rpc_error(exc: grpc.RpcError, backend: str, fields: Mapping[str, str] | None = None) -> ApiError:
    """The HTTP answer for a failed call to ``backend``, keeping every detail the service sent; field
    violations are renamed through ``fields`` (see ``body_field``) so they name what the caller sent."""
    info = error_details(exc)
    status, name = GRPC_TO_HTTP.get(info.code, (500, "Error"))
    if info.code == grpc.StatusCode.RESOURCE_EXHAUSTED and info.reason == "QUOTA_EXCEEDED":
        status, name = 403, "NotAllowedError"
    message = info.message or info.code.name.lower()
    if info.code == grpc.StatusCode.ALREADY_EXISTS and info.reason == Reason.REQUEST_ID_REUSED:
        # The IETF Idempotency-Key draft's answer to a key reused for a different request.
        status, name = 422, "UnprocessableEntityError"
        message = (
            "the Idempotency-Key was already used for a different request (another body or path); "
            "send a new key for a new request"
        )
    elif _is_message_too_large(info.code, info.reason, info.message):
        # gRPC's own limit on a message's size: the caller's input is too large, not a rate limit.
        status, name = 400, "InputError"
        message = f"the request is too large for the {backend} service"
    elif info.code == grpc.StatusCode.UNAVAILABLE:
        message = f"the {backend} service is unavailable"
    elif info.code == grpc.StatusCode.DEADLINE_EXCEEDED:
        message = f"the {backend} service did not answer in time"
    elif info.code == grpc.StatusCode.UNAUTHENTICATED:
        message = f"the {backend} service refused the gateway's credentials"
    details: dict[str, Any] = {"service": backend, "grpcCode": info.code.name}
    if info.reason:
        details["reason"] = info.reason
    if info.domain:
        details["domain"] = info.domain
    if info.metadata:
        details["metadata"] = info.metadata
    if info.field_violations:
        details["fieldViolations"] = [
            {"field": body_field(v.field, fields or {}), "description": v.description}
            for v in info.field_violations
        ]
    if info.quota_violations:
        details["quotaViolations"] = [asdict(v) for v in info.quota_violations]
    if info.precondition_violations:
        details["preconditionViolations"] = [asdict(v) for v in info.precondition_violations]
    if status >= 500:
        _log.warning("backend call failed", backend=backend, grpc_code=info.code.name, reason=info.reason)
    if status == 403 and info.reason == "QUOTA_EXCEEDED":
        return _quota_exceeded(message, details, info.metadata)
    return ApiError(status, message, name=name, details=details)


def _is_message_too_large(code: grpc.StatusCode, reason: str, message: str) -> bool:
    # grpc-core says "Received message larger than max (X vs. Y)" or "Sent message larger than max".
    return code == grpc.StatusCode.RESOURCE_EXHAUSTED and not reason and "larger than max" in message


def _quota_exceeded(description: str, details: dict[str, Any], metadata: dict[str, str]) -> ApiError:
    """The seed's quota answer, ``{error: "Quota exceeded", current, limit}``, in Backstage's shape: the
    numbers of the first exceeded quota at the top level, the service's full description in the error."""

    def number(key: str) -> float | None:
        try:
            return float(metadata[key])
        except (KeyError, ValueError):
            return None

    extra = {
        "quota": metadata.get("quota"),
        "current": number("current"),
        "requested": number("requested"),
        "limit": number("limit"),
    }
    return ApiError(
        403,
        "Quota exceeded",
        name="QuotaExceededError",
        details={**details, "description": description, **extra},
        extra=extra,
    )


def error_body(request: Request, err: ApiError) -> dict[str, Any]:
    """Backstage's ErrorResponseBody for ``err`` answering ``request``."""
    body: dict[str, Any] = {
        **err.extra,
        "error": {"name": err.name, "message": err.message, **err.details},
        "request": {"method": request.method, "url": str(request.url.path)},
        "response": {"statusCode": err.status},
    }
    request_id = current_request_id()
    if request_id:
        body["error"]["requestId"] = request_id
    return body


def error_response(request: Request, err: ApiError) -> JSONResponse:
    """The JSON response for ``err``."""
    return JSONResponse(error_body(request, err), status_code=err.status, headers=err.headers)


async def handle_api_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for ApiError."""
    assert isinstance(exc, ApiError)
    return error_response(request, exc)


async def handle_rpc_error(request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for a gRPC failure no route handled itself."""
    assert isinstance(exc, grpc.RpcError)
    backend = request.scope.get("paved.backend", "backend")
    return error_response(request, from_rpc_error(exc, str(backend)))


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Request validation failures answer 400 with every field error at once."""
    assert isinstance(exc, RequestValidationError)
    violations = [
        FieldViolation(_field_path(error.get("loc", ())), plain_rule(error)) for error in exc.errors()
    ]
    return error_response(request, invalid("the request is invalid", violations))


# Patterns of the API's fields, said in words (a regular expression is not a rule a person reads).
_PATTERN_WORDS = {
    r"^[a-z]([-a-z0-9]*[a-z0-9])?$": "lowercase letters, digits and '-', starting with a letter and not "
    "ending with '-' (a DNS label)",
    r"^[A-Za-z0-9._-]+$": "letters, digits, '.', '_' and '-' only",
    r"^[A-Z]{3}$": "three capital letters (an ISO 4217 currency code such as USD)",
}


def plain_rule(error: Any) -> str:
    """A pydantic validation error as the rule in words: ``must be ...``, never ``String should match
    pattern '^...$'``."""
    context = error.get("ctx") or {}
    kind = error.get("type")
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return f"must be {_PATTERN_WORDS[pattern]}" if pattern in _PATTERN_WORDS else f"must match {pattern}"
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "missing":
        return "is required"
    return str(error.get("msg", "invalid"))


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (404 route, 405 method) in the same shape."""
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTP_NAMES.get(exc.status_code, "error")
    return error_response(request, ApiError(exc.status_code, message, headers=dict(exc.headers or {})))


def _field_path(loc: Any) -> str:
    # FastAPI prefixes locations with where the value came from ("body", "query"); the field path
    # after it is what the caller wrote.
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


async def call(backend: str, pending: Awaitable[T], *, fields: Mapping[str, str] | None = None) -> T:
    """Await a gRPC call to ``backend``, turning its failure into the matching HTTP error (``fields``
    renames the request message's field paths to the HTTP body's, as in ``body_field``)."""
    try:
        return await pending
    except grpc.RpcError as exc:
        raise from_rpc_error(exc, backend, fields) from None
