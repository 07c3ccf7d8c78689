"""Database plumbing: one SQLModel base per service, async engines for SQLite and PostgreSQL, sessions.

Each service declares its own base so its tables live in its own MetaData::

    class CatalogModel(SQLModel, registry=new_registry()):
        '''Base of the catalog's tables.'''

    class Template(CatalogModel, table=True): ...

    await create_schema(engine, CatalogModel.metadata)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_kit.database_busy import is_database_busy as is_database_busy  # re-exported

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SqliteInsert

SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10
POSTGRES_SPARE_CONNECTIONS = 4
# A pooled connection idle longer than this is pinged before use; one given back more recently is not.
POSTGRES_PING_IDLE_SECONDS = 10.0


def new_registry() -> registry:
    """A fresh SQLAlchemy registry (with its own MetaData) for a service's SQLModel base class."""
    return registry()


def model_registry(name: str = "Base") -> tuple[type[SQLModel], MetaData]:
    """A new SQLModel base class with its own MetaData, and that MetaData.

    Handy for tests and scripts; for typed code prefer ``class Base(SQLModel, registry=new_registry())``,
    which type checkers accept as a base class.
    """
    reg = new_registry()
    base: type[SQLModel] = type(name, (SQLModel,), {"__module__": __name__}, registry=reg)
    return base, reg.metadata


def normalize_url(url: str) -> URL:
    """The URL with an async driver: ``sqlite://`` → ``sqlite+aiosqlite://``,
    ``postgresql://`` / ``postgres://`` → ``postgresql+asyncpg://``."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(
            f"unsupported database URL scheme {parsed.drivername!r}: "
            "use sqlite+aiosqlite or postgresql+asyncpg"
        )
    return parsed


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers proceed while one writer commits; busy_timeout waits for the lock instead
        # of failing at once; SQLite enforces foreign keys only when asked.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _mark_returned(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat idle in the pool; a dead one is replaced by the pool (it retries the
    checkout on ``DisconnectionError``).

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: on asyncpg that is three round trips (BEGIN,
    an empty query, ROLLBACK) before each transaction, as many as a short transaction's own. Connections
    die while idle (a server restart, an idle timeout on the way); one in use a moment ago is alive, and
    if it died since, the transaction fails as it would have just after a ping.
    """
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < POSTGRES_PING_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise exc.DisconnectionError(f"pooled connection is gone: {type(error).__name__}") from error


def create_engine(url: str, *, concurrency: int = 0, **kwargs: Any) -> AsyncEngine:
    """An async engine for ``url``, tuned per backend; extra ``kwargs`` go to SQLAlchemy.

    SQLite: creates the file's directory, WAL, foreign keys on, busy timeout. PostgreSQL (asyncpg): a
    bounded pool with pre-ping, so connections dropped by the server are replaced transparently, holding
    at least ``concurrency`` connections (sessions the caller keeps open at once) plus a few spare: an
    overflow connection is closed when given back, and the next one pays the connection set-up again
    (authentication, type introspection) and starts with an empty prepared-statement cache.
    """
    parsed = normalize_url(url)
    if parsed.drivername.startswith("sqlite"):
        if _is_memory(parsed):
            # One shared connection, or every session would see its own empty in-memory database.
            kwargs.setdefault("poolclass", StaticPool)
            kwargs.setdefault("connect_args", {"check_same_thread": False})
        else:
            assert parsed.database is not None
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, **kwargs)
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine
    kwargs.setdefault("pool_size", max(POSTGRES_POOL_SIZE, concurrency + POSTGRES_SPARE_CONNECTIONS))
    kwargs.setdefault("max_overflow", POSTGRES_MAX_OVERFLOW)
    kwargs.setdefault("pool_recycle", 1800)
    engine = create_async_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkin", _mark_returned)
        event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def is_postgres(engine: AsyncEngine) -> bool:
    """Whether the engine talks to PostgreSQL (for the few queries that differ, e.g. SKIP LOCKED)."""
    return engine.dialect.name == "postgresql"


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def insert_on_conflict(dialect_name: str, table: Any) -> PostgresInsert | SqliteInsert:
    """``INSERT`` into ``table`` with the ``ON CONFLICT`` clauses of ``dialect_name`` (PostgreSQL, SQLite)."""
    # Imported on first use: a dialect's package loads all of its drivers (~40 ms of start-up for
    # PostgreSQL's), and a process only ever talks to one database.
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions bound to ``engine``; objects stay readable after commit (``expire_on_commit=False``)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create the tables of ``metadata`` that do not exist yet (and only those of ``metadata``)."""
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
