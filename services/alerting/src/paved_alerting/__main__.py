"""``python -m paved_alerting``: serve the alerting service."""

from __future__ import annotations

from paved_kit.server import GrpcServer
from paved_kit.service import BuildResult, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_alerting.app import build_app
from paved_alerting.clock import SystemClock
from paved_alerting.migrations import MIGRATIONS
from paved_alerting.settings import AlertingSettings


async def build(settings: AlertingSettings, database: AsyncEngine, server: GrpcServer) -> BuildResult:
    """Wire the service onto the server; the loops stop and the HTTP client closes after it."""
    app = await build_app(settings, database, SystemClock())
    app.register(server)
    return [*app.start_background(), app.close]


def main() -> None:
    """Entry point."""
    run_service("alerting", AlertingSettings, build, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
