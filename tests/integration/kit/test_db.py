"""The same store code runs on SQLite and PostgreSQL, and each service's tables stay its own."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from paved_kit import db
from paved_kit.db import (
    create_engine,
    create_schema,
    is_postgres,
    model_registry,
    new_registry,
    session_factory,
)
from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession


class TeamsModel(SQLModel, registry=new_registry()):
    """Base of this test's 'teams' service tables."""


class Team(TeamsModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    budget_usd: int = 0


class Member(TeamsModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    email: str


class OtherModel(SQLModel, registry=new_registry()):
    """Base of another service's tables, with a clashing table name."""


class OtherTeam(OtherModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    something_else: str


async def add_team(session: AsyncSession, *, name: str, budget_usd: int) -> Team:
    team = Team(name=name, budget_usd=budget_usd)
    session.add(team)
    await session.flush()
    return team


async def teams_over(session: AsyncSession, *, budget_usd: int) -> list[str]:
    rows = await session.exec(select(Team).where(Team.budget_usd > budget_usd).order_by(col(Team.name)))
    return [team.name for team in rows]


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_store_code_runs_on_both_engines(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await create_schema(engine, TeamsModel.metadata)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            payments = await add_team(session, name="payments", budget_usd=5000)
            await add_team(session, name="search", budget_usd=100)
            session.add(Member(team_id=payments.id, email="ana@example.com"))
        # expire_on_commit=False: objects stay readable after the commit.
        assert payments.name == "payments"
        async with sessions() as session:
            assert await teams_over(session, budget_usd=1000) == ["payments"]

        async with sessions() as session:
            with pytest.raises(IntegrityError):
                async with session.begin():
                    await add_team(session, name="payments", budget_usd=1)
        async with sessions() as session:
            # Foreign keys are enforced on SQLite too.
            with pytest.raises(IntegrityError):
                async with session.begin():
                    session.add(Member(team_id=999, email="ghost@example.com"))
        assert is_postgres(engine) == database_url.startswith("postgresql")
    finally:
        await engine.dispose()


async def test_concurrent_writers_wait_instead_of_failing(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await create_schema(engine, TeamsModel.metadata)
        sessions = session_factory(engine)

        async def write(index: int) -> None:
            async with sessions() as session, session.begin():
                await add_team(session, name=f"team-{index}", budget_usd=index)

        await asyncio.gather(*(write(i) for i in range(20)))
        async with sessions() as session:
            assert len(await teams_over(session, budget_usd=-1)) == 20
    finally:
        await engine.dispose()


async def test_each_registry_creates_only_its_own_tables(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await create_schema(engine, OtherModel.metadata)
        assert await _tables(engine) == {"team"}
        assert "something_else" in OtherTeam.__table__.columns  # type: ignore[attr-defined]
        assert TeamsModel.metadata is not OtherModel.metadata is not SQLModel.metadata
    finally:
        await engine.dispose()


async def test_model_registry_gives_a_fresh_base_and_metadata(sqlite_url: str) -> None:
    base, metadata = model_registry()
    other_base, other_metadata = model_registry()
    assert metadata is not other_metadata
    assert base.metadata is metadata and other_base.metadata is other_metadata
    assert not metadata.tables


async def test_sqlite_directory_is_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/nested/dir/service.db"
    engine = create_engine(url)
    try:
        await create_schema(engine, TeamsModel.metadata)
        async with engine.connect() as connection:
            mode = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        assert mode == "wal"
    finally:
        await engine.dispose()


async def test_pooled_connection_killed_while_idle_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    other = create_engine(postgres_url)

    async def kill_pooled_connection() -> int:
        async with engine.connect() as connection:
            pid = int((await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one())
        async with other.connect() as killer:
            await killer.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        return pid

    try:
        await kill_pooled_connection()
        # Given back a moment ago, so not pinged: the dead connection is handed out and the query fails
        # (as it would have if the server had dropped it just after a ping).
        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.exec_driver_sql("SELECT 1")
        pid = await kill_pooled_connection()
        # Idle past the threshold: pinged, found dead and replaced before the caller sees it.
        monkeypatch.setattr(db, "POSTGRES_PING_IDLE_SECONDS", 0.0)
        async with engine.connect() as connection:
            assert (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        await engine.dispose()
        await other.dispose()
