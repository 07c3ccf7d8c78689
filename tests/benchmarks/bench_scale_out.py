"""Scale-out benchmark: more gateway and provisioning-worker processes do more work, losing and
duplicating nothing.

One PostgreSQL and one set of the five gRPC services (separate processes, the provisioning API with
no worker of its own, as in Kubernetes). Two configurations run in turn against them, in the same
process: the baseline with one gateway and one worker process, and two gateways and two workers
(in the order A-B-B-A, so that drift weighs on both).
In each, concurrent clients submit ``POST /api/services`` spread over the gateways, and the time from
the first submission until every operation is done gives provisioned services per second; the
printed ratio is the scale-out gain.

Checked for every configuration: every operation succeeded; every service is in the catalog exactly
once; the GitOps repository has exactly one commit for each; each operation ended in exactly one
worker process's log (work shared, none done twice).

Run: ``uv run python tests/benchmarks/bench_scale_out.py [--quick]``; PostgreSQL from
``PAVED_TEST_DATABASE_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``).
Only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grpc.aio
import httpx
import psycopg
from google.longrunning import operations_pb2, operations_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

from e2e_suite import GRPC_SERVICES, Suite, free_port, start_suite

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TOKEN = "bench-token-" + uuid.uuid4().hex
PARAMETERS = {"language": "go", "database": "none"}
READY_TIMEOUT = 120.0


@dataclass
class Extra:
    """Gateway and worker processes this benchmark adds to the suite for one configuration."""

    gateways: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)
    workers: list[tuple[subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def stop(self) -> None:
        for process, *_ in [*self.gateways, *self.workers]:
            if process.poll() is None:
                process.terminate()
        for process, *_ in [*self.gateways, *self.workers]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Outcome:
    """One configuration's numbers and checks."""

    gateways: int
    workers: int
    services: int
    seconds: float
    p50_ms: float
    p99_ms: float
    per_worker: list[int]
    checks: dict[str, bool]

    @property
    def per_second(self) -> float:
        return self.services / self.seconds


