"""PavedError ⇄ rich gRPC status (``google.rpc.Status`` with ErrorInfo and the standard detail messages)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from paved_kit.errors import (
    Code,
    FieldViolation,
    Internal,
    PavedError,
    PreconditionViolation,
    QuotaViolation,
)

STATUS_DETAILS_KEY = "grpc-status-details-bin"
REQUEST_ID_KEY = "x-request-id"


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status_proto(err: PavedError, domain: str) -> status_pb2.Status:
    """The ``google.rpc.Status`` describing ``err``: ErrorInfo always, then whichever violations it has."""
    code = err.code if err.code != Code.OK else Code.UNKNOWN
    status = status_pb2.Status(code=int(code), message=err.message)
    status.details.append(
        _pack(error_details_pb2.ErrorInfo(reason=err.reason, domain=domain, metadata=err.metadata))
    )
    if err.field_violations:
        status.details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                        for v in err.field_violations
                    ]
                )
            )
        )
    if err.quota_violations:
        status.details.append(
            _pack(
                error_details_pb2.QuotaFailure(
                    violations=[
                        error_details_pb2.QuotaFailure.Violation(subject=v.subject, description=v.description)
                        for v in err.quota_violations
                    ]
                )
            )
        )
    if err.precondition_violations:
        status.details.append(
            _pack(
                error_details_pb2.PreconditionFailure(
                    violations=[
                        error_details_pb2.PreconditionFailure.Violation(
                            type=v.type, subject=v.subject, description=v.description
                        )
                        for v in err.precondition_violations
                    ]
                )
            )
        )
    return status


def to_rpc_status(err: PavedError, domain: str) -> grpc.Status:
    """A ``grpc.Status`` (code, details, trailing metadata carrying the rich status) for ``err``."""
    status: grpc.Status = rpc_status.to_status(to_status_proto(err, domain))
    return status


def internal_error(request_id: str | None) -> PavedError:
    """The only thing a caller learns about an unexpected failure: that it happened, and its request id."""
    message = f"internal error (request id {request_id})" if request_id else "internal error"
    return Internal(message, reason="INTERNAL", metadata={"request_id": request_id} if request_id else None)


async def abort_with(context: grpc.aio.ServicerContext, err: PavedError, domain: str) -> None:
    """Abort the current RPC with ``err`` as a rich status, keeping trailing metadata already set.

    Always raises (``grpc.aio.AbortError``), as ``context.abort`` does.
    """
    status = to_rpc_status(err, domain)
    kept = tuple(
        (key, value) for key, value in (context.trailing_metadata() or ()) if key != STATUS_DETAILS_KEY
    )
    await context.abort(status.code, status.details, kept + tuple(status.trailing_metadata))


@dataclass
class ErrorDetails:
    """What a client can learn from a failed call: code, message and the rich status details."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    domain: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)
    quota_violations: list[QuotaViolation] = field(default_factory=list)
    precondition_violations: list[PreconditionViolation] = field(default_factory=list)
    request_id: str | None = None


def _metadata_pairs(exc: grpc.RpcError | grpc.aio.AioRpcError) -> Iterable[tuple[str, Any]]:
    trailing = getattr(exc, "trailing_metadata", None)
    pairs = trailing() if callable(trailing) else None
    return tuple((str(key), value) for key, value in (pairs or ()))


def error_details(exc: grpc.aio.AioRpcError | grpc.RpcError) -> ErrorDetails:
    """Read a failed call's status back, including ErrorInfo and every violation the server sent."""
    code_fn = getattr(exc, "code", None)
    details_fn = getattr(exc, "details", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    message = (details_fn() if callable(details_fn) else None) or ""
    result = ErrorDetails(code=code, message=message)
    for key, value in _metadata_pairs(exc):
        if key == REQUEST_ID_KEY and isinstance(value, str):
            result.request_id = value
        elif key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            _read_status(status_pb2.Status.FromString(value), result)
    return result


def _read_status(status: status_pb2.Status, result: ErrorDetails) -> None:
    if status.message:
        result.message = status.message
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            result.reason, result.domain, result.metadata = info.reason, info.domain, dict(info.metadata)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            result.field_violations += [
                FieldViolation(v.field, v.description) for v in bad_request.field_violations
            ]
        elif detail.Is(error_details_pb2.QuotaFailure.DESCRIPTOR):
            quota = error_details_pb2.QuotaFailure()
            detail.Unpack(quota)
            result.quota_violations += [QuotaViolation(v.subject, v.description) for v in quota.violations]
        elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
            precondition = error_details_pb2.PreconditionFailure()
            detail.Unpack(precondition)
            result.precondition_violations += [
                PreconditionViolation(v.type, v.subject, v.description) for v in precondition.violations
            ]
