"""``python -m paved_cost``: serve the cost service."""

from __future__ import annotations

from paved_kit.server import GrpcServer
from paved_kit.service import BuildResult, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_cost.app import build_app, register
from paved_cost.migrations import MIGRATIONS
from paved_cost.settings import CostSettings


async def build(settings: CostSettings, engine: AsyncEngine, server: GrpcServer) -> BuildResult:
    app = await build_app(settings, engine)
    register(server, app)
    return app.close


def main() -> None:
    run_service("cost", CostSettings, build, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
