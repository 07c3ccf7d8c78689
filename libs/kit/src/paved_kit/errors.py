"""Domain-level errors that every Paved service raises; pure Python, mapped to gRPC status by the kit.

Domain modules raise these; the errors interceptor turns them into a rich ``google.rpc.Status``
(``ErrorInfo`` plus ``BadRequest`` / ``QuotaFailure`` / ``PreconditionFailure`` details). Every ErrorInfo
reason comes from ``Reason``, the one list for all services, so a client can match on it whichever service
answered; ``metadata`` names the resource (``{"service": "checkout"}``, ``{"policy": "policies/x"}``).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_REASON = re.compile(r"^[A-Z][A-Z0-9_]*[A-Z0-9]$")


class Reason(enum.StrEnum):
    """Every ErrorInfo reason a Paved service sends. One list: the same failure has the same reason in
    every service (an unknown resource is ``NOT_FOUND`` whether it is a template, a policy or a rule)."""

    # One per canonical code: the reason when nothing more specific applies.
    UNKNOWN = "UNKNOWN"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"
    # Bad input, more precisely.
    INVALID_PARAMETERS = "INVALID_PARAMETERS"
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    INVALID_FILTER = "INVALID_FILTER"
    # A request protobuf cannot decode (e.g. nested past its depth limit), or one holding values no
    # handler may receive (NaN, out-of-range times, NUL, unknown enum numbers): the kit's edge checks.
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    INVALID_REQUEST_VALUE = "INVALID_REQUEST_VALUE"
    INVALID_BILLING_ROWS = "INVALID_BILLING_ROWS"
    MISSING_FOCUS_COLUMN = "MISSING_FOCUS_COLUMN"
    UNPRICEABLE_PLAN = "UNPRICEABLE_PLAN"
    # Conflicts and state.
    ETAG_MISMATCH = "ETAG_MISMATCH"
    REQUEST_ID_REUSED = "REQUEST_ID_REUSED"
    TEMPLATE_INVALID = "TEMPLATE_INVALID"
    TEMPLATE_IN_USE = "TEMPLATE_IN_USE"
    SERVICE_EXISTS = "SERVICE_EXISTS"
    SERVICE_NOT_ACTIVE = "SERVICE_NOT_ACTIVE"
    INVALID_STATE_TRANSITION = "INVALID_STATE_TRANSITION"
    OPERATION_IN_PROGRESS = "OPERATION_IN_PROGRESS"
    OPERATION_NOT_DONE = "OPERATION_NOT_DONE"
    BUILTIN_POLICY = "BUILTIN_POLICY"
    POLICY_DENIED = "POLICY_DENIED"
    PROVISIONING_NOT_CONFIGURED = "PROVISIONING_NOT_CONFIGURED"
    HISTORY_DISABLED = "HISTORY_DISABLED"
    HISTORY_SOURCE_UNAVAILABLE = "HISTORY_SOURCE_UNAVAILABLE"
    NOT_ENOUGH_HISTORY = "NOT_ENOUGH_HISTORY"
    NO_RESOURCE_REQUESTS = "NO_RESOURCE_REQUESTS"
    # Environments and promotions.
    UNKNOWN_ENVIRONMENT = "UNKNOWN_ENVIRONMENT"
    ENVIRONMENT_EXISTS = "ENVIRONMENT_EXISTS"
    ENVIRONMENT_NOT_FOUND = "ENVIRONMENT_NOT_FOUND"
    SERVICE_MISMATCH = "SERVICE_MISMATCH"
    PROMOTION_IN_PROGRESS = "PROMOTION_IN_PROGRESS"
    APPROVAL_NOT_PENDING = "APPROVAL_NOT_PENDING"
    # Four eyes: the requester of a promotion approving it.
    SELF_APPROVAL = "SELF_APPROVAL"
    # SQLite's lock held past the busy timeout by another writer; retryable.
    DATABASE_BUSY = "DATABASE_BUSY"
    # Auth.
    MISSING_CREDENTIALS = "MISSING_CREDENTIALS"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"


class Code(enum.IntEnum):
    """Canonical status codes; values match ``google.rpc.Code`` and ``grpc.StatusCode``."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field of a request (``google.rpc.BadRequest.FieldViolation``).

    ``field`` is a path such as ``parameters.replicas`` or ``resources[2].type``.
    """

    field: str
    description: str


@dataclass(frozen=True)
class QuotaViolation:
    """One exceeded quota (``google.rpc.QuotaFailure.Violation``), e.g. subject ``teams/payments``."""

    subject: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition (``google.rpc.PreconditionFailure.Violation``).

    ``type`` is a service-specific UPPER_SNAKE category such as ``POLICY`` or ``STATE``.
    """

    type: str
    subject: str
    description: str