def create_databases(server_url: str, run: str) -> dict[str, str]:
    url = make_url(server_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    urls = {}
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in GRPC_SERVICES:
            database = f"paved_scale_{name}_{run}"
            connection.execute(f'CREATE DATABASE "{database}"')
            urls[name] = url.set(drivername="postgresql+asyncpg", database=database).render_as_string(
                hide_password=False
            )
    return urls


def drop_databases(server_url: str, urls: dict[str, str]) -> None:
    admin = make_url(server_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for url in urls.values():
            connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def spawn(
    suite: Suite, service: str, args: list[str], log: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", f"paved_{service}", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=suite.data_dir,
        )


def start_extra(suite: Suite, label: str, gateways: int, workers: int) -> Extra:
    """The configuration's gateways (the suite's own is stopped) and worker processes."""
    extra = Extra()
    logs = suite.data_dir / "logs"
    for index in range(gateways):
        port = free_port()
        env = suite._env("gateway")  # the suite's wiring, on a port of this gateway's own
        env["PAVED_GATEWAY_PORT"] = str(port)
        extra.gateways.append((spawn(suite, "gateway", [], logs / f"{label}-gateway-{index}.log", env), port))
    for index in range(workers):
        log = logs / f"{label}-worker-{index}.log"
        extra.workers.append((spawn(suite, "provisioning", ["worker"], log, suite._env("provisioning")), log))
    deadline = time.monotonic() + READY_TIMEOUT
    for process, port in extra.gateways:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"a gateway exited with {process.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("a gateway did not become ready")
            time.sleep(0.1)
    for process, log in extra.workers:
        while "worker started" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a worker did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
    return extra


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


async def provision(
    gateway_ports: list[int],
    operations: operations_pb2_grpc.OperationsStub,
    names: list[str],
    concurrency: int,
) -> tuple[float, list[float], list[str]]:
    """Submit every service through the gateways (round robin); wall seconds, ms to done, operations."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    clients = [
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60)
        for port in gateway_ports
    ]
    queue = list(enumerate(names))
    submitted: dict[str, tuple[str, float]] = {}
    finished: dict[str, float] = {}

    async def submitter() -> None:
        while queue:
            index, name = queue.pop(0)
            # Each service its own team: quotas are per team and must not be what limits the run.
            body = {"name": name, "team": f"team-{name}", "template": "web-service", "parameters": PARAMETERS}
            started = time.perf_counter()
            response = await clients[index % len(clients)].post("/api/services", json=body)
            if response.status_code != 202:
                raise RuntimeError(f"create {name}: {response.status_code} {response.text}")
            submitted[name] = (response.json()["operation"], started)

    async def poller() -> None:
        # One poller walking the unfinished operations, not one per operation: polling must not
        # take the CPU the work under measurement needs.
        while len(finished) < len(names):
            for name, (operation, started) in list(submitted.items()):
                if name in finished:
                    continue
                op = await operations.GetOperation(
                    operations_pb2.GetOperationRequest(name=operation), timeout=30
                )
                if op.done:
                    if op.HasField("error"):
                        raise RuntimeError(f"{name}: operation failed: {op.error.message}")
                    finished[name] = time.perf_counter() - started
            await asyncio.sleep(0.1)

    began = time.perf_counter()
    try:
        await asyncio.gather(poller(), *(submitter() for _ in range(concurrency)))
    finally:
        for client in clients:
            await client.aclose()
    wall = time.perf_counter() - began
    return wall, [finished[name] * 1000 for name in names], [submitted[name][0] for name in names]


async def catalog_names(address: str, prefix: str) -> Counter[str]:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        seen: Counter[str] = Counter()
        token = ""
        while True:
            page = await stub.ListServices(catalog_pb2.ListServicesRequest(page_size=1000, page_token=token))
            seen.update(s.name.removeprefix("services/") for s in page.services if prefix in s.name)
            token = page.next_page_token
            if not token:
                return seen


def gitops_commits(repository: Path, names: list[str]) -> Counter[str]:
    """How many commits touched each service's directory (services/<team>/<service>/...)."""
    log = subprocess.run(
        ["git", "--git-dir", str(repository), "log", "--name-only", "--format=commit %H"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    touched: Counter[str] = Counter()
    wanted = set(names)
    for commit in log.split("commit ")[1:]:
        services = {parts[2] for path in commit.splitlines()[1:] if len(parts := path.split("/")) > 3}
        touched.update(services & wanted)
    return touched


def operations_ended(logs: list[Path]) -> dict[str, Counter[str]]:
    """Per worker log: how many times each operation ended there."""
    ended: dict[str, Counter[str]] = {}
    for log in logs:
        counter: Counter[str] = Counter()
        for line in log.read_text(errors="replace").splitlines():
            if '"operation ended"' in line:
                counter[json.loads(line)["operation"]] += 1
        ended[log.name] = counter
    return ended


async def run_configuration(
    suite: Suite, label: str, gateways: int, workers: int, count: int, concurrency: int, run: str
) -> Outcome:
    extra = start_extra(suite, label, gateways, workers)
    try:
        names = [f"s{run}-{label}-{i}" for i in range(count)]
        async with grpc.aio.insecure_channel(suite.address("provisioning")) as channel:
            stub = operations_pb2_grpc.OperationsStub(channel)
            wall, latencies, operations = await provision(
                [port for _, port in extra.gateways], stub, names, concurrency
            )
    finally:
        extra.stop()
    in_catalog = await catalog_names(suite.address("catalog"), f"s{run}-{label}-")
    commits = gitops_commits(suite.gitops_repository, names)
    ended = operations_ended([log for _, log in extra.workers])
    total_ended: Counter[str] = Counter()
    for counter in ended.values():
        total_ended.update(counter)
    ids = {op.removeprefix("operations/") for op in operations}
    checks = {
        "every service in the catalog exactly once": sorted(in_catalog) == sorted(names)
        and set(in_catalog.values()) == {1},
        "one GitOps commit per service": sorted(commits) == sorted(names) and set(commits.values()) == {1},
        "each operation ended in exactly one worker": {k for k in total_ended if k in ids} == ids
        and all(total_ended[i] == 1 for i in ids),
    }
    return Outcome(
        gateways=gateways,
        workers=workers,
        services=count,
        seconds=wall,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        per_worker=sorted(sum(1 for op in counter if op in ids) for counter in ended.values()),
        checks=checks,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--services", type=int, help="services provisioned per configuration")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP clients")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        help="operations one worker process runs at once (PAVED_PROVISIONING_WORKER_CONCURRENCY); "
        "a small value stands for a pod's CPU limit",
    )
    args = parser.parse_args()
    count = args.services or (12 if args.quick else 60)
    # A-B-B-A, so drift (a fuller database, other load on the machine) weighs on both alike.
    order = [(1, 1), (2, 2)] if args.quick else [(1, 1), (2, 2), (2, 2), (1, 1)]
    server_url = os.environ.get("PAVED_TEST_DATABASE_URL", DEFAULT_URL)
    run = uuid.uuid4().hex[:6]
    urls = create_databases(server_url, run)
    tokens = [{"token": TOKEN, "subject": "bench", "teams": [], "roles": ["admin"]}]
    extra_env = {
        # As in Kubernetes: the API runs no worker; worker processes are added per configuration.
        "provisioning": {
            "PAVED_PROVISIONING_RUN_WORKER": "false",
            **(
                {"PAVED_PROVISIONING_WORKER_CONCURRENCY": str(args.worker_concurrency)}
                if args.worker_concurrency
                else {}
            ),
        },
        "gateway": {"PAVED_GATEWAY_TOKENS": json.dumps(tokens)},
    }
    results = []
    with tempfile.TemporaryDirectory(prefix="paved-scale-") as tmp:
        suite = start_suite(Path(tmp), database_urls=urls, extra_env=extra_env)
        try:
            suite.stop("gateway")  # each configuration brings its own gateways
            for index, (gateways, workers) in enumerate(order):
                label = f"r{index}"
                print(f"round {index}: {gateways} gateway(s), {workers} worker(s), {count} services ...")
                results.append(
                    asyncio.run(
                        run_configuration(suite, label, gateways, workers, count, args.concurrency, run)
                    )
                )
        finally:
            suite.stop_all()
            drop_databases(server_url, urls)
    print()
    header = ("gateways", "workers", "services", "seconds", "per s", "p50 ms", "p99 ms")
    print(" ".join(f"{h:>8}" for h in header) + "  operations per worker")
    for r in results:
        print(
            f"{r.gateways:>8} {r.workers:>8} {r.services:>8} {r.seconds:>8.2f} {r.per_second:>8.2f} "
            f"{r.p50_ms:>8.0f} {r.p99_ms:>8.0f}  {r.per_worker}"
        )
    baseline = [r.seconds for r in results if r.workers == 1]
    scaled = [r.seconds for r in results if r.workers == 2]
    ratio = (sum(baseline) / len(baseline)) / (sum(scaled) / len(scaled))
    print(f"\nthroughput ratio, 2 gateways + 2 workers vs 1 + 1 (baseline, same run): {ratio:.2f}x")
    failed = [f"{r.gateways}+{r.workers}: {name}" for r in results for name, ok in r.checks.items() if not ok]
    for line in failed:
        print(f"CHECK FAILED {line}")
    if not failed:
        print(
            "checks passed: every operation succeeded, each service once in the catalog, one GitOps commit "
            "each, each operation ended in exactly one worker"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
