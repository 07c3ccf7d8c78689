"""Alembic schema migrations for a service's own tables, configured in code (no ``alembic.ini``).

A service keeps its Alembic environment inside its package and describes it once::

    MIGRATIONS = Migrations(
        script_location=Path(__file__).parent,      # env.py, script.py.mako, versions/
        version_table="alembic_version_catalog",    # per service, so services may share a database
        metadata=CatalogModel.metadata,
    )

Its ``env.py`` is one call, ``run_environment(MIGRATIONS)``. The service's start-up calls
``prepare_schema(engine, MIGRATIONS, migrate=settings.migrate_on_start)``; ``python -m paved_<name>
migrate`` calls ``upgrade``/``downgrade`` (see ``paved_kit.service``).
"""

from __future__ import annotations

import ast
import asyncio
import logging
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import MetaData, column, inspect, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.sql.sqltypes import AutoString

from paved_kit.db import create_engine
from paved_kit.logging import get_logger

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.config import Config

T = TypeVar("T")
_log = get_logger(__name__)

_CONNECTION = "paved.connection"
_MIGRATIONS = "paved.migrations"


class SchemaError(RuntimeError):
    """The database's schema is not one this code can serve: the message says what to do."""


@dataclass(frozen=True)
class Migrations:
    """Where a service's migration scripts live and which tables they own."""

    script_location: Path
    version_table: str
    metadata: MetaData

    def config(self, connection: Connection | None = None) -> Config:
        """An Alembic ``Config`` for these scripts; ``connection`` is what ``env.py`` runs on."""
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        config.attributes[_MIGRATIONS] = self
        if connection is not None:
            config.attributes[_CONNECTION] = connection
        return config

    def head(self) -> str | None:
        """The newest revision of the scripts (Alembic decides when the history is not one line)."""
        declared = _declared_revisions(self.script_location / "versions")
        if declared is not None:
            named_as_parent = {parent for parents in declared.values() for parent in parents}
            heads = [revision for revision in declared if revision not in named_as_parent]
            if len(heads) <= 1:
                return heads[0] if heads else None
        return self.alembic_head()

    def alembic_head(self) -> str | None:
        """The newest revision as Alembic's script directory computes it."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self.config()).get_current_head()

    def advisory_lock_key(self) -> int:
        """The PostgreSQL advisory lock held while migrating (one per version table)."""
        return zlib.crc32(self.version_table.encode())

    def owns_table(self, name: str | None) -> bool:
        """Whether ``name`` is one of this service's tables (others may share the database)."""
        return name in self.metadata.tables


def _declared_revisions(versions: Path) -> dict[str, tuple[str, ...]] | None:
    """Each script's ``revision`` and its ``down_revision`` parents, read without running the scripts;
    None when a script declares them in a way only Alembic can read."""
    declared: dict[str, tuple[str, ...]] = {}
    for path in sorted(versions.glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and value:
                try:
                    values[target.id] = ast.literal_eval(value)
                except ValueError:
                    return None
        revision, parents = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str) or "down_revision" not in values:
            return None
        if parents is None:
            parents = ()
        elif isinstance(parents, str):
            parents = (parents,)
        elif not (isinstance(parents, tuple | list) and all(isinstance(p, str) for p in parents)):
            return None
        declared[revision] = tuple(parents)
    return declared


# --- env.py ---------------------------------------------------------------------------------------------


def _include_name(migrations: Migrations) -> Callable[[str | None, str, Any], bool]:
    def include_name(name: str | None, type_: str, _parent_names: Any) -> bool:
        # Another service's tables in a shared database are none of ours: never drop or diff them.
        return migrations.owns_table(name) if type_ == "table" else True

    return include_name


def _render_item(type_: str, obj: Any, context: AutogenContext) -> str | bool:
    if type_ != "type":
        return False
    # SQLModel's AutoString is a plain String underneath; rendering it so keeps scripts free of sqlmodel.
    if isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    module = type(obj).__module__
    if not module.startswith("sqlalchemy"):
        # A service's own column type (e.g. a TypeDecorator) renders as module.Name(): import it.
        context.imports.add(f"import {module}")
    return False


def _configure(context: Any, migrations: Migrations, connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=migrations.metadata,
        version_table=migrations.version_table,
        # SQLite alters a table by copying it; batch mode writes scripts that do so.
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_include_name(migrations),
        render_item=_render_item,
        compare_type=True,
    )


def run_environment(migrations: Migrations) -> None:
    """The body of a service's ``env.py``: run the migrations on the connection ``paved_kit`` passed in."""
    from alembic import context

    connection = context.config.attributes.get(_CONNECTION)
    if connection is None:
        raise SchemaError("run migrations through paved_kit.migrations (or `python -m paved_<name> migrate`)")
    _configure(context, migrations, connection)
    with context.begin_transaction():
        context.run_migrations()


# --- running ----------------------------------------------------------------------------------------------


@asynccontextmanager
async def _engine(target: AsyncEngine | str) -> Any:
    if isinstance(target, AsyncEngine):
        yield target
        return
    engine = create_engine(target)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _locked(connection: AsyncConnection, migrations: Migrations) -> None:
    # Replicas starting together would otherwise race to create the same tables; the lock is per
    # version table, so services sharing one PostgreSQL database do not wait for each other.
    if connection.dialect.name == "postgresql":
        key = migrations.advisory_lock_key()
        await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


