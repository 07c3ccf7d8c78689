"""Fixtures: a real policy server (SQLite and PostgreSQL) on a free port, with a clock the test controls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from paved.policy.v1 import policy_pb2_grpc
from paved_kit.db import create_engine
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory
from paved_policy.app import build_app, register
from paved_policy.settings import PolicySettings


class Clock:
    """A settable "now" for the service under test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class PolicyHarness:
    stub: policy_pb2_grpc.PolicyServiceStub
    clock: Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


@pytest_asyncio.fixture
async def policy(
    database_url: str,
    clock: Clock,
    grpc_server_factory: GrpcServerFactory,
    grpc_channel_factory: GrpcChannelFactory,
) -> AsyncIterator[PolicyHarness]:
    settings = PolicySettings(database_url=database_url, port=0, cost_limit_monthly=1000.0)
    engine = create_engine(database_url)
    app = await build_app(settings, engine, clock=clock)
    server = await grpc_server_factory(lambda s: register(s, app), name="policy")
    yield PolicyHarness(policy_pb2_grpc.PolicyServiceStub(grpc_channel_factory(server)), clock)
    await engine.dispose()
