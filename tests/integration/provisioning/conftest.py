"""Fixtures of provisioning's integration tests (the harness lives in provisioning_harness)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

# Helper modules of this directory have names unique across the test tree, so this path entry cannot
# shadow another directory's modules.
sys.path.insert(0, str(Path(__file__).parent))

from google.longrunning import operations_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2_grpc
from paved_kit.db import create_engine
from paved_provisioning.app import build_components, prepare_schema, register
from paved_provisioning.settings import ProvisioningSettings
from provisioning_fakes import FakePeers
from provisioning_harness import FAST, Harness, HarnessFactory
from provisioning_peers import RealPeers, start_real_peers


@pytest_asyncio.fixture
async def harness_factory(
    database_url: str, tmp_path: Path, grpc_server_factory: Any, grpc_channel_factory: Any
) -> AsyncIterator[HarnessFactory]:
    made: list[Harness] = []

    async def make(*, worker: bool = True, peers: FakePeers | None = None, **overrides: Any) -> Harness:
        peers = peers or FakePeers()
        peer_server = await grpc_server_factory(*peers.registrations(), name="peers")
        values: dict[str, Any] = {
            "port": 0,
            "database_url": database_url,
            "gitops_repository": tmp_path / "gitops.git",
            "catalog_address": peer_server.address,
            "alerting_address": peer_server.address,
            "cost_address": peer_server.address,
            "run_worker": False,
            **FAST,
            **overrides,
        }
        settings = ProvisioningSettings(**values)
        engine = create_engine(settings.database_url)
        await prepare_schema(engine)
        parts = build_components(settings, engine)
        server = await grpc_server_factory(
            lambda s: register(s, parts.provisioner), name="provisioning", settings=settings
        )
        channel = grpc_channel_factory(server)
        harness = Harness(
            settings,
            engine,
            parts,
            server,
            peers,
            provisioning_pb2_grpc.ProvisioningServiceStub(channel),
            operations_pb2_grpc.OperationsStub(channel),
        )
        if worker:
            harness.start_worker()
        made.append(harness)
        return harness

    yield make
    for harness in made:
        for task in harness.tasks:
            task.cancel()
        await asyncio.gather(*harness.tasks, return_exceptions=True)
        await harness.parts.close()
        await harness.engine.dispose()


@pytest_asyncio.fixture
async def real_peers(tmp_path: Path) -> AsyncIterator[RealPeers]:
    """The real catalog, alerting and cost services, each on its own SQLite file."""
    (tmp_path / "peers").mkdir()
    peers = await start_real_peers(tmp_path / "peers")
    yield peers
    await peers.stop()
