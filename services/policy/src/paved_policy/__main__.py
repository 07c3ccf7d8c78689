"""``python -m paved_policy``: serve the policy service."""

from __future__ import annotations

from paved_kit.server import GrpcServer
from paved_kit.service import BuildResult, run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_policy.app import build_app, register
from paved_policy.migrations import MIGRATIONS
from paved_policy.settings import PolicySettings


async def build(settings: PolicySettings, engine: AsyncEngine, server: GrpcServer) -> BuildResult:
    register(server, await build_app(settings, engine))
    return None


def main() -> None:
    run_service("policy", PolicySettings, build, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