class PavedError(Exception):
    """An error meant for the caller: a status code, a machine-readable reason and a safe message.

    The message and every detail are sent to the caller as they are, so they must never contain
    secrets or internal text (exception strings, SQL, stack traces).
    """

    code: Code = Code.UNKNOWN
    default_reason: Reason = Reason.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        code: Code | None = None,
        reason: Reason | str | None = None,
        metadata: Mapping[str, str] | None = None,
        field_violations: Iterable[FieldViolation] = (),
        quota_violations: Iterable[QuotaViolation] = (),
        precondition_violations: Iterable[PreconditionViolation] = (),
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.reason = str(reason or self.default_reason)
        if not _REASON.match(self.reason) or self.reason not in Reason.__members__:
            raise ValueError(f"error reason must be one of paved_kit.errors.Reason, got {self.reason!r}")
        self.message = message
        self.metadata: dict[str, str] = {str(k): str(v) for k, v in (metadata or {}).items()}
        self.field_violations: list[FieldViolation] = list(field_violations)
        self.quota_violations: list[QuotaViolation] = list(quota_violations)
        self.precondition_violations: list[PreconditionViolation] = list(precondition_violations)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, message={self.message!r})"
        )


class InvalidArgument(PavedError):
    """The request is malformed; ``violations`` name every bad field at once."""

    code = Code.INVALID_ARGUMENT
    default_reason = Reason.INVALID_ARGUMENT

    def __init__(
        self,
        message: str,
        violations: Iterable[FieldViolation] = (),
        *,
        reason: Reason | str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata, field_violations=violations)


class NotFound(PavedError):
    """The named resource does not exist."""

    code = Code.NOT_FOUND
    default_reason = Reason.NOT_FOUND

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class AlreadyExists(PavedError):
    """A resource with that name already exists."""

    code = Code.ALREADY_EXISTS
    default_reason = Reason.ALREADY_EXISTS

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class FailedPrecondition(PavedError):
    """The system is not in a state that allows the operation (policy denial, wrong lifecycle state)."""

    code = Code.FAILED_PRECONDITION
    default_reason = Reason.FAILED_PRECONDITION

    def __init__(
        self,
        message: str,
        violations: Iterable[PreconditionViolation] = (),
        *,
        reason: Reason | str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata, precondition_violations=violations)


class Aborted(PavedError):
    """A concurrency conflict, such as an etag mismatch; the caller may re-read and retry."""

    code = Code.ABORTED
    default_reason = Reason.ABORTED

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class QuotaExceeded(PavedError):
    """A quota or budget would be exceeded (RESOURCE_EXHAUSTED)."""

    code = Code.RESOURCE_EXHAUSTED
    default_reason = Reason.QUOTA_EXCEEDED

    def __init__(
        self,
        message: str,
        violations: Iterable[QuotaViolation] = (),
        *,
        reason: Reason | str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata, quota_violations=violations)


class PermissionDenied(PavedError):
    """The caller is known but may not do this."""

    code = Code.PERMISSION_DENIED
    default_reason = Reason.PERMISSION_DENIED

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class Unauthenticated(PavedError):
    """The caller did not prove who it is."""

    code = Code.UNAUTHENTICATED
    default_reason = Reason.UNAUTHENTICATED

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class Unavailable(PavedError):
    """A dependency is down or overloaded; retrying later may succeed."""

    code = Code.UNAVAILABLE
    default_reason = Reason.UNAVAILABLE

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)


class Internal(PavedError):
    """A bug or broken invariant; the message must still be safe to show."""

    code = Code.INTERNAL
    default_reason = Reason.INTERNAL

    def __init__(
        self, message: str, *, reason: Reason | str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
