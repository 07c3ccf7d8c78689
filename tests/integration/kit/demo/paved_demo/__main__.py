"""A tiny service run through run_service, as a service's __main__ would, for the start/stop tests."""

from __future__ import annotations

import asyncio
import gc

import grpc
from paved_kit.db import create_schema, new_registry
from paved_kit.logging import get_logger
from paved_kit.server import GrpcServer
from paved_kit.service import BuildResult, run_service
from paved_kit.settings import BaseServiceSettings
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel

log = get_logger(__name__)


class DemoSettings(BaseServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAVED_DEMO_")

    port: int = 50999
    other_address: str = "127.0.0.1:50051"


class DemoModel(SQLModel, registry=new_registry()):
    """Base of the demo service's tables."""


class Note(DemoModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str


async def ping(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    return b"pong"


async def build(settings: DemoSettings, engine: AsyncEngine, server: GrpcServer) -> BuildResult:
    await create_schema(engine, DemoModel.metadata)
    server.add_method_handlers(
        "paved.demo.v1.DemoService", {"Ping": grpc.unary_unary_rpc_method_handler(ping)}
    )

    async def heartbeat() -> None:
        await asyncio.Event().wait()

    async def cleanup() -> None:
        # Objects start-up left behind that serving moved out of the collector's sight (see run_service).
        log.info("demo cleanup ran", frozen_objects=gc.get_freeze_count())

    return [asyncio.create_task(heartbeat()), cleanup]


if __name__ == "__main__":
    run_service("demo", DemoSettings, build)
