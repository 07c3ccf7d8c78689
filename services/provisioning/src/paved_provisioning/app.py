"""Wiring: the provisioner, the servicers, the GitOps repository and the worker, built from settings."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from google.longrunning import operations_pb2, operations_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from paved_kit import migrations
from paved_kit.db import create_engine, is_postgres, is_sqlite, session_factory
from paved_kit.logging import get_logger
from paved_kit.server import GrpcServer
from paved_kit.service import BuildPart, BuildResult
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_provisioning.auto_optimizer import AutoOptimizer
from paved_provisioning.engine import OperationRunner
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.handlers import Toolkit
from paved_provisioning.migrations import MIGRATIONS
from paved_provisioning.notifications import listen
from paved_provisioning.operations_servicer import OperationsServicer
from paved_provisioning.peers import Peers
from paved_provisioning.provisioner import Provisioner
from paved_provisioning.servicer import ProvisioningServicer
from paved_provisioning.settings import ProvisioningSettings
from paved_provisioning.worker import Worker

_log = get_logger(__name__)

PROVISIONING_SERVICE = provisioning_pb2.DESCRIPTOR.services_by_name["ProvisioningService"].full_name
OPERATIONS_SERVICE = operations_pb2.DESCRIPTOR.services_by_name["Operations"].full_name


async def prepare_schema(engine: AsyncEngine, *, migrate: bool = True) -> None:
    """Bring the schema to head (``migrate``) or check it is there; safe with several processes at once."""
    await migrations.prepare_schema(engine, MIGRATIONS, migrate=migrate)


@dataclass
class Components:
    """Everything a server or worker process runs."""

    provisioner: Provisioner
    worker: Worker
    peers: Peers
    repo: GitOpsRepository
    auto_optimizer: AutoOptimizer

    async def close(self) -> None:
        """Close the peer channels and the GitOps repository."""
        await self.peers.close()
        self.repo.close()


def build_components(
    settings: ProvisioningSettings, engine: AsyncEngine, *, worker_name: str | None = None
) -> Components:
    sessions = session_factory(engine)
    repo = GitOpsRepository(
        settings.gitops_repository,
        branch=settings.gitops_branch,
        author=settings.gitops_author,
        remote_url=settings.gitops_remote_url.get_secret_value() if settings.gitops_remote_url else None,
    )
    repo.ensure()
    peers = Peers(settings)
    provisioner = Provisioner(settings, sessions)
    provisioner.environment_source = peers.list_environments
    provisioner.repo = repo
    tools = Toolkit(
        settings=settings,
        repo=repo,
        peers=peers,
        history=provisioner.deployment_history,
        approvals=provisioner.approval_of,
        record_upgrade=provisioner.record_upgrade,
        progress=provisioner.step_progress,
    )
    runner = OperationRunner(sessions, tools)

    async def listen_for_work(wake: Callable[[], None]) -> None:
        await listen(engine, wake, retry_seconds=settings.lease_seconds)

    worker = Worker(
        sessions,
        runner,
        concurrency=settings.worker_concurrency,
        lease_seconds=settings.lease_seconds,
        heartbeat_seconds=settings.heartbeat_seconds,
        poll_interval=settings.poll_interval_seconds,
        name=worker_name,
        listen=listen_for_work if is_postgres(engine) else None,
    )
    provisioner.on_submit = worker.wake
    return Components(provisioner, worker, peers, repo, AutoOptimizer(settings, sessions, peers, provisioner))


def register(server: GrpcServer, provisioner: Provisioner) -> None:
    server.add_servicer(
        provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
        ProvisioningServicer(provisioner),
        PROVISIONING_SERVICE,
    )
    server.add_servicer(
        operations_pb2_grpc.add_OperationsServicer_to_server,
        OperationsServicer(provisioner),
        OPERATIONS_SERVICE,
    )


async def build(settings: ProvisioningSettings, engine: AsyncEngine, server: GrpcServer) -> BuildResult:
    """``run_service`` hook: schema, servicers, and the in-process worker unless turned off."""
    await prepare_schema(engine, migrate=settings.migrate_on_start)
    parts = build_components(settings, engine)
    register(server, parts.provisioner)
    result: list[BuildPart] = [parts.close]
    if settings.run_worker:
        result.append(asyncio.create_task(parts.worker.run(), name="provisioning-worker"))
    if settings.auto_optimize_services:
        result.append(asyncio.create_task(parts.auto_optimizer.run(), name="auto-optimizer"))
    return result


async def run_worker_process(settings: ProvisioningSettings) -> int:
    """A worker on its own (``python -m paved_provisioning worker``) until SIGTERM/SIGINT."""
    # Each running operation holds a session at its step boundaries, beside the claim and the heartbeat.
    engine = create_engine(settings.database_url, concurrency=settings.worker_concurrency)
    try:
        await prepare_schema(engine, migrate=settings.migrate_on_start)
        if is_sqlite(engine):
            _log.warning("SQLite runs one worker: do not start another worker on this database")
        parts = build_components(settings, engine)
        task = asyncio.create_task(parts.worker.run(), name="provisioning-worker")
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with suppress(asyncio.CancelledError):
            await task
        await parts.close()
    finally:
        await engine.dispose()
    return 0
