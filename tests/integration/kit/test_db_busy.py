"""SQLite "database is locked" is a retryable UNAVAILABLE, never INTERNAL: Paved's channels retry it
with backoff and succeed once the other writer lets go of the lock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import struct_pb2
from paved_kit import db
from paved_kit.client import create_channel
from paved_kit.db import create_engine, is_database_busy
from paved_kit.grpc_errors import error_details
from paved_kit.server import GrpcServer
from paved_kit.testing import GrpcServerFactory
from sqlalchemy import text

SERVICE = "paved.test.v1.CounterService"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # A short busy timeout keeps the test fast; the behaviour is the same with the default 5 s.
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "counter.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE hit (id INTEGER PRIMARY KEY)")
    yield path


async def counter_server(grpc_server_factory: GrpcServerFactory, path: Path) -> GrpcServer:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")

    async def hit(request: struct_pb2.Struct, context: grpc.aio.ServicerContext) -> struct_pb2.Struct:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO hit DEFAULT VALUES"))
            count = (await connection.execute(text("SELECT count(*) FROM hit"))).scalar_one()
        reply = struct_pb2.Struct()
        reply.update({"count": count})
        return reply

    def register(server: GrpcServer) -> None:
        server.add_method_handlers(
            SERVICE,
            {
                "Hit": grpc.unary_unary_rpc_method_handler(
                    hit,
                    request_deserializer=struct_pb2.Struct.FromString,
                    response_serializer=struct_pb2.Struct.SerializeToString,
                )
            },
        )

    return await grpc_server_factory(register, name="counter")


def locked(path: Path) -> sqlite3.Connection:
    """Another writer holding the database's write lock until closed."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def hit(channel: grpc.aio.Channel) -> Any:
    return channel.unary_unary(
        f"/{SERVICE}/Hit",
        request_serializer=struct_pb2.Struct.SerializeToString,
        response_deserializer=struct_pb2.Struct.FromString,
    )(struct_pb2.Struct(), timeout=10)


async def test_a_locked_database_answers_unavailable_not_internal(
    grpc_server_factory: GrpcServerFactory, database: Path
) -> None:
    server = await counter_server(grpc_server_factory, database)
    holder = locked(database)
    try:
        async with create_channel(server.address, retry=False) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await hit(channel)
    finally:
        holder.close()
    details = error_details(error.value)
    assert details.code == grpc.StatusCode.UNAVAILABLE
    assert (details.reason, details.message) == ("DATABASE_BUSY", "the database is busy; retry shortly")


async def test_paved_channels_retry_until_the_lock_is_released(
    grpc_server_factory: GrpcServerFactory, database: Path
) -> None:
    server = await counter_server(grpc_server_factory, database)
    holder = locked(database)
    loop = asyncio.get_running_loop()
    loop.call_later(0.4, holder.close)
    async with create_channel(server.address) as channel:
        reply = await hit(channel)
    assert reply["count"] == 1


def test_busy_errors_are_recognised_through_sqlalchemy_wrappers() -> None:
    from sqlalchemy.exc import OperationalError

    wrapped = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_database_busy(wrapped)
    assert not is_database_busy(OperationalError("INSERT", {}, sqlite3.OperationalError("no such table")))
    assert not is_database_busy(RuntimeError("database is locked"))
