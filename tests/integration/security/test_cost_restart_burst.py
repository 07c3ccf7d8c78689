"""Cost under a restart burst on SQLite: clients keep registering resources while the cost process is
killed (SIGKILL) and restarted again and again. Every answer is OK or a retryable UNAVAILABLE (a
down server, or DATABASE_BUSY while a restarted process recovers the write-ahead log), never INTERNAL
or UNKNOWN; afterwards every service registered is known to cost."""

from __future__ import annotations

import asyncio
import collections
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import grpc.aio
import pytest
from google.type import money_pb2
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved_kit.client import create_channel

sys.path[:0] = [str(Path(__file__).parents[2] / "e2e")]
import e2e_suite  # noqa: E402
from e2e_suite import GRPC_SERVICES, Suite, free_port  # noqa: E402

CLIENTS = 6
RESTARTS = 3
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def cost(tmp_path: Path) -> Iterator[Suite]:
    e2e_suite.START_TIMEOUT = 150.0
    suite = Suite(data_dir=tmp_path, database_urls={}, extra_env={})
    for name in (*GRPC_SERVICES, "gateway"):
        suite.ports[name] = free_port()
    suite.start("cost")
    yield suite
    suite.stop_all()


async def register(address: str, client: int, stop: asyncio.Event, statuses: collections.Counter[str]) -> int:
    """Register resources until told to stop; the number of registrations answered OK."""
    done = 0
    async with create_channel(address, default_timeout=10) as channel:
        stub = cost_pb2_grpc.CostServiceStub(channel)
        while not stop.is_set():
            request = cost_pb2.RegisterResourcesRequest(
                service=f"svc-{client}-{done}",
                team="payments",
                environment="production",
                estimated_monthly_cost=money_pb2.Money(currency_code="USD", units=100),
            )
            try:
                await stub.RegisterResources(request)
            except grpc.aio.AioRpcError as error:
                statuses[error.code().name] += 1
                await asyncio.sleep(0.05)
                continue
            statuses["OK"] += 1
            done += 1
    return done


async def test_register_resources_never_fails_inside_across_kills_and_restarts(cost: Suite) -> None:
    address = cost.address("cost")
    stop = asyncio.Event()
    statuses: collections.Counter[str] = collections.Counter()
    clients = [asyncio.create_task(register(address, i, stop, statuses)) for i in range(CLIENTS)]
    try:
        for _ in range(RESTARTS):
            await asyncio.sleep(1.5)
            process = cost.processes.pop("cost")
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)
            await asyncio.to_thread(cost.start, "cost")
        await asyncio.sleep(1.5)
    finally:
        stop.set()
        registered = await asyncio.gather(*clients)
    print(f"\nrestart burst: {RESTARTS} kills, statuses {dict(statuses)}, registered {sum(registered)}")

    assert set(statuses) <= {"OK", "UNAVAILABLE"}, statuses
    assert statuses["OK"] > 0
    async with create_channel(address) as channel:
        stub = cost_pb2_grpc.CostServiceStub(channel)
        for client, count in enumerate(registered):
            for index in range(count):
                found = await stub.GetServiceCost(
                    cost_pb2.GetServiceCostRequest(service=f"services/svc-{client}-{index}")
                )
                assert found.team == "payments"
