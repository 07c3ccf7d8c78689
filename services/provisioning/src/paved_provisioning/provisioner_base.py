"""What every part of the provisioning API shares: its settings, its database sessions, the worker's wake-up
call, and the views it answers with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import quotas
from paved_provisioning.models import Deployment, Operation, OperationStep
from paved_provisioning.settings import ProvisioningSettings


@dataclass(frozen=True)
class QuotaView:
    """A team's limits and usage."""

    team: str
    limits: quotas.Limits
    usage: quotas.Usage


@dataclass(frozen=True)
class OperationView:
    """An operation with its steps."""

    operation: Operation
    steps: list[OperationStep]
    deployment: Deployment | None = None


class ProvisionerBase:
    """Settings, sessions and the worker's wake-up call, shared by the parts of :class:`Provisioner`."""

    def __init__(
        self,
        settings: ProvisioningSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_submit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.on_submit = on_submit or (lambda: None)
