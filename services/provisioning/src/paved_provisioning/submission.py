"""Submitting operations: idempotency by request id (under the team lock, and again after a lost race), the
preconditions every change to a running service shares, and the rows a submission writes.

A request id names one request (AIP-155): a retry gets the first operation back, but the same id with a
different request (another kind of operation, other fields or another requester) is refused as
ALREADY_EXISTS / ``REQUEST_ID_REUSED`` rather than answered with an operation it did not ask for.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import AlreadyExists, FailedPrecondition, NotFound, PreconditionViolation, Reason
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import steps, store
from paved_provisioning.models import Deployment, Operation, ProvisionedService
from paved_provisioning.operation_admin import OperationAdmin
from paved_provisioning.provisioner_base import OperationView
from paved_provisioning.quota_admin import QuotaAdmin

#: Writes a submission's rows in the given transaction; returns the id of an earlier operation with the same
#: request id instead when there is one.
Build = Callable[[AsyncSession, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Submission:
    """Who asks for what: the fields an operation and the deployment it records share."""

    operation_id: str
    service: str
    team: str
    environment: str
    requester: str
    request_key: str | None
    request_fingerprint: str = ""

    def operation(self, kind: str, payload: dict[str, Any]) -> Operation:
        if self.request_fingerprint:
            payload = {**payload, FINGERPRINT: self.request_fingerprint}
        return Operation(
            id=self.operation_id,
            kind=kind,
            service=self.service,
            team=self.team,
            environment=self.environment,
            requester=self.requester,
            request_key=self.request_key,
            payload=payload,
        )

    def deployment(
        self, deployment_id: str, *, version: str, image: str, workflow: str, plan: dict[str, Any]
    ) -> Deployment:
        return Deployment(
            id=deployment_id,
            service=self.service,
            environment=self.environment,
            version=version,
            image=image,
            requester=self.requester,
            workflow=workflow,
            operation_id=self.operation_id,
            plan=plan,
        )


FINGERPRINT = "request_fingerprint"


def request_key(kind: str, request_id: str) -> str | None:
    """The idempotency key of a request: its kind and request id (none without a request id)."""
    return f"{kind}:{request_id}" if request_id else None


def request_fingerprint(kind: str, requester: str, **fields: Any) -> str:
    """A digest of what a request asks for and who asks, telling a retry from a different request."""
    canonical = json.dumps(
        {"kind": kind, "requester": requester, **fields}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


#: Every kind of operation a request id can start: one request id names one request, whatever its kind.
_KINDS = (
    steps.PROVISION,
    steps.DEPLOY,
    steps.ROLLBACK,
    steps.DEPROVISION,
    steps.UPDATE_INSTANCE_TYPE,
    steps.PROMOTE,
    steps.OPTIMIZE_RESOURCES,
    steps.TEMPLATE_UPGRADE,
    steps.UPGRADE_ROLLBACK,
)


def _request_id_of(request_key: str) -> str:
    kind = next(kind for kind in _KINDS if request_key.startswith(f"{kind}:"))
    return request_key.removeprefix(f"{kind}:")


async def _recorded(session: AsyncSession, request_key: str, fingerprint: str) -> Operation | None:
    """The operation recorded for ``request_key``; refuses the request when its id was used for another
    kind of operation, or for this kind with another fingerprint."""
    request_id = _request_id_of(request_key)
    rows = await store.operations_by_request_keys(
        session=session, request_keys=[f"{kind}:{request_id}" for kind in _KINDS]
    )
    for row in rows:
        recorded = (row.payload or {}).get(FINGERPRINT)
        # Operations recorded before fingerprints existed match a request of their kind, as they always did.
        if row.request_key != request_key or (fingerprint and recorded and recorded != fingerprint):
            raise AlreadyExists(
                f"request_id {request_id!r} was already used for a different request; "
                "send a new request_id for a new request",
                reason=Reason.REQUEST_ID_REUSED,
                metadata={"request_id": request_id},
            )
    return rows[0] if rows else None


class Submitter(QuotaAdmin, OperationAdmin):
    """Runs a submission's build in one transaction, at most once per request id."""

    async def _existing(self, request_key: str | None, fingerprint: str) -> OperationView | None:
        if request_key is None:
            return None
        async with self.sessions() as session:
            operation = await _recorded(session, request_key, fingerprint)
            if operation is None:
                return None
            return OperationView(operation, await store.steps_of(session=session, operation_id=operation.id))

    async def _submit(self, request_key: str | None, fingerprint: str, build: Build) -> OperationView:
        existing = await self._existing(request_key, fingerprint)
        if existing is not None:
            return existing
        operation_id = uuid.uuid4().hex
        try:
            async with self.sessions() as session, session.begin():
                earlier = await build(session, operation_id)
            if earlier is not None:
                return await self.get_operation(earlier)
        except IntegrityError:
            # A concurrent call with the same request id won the race: answer with its operation.
            existing = await self._existing(request_key, fingerprint)
            if existing is None:
                raise
            return existing
        self.on_submit()
        view = await self.get_operation(operation_id)
        return view

    async def _earlier(self, session: AsyncSession, request_key: str | None, fingerprint: str) -> str | None:
        """The operation an earlier call with the same request id created (seen under the team lock)."""
        if request_key is None:
            return None
        operation = await _recorded(session, request_key, fingerprint)
        return operation.id if operation is not None else None

    async def _claim_active_service(
        self,
        session: AsyncSession,
        service: str,
        request_key: str | None,
        fingerprint: str,
        environment: str = "",
    ) -> str | ProvisionedService:
        """Lock the service's team, then: the id of an earlier operation with the same request id, or the
        service in ``environment`` (by default the one it was first provisioned in) when it is active there
        (NOT_FOUND or FAILED_PRECONDITION otherwise)."""
        probe = await store.get_service(session=session, name=service)
        if probe is not None:
            await store.lock_team(session=session, team=probe.team)
        if (earlier := await self._earlier(session, request_key, fingerprint)) is not None:
            return earlier
        return await self._active_service(session, service, environment)

    async def _active_service(
        self, session: AsyncSession, service: str, environment: str = ""
    ) -> ProvisionedService:
        record = await store.get_service(session=session, name=service, environment=environment)
        where = f" in {environment}" if environment else ""
        if record is None or record.state == "deleted":
            if environment and await store.get_service(session=session, name=service) is not None:
                raise NotFound(
                    f"services/{service} does not run in {environment}",
                    reason="ENVIRONMENT_NOT_FOUND",
                    metadata={"service": service, "environment": environment},
                )
            raise NotFound(f"services/{service} was not provisioned here", metadata={"service": service})
        if record.state != "active":
            raise FailedPrecondition(
                f"services/{service} is {record.state}{where}, not active",
                [PreconditionViolation("STATE", f"services/{service}", f"service is {record.state}{where}")],
                reason="SERVICE_NOT_ACTIVE",
            )
        return record

    async def _no_running_operation(self, session: AsyncSession, service: str, environment: str = "") -> None:
        running = await store.list_operations(
            session=session, service=service, done=False, offset=0, limit=1, environment=environment or None
        )
        if running:
            raise FailedPrecondition(
                f"operations/{running[0].id} is still running for services/{service}",
                [PreconditionViolation("CONCURRENCY", f"services/{service}", "another operation is running")],
                reason="OPERATION_IN_PROGRESS",
            )
