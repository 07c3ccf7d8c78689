"""Builds the policy service from settings: schema, built-in policies, the servicer ready to register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_kit.db import session_factory
from paved_kit.logging import get_logger
from paved_kit.migrations import prepare_schema
from paved_kit.server import GrpcServer
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_policy.administration import Administration, utcnow
from paved_policy.decisions import Decisions
from paved_policy.migrations import MIGRATIONS
from paved_policy.rules import RuleEngine
from paved_policy.servicer import PolicyServicer
from paved_policy.settings import PolicySettings

SERVICE_NAME = policy_pb2.DESCRIPTOR.services_by_name["PolicyService"].full_name
_log = get_logger(__name__)


@dataclass
class PolicyApp:
    """The wired service."""

    servicer: PolicyServicer
    administration: Administration
    decisions: Decisions


async def build_app(
    settings: PolicySettings, engine: AsyncEngine, clock: Callable[[], datetime] = utcnow
) -> PolicyApp:
    """Prepare the schema, create the built-ins (first start only), wire everything; ``clock`` for tests."""
    await prepare_schema(engine, MIGRATIONS, migrate=settings.migrate_on_start)
    sessions = session_factory(engine)
    rules = RuleEngine(settings.program_cache_size)
    administration = Administration(sessions, settings, rules, clock)
    decisions = Decisions(sessions, settings, rules, clock)
    created = await administration.ensure_builtins()
    if created:
        _log.info("built-in policies created", policies=created)
    await administration.warm_up()
    return PolicyApp(PolicyServicer(administration, decisions, clock), administration, decisions)


def register(server: GrpcServer, app: PolicyApp) -> None:
    """Add the policy servicer to ``server``."""
    server.add_servicer(policy_pb2_grpc.add_PolicyServiceServicer_to_server, app.servicer, SERVICE_NAME)
