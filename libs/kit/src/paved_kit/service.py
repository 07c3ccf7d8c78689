"""The body of every service's ``__main__``: parse the command, load settings, wire, serve, shut down.

Example::

    async def build(settings: CatalogSettings, engine: AsyncEngine, server: GrpcServer) -> None:
        await create_schema(engine, CatalogModel.metadata)
        server.add_servicer(add_CatalogServiceServicer_to_server, CatalogServicer(...), CATALOG_SERVICE)

    if __name__ == "__main__":
        run_service("catalog", CatalogSettings, build)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_kit.db import create_engine
from paved_kit.logging import configure_logging, get_logger
from paved_kit.server import GrpcServer
from paved_kit.settings import BaseServiceSettings, mask_url_password

S = TypeVar("S", bound=BaseServiceSettings)
Cleanup: TypeAlias = Callable[[], Awaitable[None]]
BuildPart: TypeAlias = "asyncio.Task[object] | Cleanup"
BuildResult: TypeAlias = "BuildPart | Sequence[BuildPart] | None"
Build: TypeAlias = Callable[[S, AsyncEngine, GrpcServer], Awaitable[BuildResult]]

_log = get_logger(__name__)


def _parse_args(name: str, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m paved_{name}", description=f"The Paved {name} service.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve gRPC until SIGTERM/SIGINT (the default)")
    commands.add_parser("config", help="print the effective settings (secrets masked) and exit")
    args = parser.parse_args(argv)
    args.command = args.command or "serve"
    return args


def _load_settings(settings_cls: type[S]) -> S:
    try:
        # Subclasses give every field a default; the rest comes from the environment.
        return settings_cls()  # type: ignore[call-arg]
    except ValidationError as exc:
        prefix = settings_cls.model_config.get("env_prefix", "")
        lines = [f"invalid configuration ({exc.error_count()} problem(s)):"]
        for error in exc.errors(include_input=False):
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            lines.append(f"  {prefix}{field.upper()}: {error['msg']}")
        print("\n".join(lines), file=sys.stderr)
        raise SystemExit(2) from None


def run_service(name: str, settings_cls: type[S], build: Build[S], argv: Sequence[str] | None = None) -> None:
    """Run service ``name``: ``serve`` (default) or ``config``. Exits non-zero when it cannot serve.

    ``build(settings, engine, server)`` creates the schema and adds servicers; it may return background
    tasks and/or async cleanups (alone or in a sequence), cancelled and awaited after the server stops.
    """
    args = _parse_args(name, argv)
    settings = _load_settings(settings_cls)
    if args.command == "config":
        print(json.dumps(settings.safe_dump(), indent=2, sort_keys=True))
        return
    configure_logging(name, settings.log_level, settings.log_format)
    code = asyncio.run(serve(name, settings, build))
    if code:
        raise SystemExit(code)


async def serve(name: str, settings: S, build: Build[S]) -> int:
    """Build and serve until a shutdown signal; returns the process exit code."""
    engine = create_engine(settings.database_url)
    server = GrpcServer(settings, name)
    tasks: list[asyncio.Task[object]] = []
    cleanups: list[Cleanup] = []
    failed = False

    def on_task_done(task: asyncio.Task[object]) -> None:
        nonlocal failed
        if task.cancelled():
            return
        if task.exception() is not None:
            failed = True
            _log.error("background task failed; stopping", task=task.get_name(), exc_info=task.exception())
            server.request_stop()

    try:
        result = await build(settings, engine, server)
        parts: Sequence[BuildPart] = (
            [] if result is None else list(result) if isinstance(result, Sequence) else [result]
        )
        for part in parts:
            if isinstance(part, asyncio.Task):
                tasks.append(part)
            else:
                cleanups.append(part)
        await server.start()
        _log.info(
            "service ready",
            address=server.address,
            database=mask_url_password(settings.database_url),
            settings=settings.safe_dump(),
        )
        for task in tasks:
            task.add_done_callback(on_task_done)
        await server.serve_until_signal()
    except Exception:
        _log.exception("service failed")
        failed = True
    finally:
        await server.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for cleanup in reversed(cleanups):
            try:
                await cleanup()
            except Exception:
                _log.exception("cleanup failed")
                failed = True
        await engine.dispose()
    _log.info("service stopped", exit_code=int(failed))
    return 1 if failed else 0