_loop_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _process_lock() -> asyncio.Lock:
    # Alembic runs env.py through module-global proxies (alembic.context, alembic.op): two migrations in
    # one process at once (in-process test suites, several services in one loop) would trample each other.
    loop = asyncio.get_running_loop()
    lock = _loop_locks.get(loop)
    if lock is None:
        lock = _loop_locks[loop] = asyncio.Lock()
    return lock


@contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic narrates every context and plugin at INFO; one line of ours says what happened. Its
    # narration stays available at DEBUG.
    logger = logging.getLogger("alembic")
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _run(target: AsyncEngine | str, migrations: Migrations, work: Callable[[Connection], T]) -> T:
    async with _process_lock(), _engine(target) as engine, engine.begin() as connection:
        await _locked(connection, migrations)
        with _quiet_alembic():
            return await connection.run_sync(work)


async def upgrade(target: AsyncEngine | str, migrations: Migrations, revision: str = "head") -> None:
    """Bring the database (an engine or a URL) up to ``revision``."""
    from alembic import command

    await _run(target, migrations, lambda c: command.upgrade(migrations.config(c), revision))


async def downgrade(target: AsyncEngine | str, migrations: Migrations, revision: str) -> None:
    """Take the database down to ``revision`` (``-1`` for one step, ``base`` for none)."""
    from alembic import command

    await _run(target, migrations, lambda c: command.downgrade(migrations.config(c), revision))


async def autogenerate(
    target: AsyncEngine | str, migrations: Migrations, message: str, rev_id: str | None = None
) -> Path:
    """Write a new revision script with the difference between the models and the database (a developer
    tool: point it at a database at head); returns the script's path, to review by hand."""
    from alembic import command

    def work(connection: Connection) -> Path:
        script = command.revision(
            migrations.config(connection), message=message, autogenerate=True, rev_id=rev_id
        )
        assert script is not None and not isinstance(script, list)
        return Path(script.path)

    return await _run(target, migrations, work)


async def stamp(target: AsyncEngine | str, migrations: Migrations, revision: str = "head") -> None:
    """Record ``revision`` as applied without running anything."""
    from alembic import command

    await _run(target, migrations, lambda c: command.stamp(migrations.config(c), revision))


def _current(connection: Connection, migrations: Migrations) -> str | None:
    # The version table Alembic keeps: one row while the history is one line; Alembic reads anything else.
    if not inspect(connection).has_table(migrations.version_table):
        return None
    version_table = table(migrations.version_table, column("version_num"))
    rows = connection.execute(select(version_table.c.version_num)).scalars().all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"version_table": migrations.version_table})
    return context.get_current_revision()


async def current(target: AsyncEngine | str, migrations: Migrations) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    return await _run(target, migrations, lambda c: _current(c, migrations))


def schema_differences(connection: Connection, migrations: Migrations) -> list[Any]:
    """How the database's tables differ from the models (Alembic's autogenerate diff; empty = none)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(
        connection,
        opts={
            "version_table": migrations.version_table,
            "include_name": _include_name(migrations),
            "compare_type": True,
        },
    )
    return list(compare_metadata(context, migrations.metadata))


def _owned_tables(connection: Connection, migrations: Migrations) -> list[str]:
    return [name for name in inspect(connection).get_table_names() if migrations.owns_table(name)]


def _describe(differences: list[Any], limit: int = 5) -> Iterator[str]:
    for difference in differences[:limit]:
        yield repr(difference)[:200]


def _prepare(connection: Connection, migrations: Migrations, head: str | None, migrate: bool) -> str:
    revision = _current(connection, migrations)
    if revision is None and _owned_tables(connection, migrations):
        # Tables but no version: created by create_all before migrations existed. Adopt it when it
        # is exactly today's schema; anything else needs a person.
        differences = schema_differences(connection, migrations)
        if differences:
            raise SchemaError(
                f"the database has tables but no {migrations.version_table} table, and they differ "
                f"from the current schema ({'; '.join(_describe(differences))}): it was created by an "
                "older version; delete it (embedded SQLite file) or migrate it by hand"
            )
        from alembic import command

        command.stamp(migrations.config(connection), "head")
        return f"adopted at {head}"
    if revision == head:
        return "up to date"
    if not migrate:
        raise SchemaError(
            f"the database schema is at revision {revision or 'none'} but this release needs {head}: "
            "run `migrate` first (or set migrate_on_start)"
        )
    from alembic import command

    command.upgrade(migrations.config(connection), "head")
    return f"upgraded from {revision or 'empty'} to {head}"


async def prepare_schema(engine: AsyncEngine, migrations: Migrations, *, migrate: bool = True) -> str:
    """Make sure the database has this release's schema before serving; returns what it did.

    ``migrate`` upgrades to head (``migrate_on_start``); without it an outdated schema is a
    ``SchemaError`` telling the operator to run ``migrate``. A database created by ``create_all``
    before migrations existed is stamped at head when it matches the models, refused otherwise.
    """
    # Read here, not in the greenlet ``_run`` switches into: ast.parse there trips CPython 3.11's
    # "AST constructor recursion depth mismatch" when the greenlet's stack depth differs.
    head = migrations.head()
    for attempt in range(3):
        try:
            outcome = await _run(engine, migrations, lambda c: _prepare(c, migrations, head, migrate))
            _log.info("database schema ready", outcome=outcome, version_table=migrations.version_table)
            return outcome
        except SchemaError:
            raise
        except Exception:
            # Two processes migrating one SQLite file at once: the loser finds the tables the winner
            # made; PostgreSQL never gets here twice thanks to the advisory lock.
            if attempt == 2 or engine.dialect.name != "sqlite":
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")
