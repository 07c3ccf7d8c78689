"""A service's changes, read from provisioning's operations over gRPC (the standard
``google.longrunning.Operations`` service it serves): the evidence for an anomaly's likely cause."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.client import LazyChannel
from paved_kit.logging import get_logger

from paved_alerting.changes import OPERATION_KINDS, Change
from paved_alerting.settings import AlertingSettings

_log = get_logger(__name__)
PAGE_SIZE = 200
MAX_PAGES = 10  # 2,000 operations back is far beyond any anomaly window


class ChangesUnavailable(Exception):
    """Provisioning could not be asked (not configured, or did not answer)."""


class ChangeLog:
    """Reads changes of a service from provisioning; off when no provisioning address is configured."""

    def __init__(self, settings: AlertingSettings) -> None:
        self._settings = settings
        self._channel = LazyChannel(settings.provisioning_address, settings)

    @property
    def enabled(self) -> bool:
        return bool(self._settings.provisioning_address)

    async def changes_of(self, service: str, since: float) -> list[Change]:
        """Changes of ``service`` that took effect at or after ``since``, newest first."""
        if not self.enabled:
            raise ChangesUnavailable(
                "no provisioning address is configured (PAVED_ALERTING_PROVISIONING_ADDRESS)"
            )
        stub = operations_pb2_grpc.OperationsStub(self._channel.get())
        changes: list[Change] = []
        token = ""
        for _ in range(MAX_PAGES):
            try:
                reply = await stub.ListOperations(
                    operations_pb2.ListOperationsRequest(
                        name="operations",
                        filter=f'service = "{service}"',
                        page_size=PAGE_SIZE,
                        page_token=token,
                    ),
                    timeout=self._settings.provisioning_timeout_seconds,
                )
            except grpc.aio.AioRpcError as err:
                _log.warning(
                    "could not read changes from provisioning", service_name=service, code=err.code().name
                )
                raise ChangesUnavailable(f"provisioning did not answer ({err.code().name})") from None
            oldest = None
            for operation in reply.operations:
                change = _change_of(operation)
                if change is None:
                    continue
                oldest = change.time if oldest is None else min(oldest, change.time)
                if change.time >= since:
                    changes.append(change)
            token = reply.next_page_token
            # Operations come newest first (by creation): a page ending before ``since`` is the last needed.
            if not token or (oldest is not None and oldest < since):
                break
        return sorted(changes, key=lambda change: -change.time)

    async def close(self) -> None:
        await self._channel.close()


def _change_of(operation: operations_pb2.Operation) -> Change | None:
    metadata = provisioning_pb2.OperationMetadata()
    if not operation.metadata.Unpack(metadata):
        return None
    kind = OPERATION_KINDS.get(metadata.kind)
    if kind is None:
        return None
    effective = metadata.end_time if metadata.HasField("end_time") else metadata.create_time
    if not operation.done:
        state = "running"
    elif operation.HasField("error"):
        state = "failed"
    else:
        state = "succeeded"
    return Change(
        kind=kind,
        operation=operation.name,
        time=effective.seconds + effective.nanos / 1e9,
        environment=metadata.environment,
        state=state,
        requester=metadata.requester,
    )
