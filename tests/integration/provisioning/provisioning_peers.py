"""The real catalog, alerting and cost services, started in-process on SQLite for provisioning's tests and
benchmark (each with its own database, as in production)."""

from __future__ import annotations

import asyncio
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import struct_pb2
from google.type import money_pb2
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_kit.db import create_engine
from paved_kit.server import GrpcServer
from sqlalchemy.ext.asyncio import AsyncEngine

SERVICES = {
    "catalog": ("paved_catalog.settings", "CatalogSettings"),
    "alerting": ("paved_alerting.settings", "AlertingSettings"),
    "cost": ("paved_cost.settings", "CostSettings"),
}
# Started only for the tests that need them (automatic rightsizing's guardrails).
OPTIONAL = {"policy": ("paved_policy.settings", "PolicySettings")}


@dataclass
class RealPeers:
    """Running servers, by service name."""

    servers: dict[str, GrpcServer] = field(default_factory=dict)
    engines: list[AsyncEngine] = field(default_factory=list)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    cleanups: list[Any] = field(default_factory=list)

    def address(self, name: str) -> str:
        return self.servers[name].address

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop(grace=0)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for cleanup in reversed(self.cleanups):
            await cleanup()
        for engine in self.engines:
            await engine.dispose()


async def start_real_peers(
    directory: Path, *, also: tuple[str, ...] = (), **overrides: dict[str, Any]
) -> RealPeers:
    """Start catalog, alerting and cost (and the ``also`` of :data:`OPTIONAL`) on 127.0.0.1 (free ports)
    with SQLite files under ``directory``."""
    peers = RealPeers()
    for name, (module_name, class_name) in {**SERVICES, **{n: OPTIONAL[n] for n in also}}.items():
        settings_cls = getattr(importlib.import_module(module_name), class_name)
        values = {
            "host": "127.0.0.1",
            "port": 0,
            "grace_period_seconds": 0,
            "database_url": f"sqlite+aiosqlite:///{directory / f'{name}.db'}",
            **overrides.get(name, {}),
        }
        settings = settings_cls(**values)
        engine = create_engine(settings.database_url)
        server = GrpcServer(settings, name)
        main = importlib.import_module(f"paved_{name}.__main__")
        result = await main.build(settings, engine, server)
        parts = [] if result is None else list(result) if isinstance(result, (list, tuple)) else [result]
        for part in parts:
            (peers.tasks if isinstance(part, asyncio.Task) else peers.cleanups).append(part)
        await server.start()
        peers.servers[name] = server
        peers.engines.append(engine)
    return peers


async def provision_checkout(
    h: Any, catalog: catalog_pb2_grpc.CatalogServiceStub, request_id: str
) -> operations_pb2.Operation:
    """Render the web-service golden path for payments' ``checkout`` in staging with the real catalog and
    provision it through ``h``; the finished operation."""
    parameters = struct_pb2.Struct()
    parameters.update({"service_name": "checkout", "team": "payments", "language": "python"})
    rendered = await catalog.RenderTemplate(
        catalog_pb2.RenderTemplateRequest(
            template="templates/web-service",
            parameters=parameters,
            context=catalog_pb2.RenderContext(
                service_name="checkout", team="payments", environment="staging"
            ),
        )
    )
    operation = await h.stub.ProvisionService(
        pb.ProvisionServiceRequest(
            plan=rendered.plan,
            estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=420),
            request_id=request_id,
            requester="alice",
        )
    )
    return await h.wait(operation.name)
