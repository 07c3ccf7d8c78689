"""Gateway benchmark: the whole suite as separate processes on PostgreSQL, then

1. ``GET /api/services/{id}`` at 32 concurrent clients — throughput, p50, p99 — against the same
   aggregation (catalog GetService + alerting GetServiceHealth + cost GetServiceCost in parallel) done
   by direct gRPC calls from this process in the same run; the ratio is the gateway's overhead
   (goal <= 1.5x, p99 < 25 ms);
2. ``POST /api/services``: time to 202 (goal p50 < 50 ms) and to ACTIVE (operation done).

Run: ``uv run python tests/benchmarks/bench_gateway.py [--quick]``; PostgreSQL from
``PAVED_TEST_DATABASE_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``).
Only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc.aio
import httpx
from google.longrunning import operations_pb2, operations_pb2_grpc

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from e2e_suite import GRPC_SERVICES, create_databases, drop_databases, start_suite
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc

TOKEN = "bench-token-" + uuid.uuid4().hex
CONCURRENCY = 32
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (Linux /proc; this process when ``pid`` is None)."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time per process over the runs it wraps (the suite's processes and this client)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.totals: dict[str, float] = {}
        self.requests = 0

    async def run(
        self, call: Callable[[int], Awaitable[None]], seconds: float, concurrency: int
    ) -> tuple[list[float], float]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        before["client"] = cpu_seconds()
        latencies, elapsed = await closed_loop(call, seconds, concurrency)
        after = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        after["client"] = cpu_seconds()
        for name, value in after.items():
            self.totals[name] = self.totals.get(name, 0.0) + value - before[name]
        self.requests += len(latencies)
        return latencies, elapsed

    def per_request_ms(self) -> dict[str, float]:
        return {name: total * 1000 / max(self.requests, 1) for name, total in self.totals.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(label: str, latencies: list[float], seconds: float | None = None) -> dict[str, float]:
    ms = [v * 1000 for v in latencies]
    result = {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms),
    }
    if seconds:
        result["per_second"] = len(ms) / seconds
    rate = f"{result['per_second']:8.1f} req/s  " if seconds else ""
    print(f"{label:<46} {rate}p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  (n={len(ms)})")
    return result


async def closed_loop(
    call: Callable[[int], Awaitable[None]], seconds: float, concurrency: int
) -> tuple[list[float], float]:
    """``concurrency`` clients calling back to back for ``seconds``; per-call latencies and elapsed."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(worker: int) -> None:
        i = worker
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)
            i += concurrency

    started = time.perf_counter()
    await asyncio.gather(*(client(w) for w in range(concurrency)))
    return latencies, time.perf_counter() - started


async def create_services(
    http: httpx.AsyncClient, operations: operations_pb2_grpc.OperationsStub, count: int
) -> tuple[list[str], list[float], list[float]]:
    """Create ``count`` services one after another; latencies to 202 and to ACTIVE."""
    names, to_accepted, to_active = [], [], []
    pending: list[tuple[str, str, float]] = []
    for i in range(count):
        name = f"bench-{i}-{uuid.uuid4().hex[:6]}"
        body = {
            "name": name,
            "team": f"team-{i % 4}",
            "template": "web-service",
            "parameters": {"language": "go", "database": "postgres" if i % 2 else "none"},
        }
        started = time.perf_counter()
        response = await http.post("/api/services", json=body)
        to_accepted.append(time.perf_counter() - started)
        if response.status_code != 202:
            raise RuntimeError(f"create failed: {response.status_code} {response.text}")
        pending.append((name, response.json()["operation"], started))
        names.append(name)

    async def wait(operation: str, started: float) -> None:
        while True:
            op = await operations.GetOperation(operations_pb2.GetOperationRequest(name=operation))
            if op.done:
                if op.HasField("error"):
                    raise RuntimeError(f"{operation} failed: {op.error.message}")
                to_active.append(time.perf_counter() - started)
                return
            await asyncio.sleep(0.01)

    await asyncio.gather(*(wait(op, started) for _, op, started in pending))
    return names, to_accepted, to_active


