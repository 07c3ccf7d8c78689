"""Fixtures: a real cost server (SQLite and PostgreSQL) on a free port, with a clock the test controls."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from paved.cost.v1 import cost_pb2_grpc
from paved_cost.app import build_app, register
from paved_cost.settings import CostSettings
from paved_kit.db import create_engine
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory

# Tests import their shared row builders (cost_test_rows.py) from this directory.
sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO_ROOT = Path(__file__).resolve().parents[3]
# The FOCUS sample (CC BY 4.0) ships with the tests; see tests/data/focus/SOURCE.md.
FOCUS_SAMPLE = REPO_ROOT / "tests" / "data" / "focus" / "focus_sample.csv"


class Clock:
    """A settable "now" for the service under test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class CostHarness:
    stub: cost_pb2_grpc.CostServiceStub
    clock: Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2024, 10, 15, 12, 0, tzinfo=UTC))


@pytest.fixture
def focus_sample() -> Path:
    # The data is part of the repository: its absence is a broken checkout, never a reason to skip.
    assert FOCUS_SAMPLE.is_file(), f"FOCUS sample missing at {FOCUS_SAMPLE}"
    return FOCUS_SAMPLE


StartCost = Callable[..., Any]


@pytest_asyncio.fixture
async def start_cost(
    database_url: str,
    clock: Clock,
    grpc_server_factory: GrpcServerFactory,
    grpc_channel_factory: GrpcChannelFactory,
) -> AsyncIterator[StartCost]:
    """``await start_cost(**settings)`` → a harness talking to a fresh cost server over gRPC."""
    engines = []
    apps = []

    async def start(**overrides: Any) -> CostHarness:
        settings = CostSettings(database_url=database_url, port=0, **overrides)
        engine = create_engine(database_url)
        engines.append(engine)
        app = await build_app(settings, engine, clock)
        apps.append(app)
        server = await grpc_server_factory(lambda s: register(s, app), name="cost")
        channel = grpc_channel_factory(server, default_timeout=60.0)
        return CostHarness(cost_pb2_grpc.CostServiceStub(channel), clock)

    yield start
    for app in apps:
        await app.close()
    for engine in engines:
        await engine.dispose()


@pytest_asyncio.fixture
async def cost(start_cost: StartCost) -> CostHarness:
    harness: CostHarness = await start_cost()
    return harness
