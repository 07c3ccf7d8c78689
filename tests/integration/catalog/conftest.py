"""A real catalog gRPC server over a fresh database (SQLite and PostgreSQL) for each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import pytest_asyncio
from paved.catalog.v1 import catalog_pb2_grpc
from paved_catalog.__main__ import build_catalog
from paved_catalog.catalog import Catalog
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.registration import add_catalog_servicer_to_server
from paved_catalog.servicer import SERVICE_NAME, CatalogServicer
from paved_catalog.settings import CatalogSettings
from paved_kit.db import create_engine
from paved_kit.grpc_errors import ErrorDetails, error_details
from paved_kit.migrations import prepare_schema
from sqlalchemy.ext.asyncio import AsyncEngine

# The Backstage validators' npm install lives there; nothing to collect, thousands of files to walk.
collect_ignore = ["backstage"]


@dataclass
class CatalogUnderTest:
    stub: catalog_pb2_grpc.CatalogServiceStub
    catalog: Catalog
    engine: AsyncEngine
    address: str


@pytest_asyncio.fixture
async def catalog(
    database_url: str, grpc_server_factory: Any, grpc_channel_factory: Any
) -> AsyncIterator[CatalogUnderTest]:
    engine = create_engine(database_url)
    await prepare_schema(engine, MIGRATIONS, migrate=True)
    settings = CatalogSettings(database_url=database_url, port=0)
    service = build_catalog(settings, engine)
    await service.templates.seed_builtins()
    server = await grpc_server_factory(
        (add_catalog_servicer_to_server, CatalogServicer(service), SERVICE_NAME),
        name="catalog",
    )
    channel = grpc_channel_factory(server)
    try:
        yield CatalogUnderTest(catalog_pb2_grpc.CatalogServiceStub(channel), service, engine, server.address)
    finally:
        await engine.dispose()


async def rpc_error(call: Awaitable[Any]) -> ErrorDetails:
    """Await a call that must fail and return its rich error details."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return error_details(caught.value)


@pytest.fixture
def failing() -> Callable[[Awaitable[Any]], Awaitable[ErrorDetails]]:
    return rpc_error
