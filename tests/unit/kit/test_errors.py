"""Domain errors map onto gRPC statuses with ErrorInfo and every violation."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from paved_kit.errors import (
    Aborted,
    AlreadyExists,
    Code,
    FieldViolation,
    Internal,
    InvalidArgument,
    NotFound,
    PavedError,
    PermissionDenied,
    QuotaExceeded,
    Reason,
    Unauthenticated,
    Unavailable,
)
from paved_kit.grpc_errors import STATUS_DETAILS_KEY, to_rpc_status


def test_codes_match_grpc_status_codes() -> None:
    for code in Code:
        assert grpc.StatusCode[code.name].value[0] == code.value


@pytest.mark.parametrize(
    ("error", "code", "reason"),
    [
        (NotFound("templates/web not found"), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
        (AlreadyExists("exists"), grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
        (Aborted("etag mismatch", reason="ETAG_MISMATCH"), grpc.StatusCode.ABORTED, "ETAG_MISMATCH"),
        (PermissionDenied("not your team"), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
        (Unauthenticated("who are you"), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
        (Unavailable("catalog down"), grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
        (Internal("broken invariant"), grpc.StatusCode.INTERNAL, "INTERNAL"),
        (QuotaExceeded("over"), grpc.StatusCode.RESOURCE_EXHAUSTED, "QUOTA_EXCEEDED"),
    ],
)
def test_status_carries_code_message_and_error_info(
    error: PavedError, code: grpc.StatusCode, reason: str
) -> None:
    status = to_rpc_status(error, "catalog.paved.dev")
    assert status.code == code
    assert status.details == error.message
    ((key, value),) = status.trailing_metadata
    assert key == STATUS_DETAILS_KEY
    rich = status_pb2.Status.FromString(value)
    info = error_details_pb2.ErrorInfo()
    assert rich.details[0].Unpack(info)
    assert (info.reason, info.domain) == (reason, "catalog.paved.dev")


def test_bad_request_lists_every_violation() -> None:
    error = InvalidArgument("bad", [FieldViolation("a", "required"), FieldViolation("b.c", "too long")])
    rich = status_pb2.Status.FromString(to_rpc_status(error, "x.paved.dev").trailing_metadata[0][1])
    bad_request = error_details_pb2.BadRequest()
    assert rich.details[1].Unpack(bad_request)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("a", "required"),
        ("b.c", "too long"),
    ]


def test_reason_must_come_from_the_one_list() -> None:
    with pytest.raises(ValueError, match="Reason"):
        NotFound("x", reason="not-found")
    with pytest.raises(ValueError, match="Reason"):
        NotFound("x", reason="POLICY_NOT_FOUND")
    assert NotFound("x", reason=Reason.NOT_FOUND).reason == "NOT_FOUND"
