"""What reporting scorecard facts to the catalog costs an Evaluate: the policy service with reporting on
(a real catalog process on loopback) against the same service with it off, interleaved in one run.

    uv run python tests/benchmarks/bench_policy_facts.py [--quick]

Two workloads: "repeat" evaluates 50 services over and over (an unchanged result is not sent again) and
"new" names a new service in every call (every call sends a report, as a stream of creates would). For
each: Evaluate latency (median, p95; sequential calls) and calls per second with 8 concurrent callers, as
ratios reporting-on / reporting-off; and how many services' facts reached the catalog. Everything runs
twice: every service on SQLite files, then every service on its own fresh PostgreSQL database (server from
PAVED_BENCH_DATABASE_URL or PAVED_TEST_DATABASE_URL, default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from databases import describe, postgres_database
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved.common.v1 import common_pb2
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_kit.db import create_engine
from paved_kit.logging import configure_logging
from paved_kit.server import GrpcServer
from paved_policy.app import PolicyApp, build_app, register
from paved_policy.settings import PolicySettings
from sqlalchemy import text

TAGS = {"owner": "payments", "team": "payments", "cost_center": "cc-1", "environment": "production"}
Naming = Callable[[int], str]


def request(service: str) -> policy_pb2.EvaluateRequest:
    database = common_pb2.Resource(name="database", type="database", tags=TAGS)
    database.properties.update({"engine": "postgres", "encrypted": True})
    return policy_pb2.EvaluateRequest(
        resources=[common_pb2.Resource(name="compute", type="compute", tags=TAGS), database],
        context=policy_pb2.EvaluationContext(
            team="payments", environment="production", requester="bench", service=service
        ),
    )


@dataclass
class CatalogProcess:
    process: subprocess.Popen[bytes]
    address: str

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def start_catalog(database_url: str) -> CatalogProcess:
    """``python -m paved_catalog`` on a free loopback port, as `paved up` runs it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAVED_")}
    env.update(
        {
            "PAVED_CATALOG_HOST": "127.0.0.1",
            "PAVED_CATALOG_PORT": str(port),
            "PAVED_CATALOG_DATABASE_URL": database_url,
            "PAVED_CATALOG_LOG_LEVEL": "WARNING",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "paved_catalog"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with grpc.insecure_channel(address) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return CatalogProcess(process, address)
            except grpc.RpcError:
                pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the catalog did not start")


async def start_policy(url: str, name: str, catalog_address: str) -> tuple[GrpcServer, PolicyApp]:
    settings = PolicySettings(
        database_url=url, port=0, host="127.0.0.1", grace_period_seconds=0, catalog_address=catalog_address
    )
    app = await build_app(settings, create_engine(url))
    server = GrpcServer(settings, name)
    register(server, app)
    await server.start()
    return server, app


async def sequential(stub: policy_pb2_grpc.PolicyServiceStub, names: list[str]) -> list[float]:
    latencies = []
    for name in names:
        started = time.perf_counter()
        await stub.Evaluate(request(name))
        latencies.append(time.perf_counter() - started)
    return latencies


async def concurrent(stub: policy_pb2_grpc.PolicyServiceStub, names: list[str], callers: int = 8) -> float:
    async def caller(offset: int) -> None:
        for name in names[offset::callers]:
            await stub.Evaluate(request(name))

    started = time.perf_counter()
    await asyncio.gather(*(caller(k) for k in range(callers)))
    return len(names) / (time.perf_counter() - started)


async def run(
    stubs: dict[str, policy_pb2_grpc.PolicyServiceStub], naming: Naming, calls: int, rounds: int
) -> None:
    latency: dict[str, list[float]] = {"on": [], "off": []}
    throughput: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(rounds):
        # Interleaved, so machine load drifts hit both alike.
        for mode in ("off", "on"):
            names = [naming(r * 2 * calls + i) for i in range(calls)]
            latency[mode] += await sequential(stubs[mode], names)
            names = [naming(r * 2 * calls + calls + i) for i in range(calls)]
            throughput[mode].append(await concurrent(stubs[mode], names))
    med = {m: statistics.median(v) * 1000 for m, v in latency.items()}
    tail = {m: statistics.quantiles(v, n=20)[-1] * 1000 for m, v in latency.items()}
    rate = {m: statistics.median(v) for m, v in throughput.items()}
    for label, values, unit in (
        ("median latency", med, "ms"),
        ("p95 latency", tail, "ms"),
        ("8 callers", rate, "/s"),
    ):
        ratio = values["on"] / values["off"]
        print(
            f"  {label:<15} off {values['off']:.2f} {unit}  on {values['on']:.2f} {unit}  ratio {ratio:.2f}"
        )


async def scenario(quick: bool, urls: dict[str, str]) -> None:
    calls, rounds = (100, 2) if quick else (400, 5)
    print(f"== database: {describe(urls['catalog'])} for the catalog and both policy services")
    catalog = start_catalog(urls["catalog"])
    try:
        on_server, on_app = await start_policy(urls["policy-on"], "policy-on", catalog.address)
        off_server, _ = await start_policy(urls["policy-off"], "policy-off", "")
        channels = {
            "on": grpc.aio.insecure_channel(on_server.address),
            "off": grpc.aio.insecure_channel(off_server.address),
        }
        stubs = {mode: policy_pb2_grpc.PolicyServiceStub(c) for mode, c in channels.items()}
        for stub in stubs.values():
            await sequential(stub, ["warm-up"] * 20)
        print(f"Evaluate, {calls} sequential + {calls} concurrent calls x {rounds} rounds per mode")
        print("repeat: 50 services evaluated again and again")
        await run(stubs, lambda i: f"svc-{i % 50}", calls, rounds)
        print("new: a new service in every call")
        await run(stubs, lambda i: f"new-{i}", calls, rounds)
        await on_app.decisions.facts.drain()
        catalog_database = create_engine(urls["catalog"])
        async with catalog_database.connect() as connection:
            rows = await connection.scalar(
                text("SELECT count(*) FROM catalog_service_facts WHERE source = 'policy'")
            )
        await catalog_database.dispose()
        print(f"services with policy facts in the catalog: {rows}")
        for channel in channels.values():
            await channel.close()
        await on_app.decisions.facts.close()
        await on_server.stop(0)
        await off_server.stop(0)
    finally:
        catalog.stop()


async def main(quick: bool) -> None:
    configure_logging("policy", "WARNING", "console")  # one line per decision would drown the numbers
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        names = ("catalog", "policy-on", "policy-off")
        await scenario(quick, {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}" for name in names})
    async with (
        postgres_database("bench_facts_catalog") as catalog,
        postgres_database("bench_facts_policy_on") as policy_on,
        postgres_database("bench_facts_policy_off") as policy_off,
    ):
        await scenario(quick, {"catalog": catalog, "policy-on": policy_on, "policy-off": policy_off})
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    asyncio.run(main(parser.parse_args().quick))
