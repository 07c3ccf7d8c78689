"""Test harness: a real provisioning server (with its worker) on a fresh database and GitOps repository,
talking over real gRPC to catalog, alerting and cost servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import yaml
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2
from google.type import money_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved.provisioning.v1 import provisioning_pb2_grpc
from paved_kit.server import GrpcServer
from paved_provisioning.app import Components
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.settings import ProvisioningSettings
from provisioning_fakes import FakePeers
from provisioning_plans import plan
from sqlalchemy.ext.asyncio import AsyncEngine

FAST = {
    "step_backoff_seconds": 0.05,
    "step_backoff_max_seconds": 0.2,
    "poll_interval_seconds": 0.05,
    "lease_seconds": 2.0,
    "heartbeat_seconds": 0.5,
}


@dataclass
class Harness:
    """A running provisioning service and what it talks to."""

    settings: ProvisioningSettings
    engine: AsyncEngine
    parts: Components
    server: GrpcServer
    peers: FakePeers
    stub: provisioning_pb2_grpc.ProvisioningServiceStub
    ops: operations_pb2_grpc.OperationsStub
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def repo(self) -> GitOpsRepository:
        return self.parts.repo

    async def provision(
        self,
        service: str = "orders",
        team: str = "payments",
        *,
        request_id: str = "",
        cost: float = 100.0,
        **plan_kwargs: Any,
    ) -> operations_pb2.Operation:
        return await self.stub.ProvisionService(
            pb.ProvisionServiceRequest(
                plan=plan(service, team, **plan_kwargs),
                estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=int(cost)),
                request_id=request_id,
                requester="alice",
            )
        )

    async def wait(self, name: str, within: float = 30.0) -> operations_pb2.Operation:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            op = await self.ops.WaitOperation(
                operations_pb2.WaitOperationRequest(name=name, timeout=duration_pb2.Duration(seconds=5))
            )
            if op.done or asyncio.get_running_loop().time() > deadline:
                return op

    def start_worker(self) -> None:
        self.tasks.append(asyncio.create_task(self.parts.worker.run()))


def committed_document(h: Harness, directory: str, kind: str, name: str | None = None) -> dict[str, Any]:
    """The manifest of ``kind`` (and ``name``, when given) committed under ``directory``."""
    for path in h.repo.list_files(directory):
        if not path.endswith((".yaml", ".yml")):
            continue
        for document in yaml.safe_load_all(h.repo.read_file(path) or b""):
            if (
                isinstance(document, dict)
                and document.get("kind") == kind
                and (name is None or document["metadata"]["name"] == name)
            ):
                return document
    raise AssertionError(f"no {kind} {name or ''} committed under {directory}")


def metadata(op: operations_pb2.Operation) -> pb.OperationMetadata:
    meta = pb.OperationMetadata()
    op.metadata.Unpack(meta)
    return meta


def steps(op: operations_pb2.Operation) -> dict[str, pb.Step]:
    return {s.name: s for s in metadata(op).steps}


HarnessFactory = Callable[..., Awaitable[Harness]]


def rpc_code(exc: grpc.aio.AioRpcError) -> grpc.StatusCode:
    return exc.code()
