"""Pytest plugin (loaded for every test run) with fixtures for databases and real gRPC servers.

Fixtures: ``postgres_server_url`` (session), ``postgres_url``, ``sqlite_url``, ``database_url``
(parametrized over SQLite and PostgreSQL), ``grpc_server_factory`` and ``grpc_channel_factory``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from paved_kit.client import create_channel
from paved_kit.server import AddServicerFn, GrpcServer
from paved_kit.settings import BaseServiceSettings

TEST_DATABASE_URL_ENV = "PAVED_TEST_DATABASE_URL"
POSTGRES_IMAGE = "postgres:16-alpine"
_POSTGRES_HELP = (
    "PostgreSQL tests need PAVED_TEST_DATABASE_URL=postgresql+asyncpg://user@host:5432/postgres "
    "or a running Docker engine"
)


class EphemeralServerSettings(BaseServiceSettings):
    """Settings of servers started by ``grpc_server_factory``: loopback, a free port, no grace period."""

    model_config = SettingsConfigDict(env_prefix="PAVED_EPHEMERAL_TEST_")

    port: int = 0
    grace_period_seconds: float = 0.0


# A registration is (add_fn, servicer, full_service_name) or a callable given the server.
Registration = tuple[AddServicerFn, Any, str] | Callable[[GrpcServer], object]


class GrpcServerFactory(Protocol):
    """Starts a GrpcServer on 127.0.0.1 and a free port; stopped at teardown."""

    def __call__(
        self,
        *registrations: Registration,
        name: str = ...,
        settings: BaseServiceSettings | None = ...,
        **overrides: Any,
    ) -> Awaitable[GrpcServer]: ...


class GrpcChannelFactory(Protocol):
    """Opens a channel (``create_channel``) to a server or address; closed at teardown."""

    def __call__(self, target: GrpcServer | str, **kwargs: Any) -> grpc.aio.Channel: ...


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _unavailable(message: str) -> None:
    # CI must not pass by skipping the PostgreSQL half of the suite.
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """An async SQLAlchemy URL of a PostgreSQL server (its maintenance database), for the whole session."""
    configured = os.environ.get(TEST_DATABASE_URL_ENV)
    if configured:
        yield configured
        return
    if not _docker_answers():
        _unavailable(_POSTGRES_HELP)
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(POSTGRES_IMAGE, driver="asyncpg") as container:
        yield container.get_connection_url()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@pytest_asyncio.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg

    name = f"paved_test_{uuid.uuid4().hex[:16]}"
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        _unavailable(f"{_POSTGRES_HELP}; cannot connect: {exc}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(postgres_server_url), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file under the test's tmp_path."""
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database URL; each test using it runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest_asyncio.fixture
async def grpc_server_factory() -> AsyncIterator[GrpcServerFactory]:
    """``await grpc_server_factory((add_fn, servicer, "pkg.Service"), name="catalog", auth_token="t")``.

    Starts a real GrpcServer on 127.0.0.1 with a free port; keyword overrides are settings fields.
    """
    servers: list[GrpcServer] = []

    async def start(
        *registrations: Registration,
        name: str = "test",
        settings: BaseServiceSettings | None = None,
        **overrides: Any,
    ) -> GrpcServer:
        values: dict[str, Any] = {"host": "127.0.0.1", "port": 0, **overrides}
        if settings is None:
            settings = EphemeralServerSettings(**values)
        else:
            settings = type(settings)(**{**settings.model_dump(), **values})
        server = GrpcServer(settings, name)
        for registration in registrations:
            if isinstance(registration, tuple):
                server.add_servicer(*registration)
            else:
                registration(server)
        await server.start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        await server.stop(grace=0)


@pytest_asyncio.fixture
async def grpc_channel_factory() -> AsyncIterator[GrpcChannelFactory]:
    """``grpc_channel_factory(server_or_address, token=..., ...)``: channels closed at teardown."""
    channels: list[grpc.aio.Channel] = []

    def open_channel(target: GrpcServer | str, **kwargs: Any) -> grpc.aio.Channel:
        address = target.address if isinstance(target, GrpcServer) else target
        channel = create_channel(address, **kwargs)
        channels.append(channel)
        return channel

    yield open_channel
    for channel in channels:
        await channel.close()