async def measure(
    suite_addresses: dict[str, str], gateway_url: str, pids: dict[str, int], args: argparse.Namespace
) -> dict[str, object]:
    limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY * 2)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    channels = {name: grpc.aio.insecure_channel(address) for name, address in suite_addresses.items()}
    catalog = catalog_pb2_grpc.CatalogServiceStub(channels["catalog"])
    alerting = alerting_pb2_grpc.AlertingServiceStub(channels["alerting"])
    cost = cost_pb2_grpc.CostServiceStub(channels["cost"])
    operations = operations_pb2_grpc.OperationsStub(channels["provisioning"])
    results: dict[str, object] = {}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, limits=limits, timeout=30) as http:
        print(f"creating {args.creates} services through POST /api/services ...")
        names, accepted, active = await create_services(http, operations, args.creates)
        results["post_to_202"] = summary("POST /api/services → 202", accepted)
        results["post_to_active"] = summary("POST /api/services → ACTIVE", active)

        # One connection per client: httpx's shared pool serialises on its lock at 32 concurrent
        # requests and would measure httpx rather than the gateway (gRPC channels multiplex natively).
        clients = [
            httpx.AsyncClient(
                base_url=gateway_url, headers=headers, timeout=30, limits=httpx.Limits(max_connections=1)
            )
            for _ in range(CONCURRENCY)
        ]

        async def via_gateway(i: int) -> None:
            response = await clients[i % CONCURRENCY].get(f"/api/services/{names[i % len(names)]}")
            if response.status_code != 200 or response.json()["unavailable"]:
                raise RuntimeError(f"GET failed: {response.status_code} {response.text}")

        async def via_grpc(i: int) -> None:
            name = names[i % len(names)]
            await asyncio.gather(
                catalog.GetService(catalog_pb2.GetServiceRequest(name=f"services/{name}"), timeout=10),
                alerting.GetServiceHealth(alerting_pb2.GetServiceHealthRequest(service=name), timeout=10),
                cost.GetServiceCost(cost_pb2.GetServiceCostRequest(service=name), timeout=10),
            )

        await closed_loop(via_gateway, args.warmup, CONCURRENCY)
        await closed_loop(via_grpc, args.warmup, CONCURRENCY)
        # Alternate the two, round after round, so that drift (other load on the machine, database
        # caches) affects both alike. One client first: the latency the gateway adds when nothing queues.
        single_direct_runs: list[tuple[list[float], float]] = []
        single_gateway_runs: list[tuple[list[float], float]] = []
        gateway_runs: list[tuple[list[float], float]] = []
        direct_runs: list[tuple[list[float], float]] = []
        # CPU time per request of every process (this client included): unlike wall time it does not
        # depend on what else the machine runs, so the ratio holds on a loaded machine too.
        direct_cpu, gateway_cpu = CpuMeter(pids), CpuMeter(pids)
        for _ in range(args.rounds):
            single_direct_runs.append(await closed_loop(via_grpc, args.seconds / 2, 1))
            single_gateway_runs.append(await closed_loop(via_gateway, args.seconds / 2, 1))
            direct_runs.append(await direct_cpu.run(via_grpc, args.seconds, CONCURRENCY))
            gateway_runs.append(await gateway_cpu.run(via_gateway, args.seconds, CONCURRENCY))
        single_direct = [v for run in single_direct_runs for v in run[0]]
        single_gateway = [v for run in single_gateway_runs for v in run[0]]
        print("GET /api/services/{id}, 1 client:")
        results["single_direct"] = summary(
            "  direct gRPC aggregation (baseline)", single_direct, sum(r[1] for r in single_direct_runs)
        )
        results["single_gateway"] = summary(
            "  through the gateway", single_gateway, sum(r[1] for r in single_gateway_runs)
        )
        direct = [v for run in direct_runs for v in run[0]]
        gateway = [v for run in gateway_runs for v in run[0]]
        direct_s = sum(run[1] for run in direct_runs)
        gateway_s = sum(run[1] for run in gateway_runs)
        print(f"GET /api/services/{{id}}, {CONCURRENCY} concurrent clients, {args.rounds}x{args.seconds:g}s:")
        results["direct"] = summary("  direct gRPC aggregation (baseline)", direct, direct_s)
        results["gateway"] = summary("  through the gateway", gateway, gateway_s)
        results["direct_cpu_ms"] = direct_cpu.per_request_ms()
        results["gateway_cpu_ms"] = gateway_cpu.per_request_ms()
        for label, per_request in (("direct", direct_cpu), ("gateway", gateway_cpu)):
            parts = per_request.per_request_ms()
            shown = ", ".join(f"{name} {ms:.2f}" for name, ms in parts.items() if ms >= 0.005)
            print(f"  CPU per request, {label:<7}: {sum(parts.values()):6.2f} ms  ({shown})")
        for client in clients:
            await client.aclose()
    for channel in channels.values():
        await channel.close()
    g, d = results["gateway"], results["direct"]
    assert isinstance(g, dict) and isinstance(d, dict)
    results["latency_ratio_p50"] = g["p50_ms"] / d["p50_ms"]
    results["throughput_ratio"] = d["per_second"] / g["per_second"]
    sg, sd = results["single_gateway"], results["single_direct"]
    assert isinstance(sg, dict) and isinstance(sd, dict)
    results["single_client_latency_ratio_p50"] = sg["p50_ms"] / sd["p50_ms"]
    gateway_cpu_ms = results["gateway_cpu_ms"]
    direct_cpu_ms = results["direct_cpu_ms"]
    assert isinstance(gateway_cpu_ms, dict) and isinstance(direct_cpu_ms, dict)
    results["cpu_ratio"] = sum(gateway_cpu_ms.values()) / sum(direct_cpu_ms.values())
    print(
        f"1 client: gateway adds {sg['p50_ms'] - sd['p50_ms']:.2f} ms at p50 "
        f"(ratio {results['single_client_latency_ratio_p50']:.2f}x)"
    )
    print(
        f"gateway overhead: p50 latency ratio {results['latency_ratio_p50']:.2f}x, "
        f"throughput ratio {results['throughput_ratio']:.2f}x (goal <= 1.5x); "
        f"gateway p99 {g['p99_ms']:.1f} ms (goal < 25 ms)"
    )
    load = os.getloadavg()[0]
    for label, ratio in (
        ("p50 latency ratio", results["latency_ratio_p50"]),
        ("throughput ratio", results["throughput_ratio"]),
        ("CPU per request ratio (all processes)", results["cpu_ratio"]),
    ):
        assert isinstance(ratio, float)
        verdict = "met" if ratio <= 1.5 else "MISSED"
        print(f"verdict: gateway {label} {ratio:.2f}x (goal <= 1.5x, aim 1.25x): {verdict}")
    print(
        f"verdict: gateway p99 at {CONCURRENCY} clients {g['p99_ms']:.1f} ms (goal < 25 ms; load average "
        f"{load:.2f} on {os.cpu_count()} CPUs): {'met' if g['p99_ms'] < 25 else 'MISSED'}"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    args.creates = 6 if args.quick else 40
    args.seconds = 2.0 if args.quick else 10.0
    args.rounds = 1 if args.quick else 3
    args.warmup = 1.0 if args.quick else 3.0
    server_url = os.environ.get("PAVED_TEST_DATABASE_URL", DEFAULT_URL)
    print(f"database: PostgreSQL at {server_url.rsplit('@', 1)[-1]} (one database per service)", flush=True)
    run = uuid.uuid4().hex[:8]
    urls = create_databases(server_url, f"paved_bench_{run}")
    tokens = json.dumps([{"token": TOKEN, "subject": "bench", "roles": ["admin"]}])
    with tempfile.TemporaryDirectory(prefix="paved-bench-") as data_dir:
        suite = start_suite(
            Path(data_dir),
            database_urls=urls,
            extra_env={
                "gateway": {"PAVED_GATEWAY_TOKENS": tokens, "PAVED_GATEWAY_LOG_LEVEL": "INFO"},
                "provisioning": {
                    "PAVED_PROVISIONING_DEFAULT_MAX_SERVICES": "1000",
                },
            },
        )
        try:
            addresses = {name: suite.address(name) for name in GRPC_SERVICES}
            pids = {name: process.pid for name, process in suite.processes.items()}
            results = asyncio.run(measure(addresses, suite.gateway_url, pids, args))
        finally:
            suite.stop_all()
            drop_databases(server_url, urls)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
