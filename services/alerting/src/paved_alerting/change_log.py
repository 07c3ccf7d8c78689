"""A service's changes, read from provisioning over gRPC: its operations (the standard
``google.longrunning.Operations`` service it serves) and, for fleet template upgrades (one operation keyed by
the template, for many services), the service's deployments of the upgrade workflow, which say when this
service was moved and to which revision. The evidence for an anomaly's likely cause."""

from __future__ import annotations

import grpc
from google.longrunning import operations_pb2, operations_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from paved_kit.client import LazyChannel
from paved_kit.logging import get_logger

from paved_alerting.changes import OPERATION_KINDS, TEMPLATE_UPGRADE, Change
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
        changes.extend(await self._upgrades_of(service, since))
        return sorted(changes, key=lambda change: -change.time)

    async def _upgrades_of(self, service: str, since: float) -> list[Change]:
        """The service's parts of fleet template upgrades (and their rollbacks) at or after ``since``."""
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(self._channel.get())
        changes: list[Change] = []
        token = ""
        for _ in range(MAX_PAGES):
            try:
                reply = await stub.ListDeployments(
                    provisioning_pb2.ListDeploymentsRequest(
                        parent=f"services/{service}",
                        filter=f'workflow = "{TEMPLATE_UPGRADE}"',
                        page_size=PAGE_SIZE,
                        page_token=token,
                    ),
                    timeout=self._settings.provisioning_timeout_seconds,
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    return changes
                _log.warning(
                    "could not read upgrades from provisioning", service_name=service, code=err.code().name
                )
                raise ChangesUnavailable(f"provisioning did not answer ({err.code().name})") from None
            page = [_upgrade_of(deployment) for deployment in reply.deployments]
            changes.extend(change for change in page if change.time >= since)
            token = reply.next_page_token
            # Deployments come newest first: a page reaching before ``since`` is the last needed.
            if not token or any(change.time < since for change in page):
                break
        return changes

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


def _upgrade_of(deployment: provisioning_pb2.Deployment) -> Change:
    effective = deployment.end_time if deployment.HasField("end_time") else deployment.start_time
    status = provisioning_pb2.DeploymentStatus.Name(deployment.status)
    return Change(
        kind=TEMPLATE_UPGRADE,
        operation=deployment.operation,
        time=effective.seconds + effective.nanos / 1e9,
        environment=deployment.environment,
        state=status.removeprefix("DEPLOYMENT_STATUS_").lower(),
        requester=deployment.requester,
        template=deployment.template,
        template_revision=deployment.template_revision,
    )
