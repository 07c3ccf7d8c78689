"""Fleet upgrade benchmark: the whole suite as separate processes on PostgreSQL.

N services (default 200) are created from revision 1 of a golden path through ``POST /api/services`` (render,
price, policy, provision: one GitOps commit each), eight at a time; that is the from-scratch alternative,
timed in the same run. Revision 2 then adds a startup probe and raises the memory limit, and

1. a dry run plans the upgrade of all N (drift with each new plan, hand-edit check, policy and price of
   each new plan, waves): request → answer;
2. the upgrade itself in the default waves (1, 10 %, rest), no bake: request → operation done, one commit
   per service; throughput in services per second against creating them.

Run: ``uv run python tests/benchmarks/bench_template_upgrade.py [--services N]``; PostgreSQL from
``PAVED_TEST_DATABASE_URL`` (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
import httpx
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_catalog.builtins import builtin_documents

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))

import e2e_suite
from e2e_suite import create_databases, drop_databases, start_suite

TOKEN = "bench-token-" + uuid.uuid4().hex
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "bench-fleet"
MEMORY_LIMIT = "                      memory: 512Mi\n"
READINESS = "                  readinessProbe:\n"
STARTUP = (
    "                  startupProbe:\n                    httpGet:\n                      path: /healthz\n"
    "                      port: http\n"
)
e2e_suite.START_TIMEOUT = 400.0


async def wait_done(http: httpx.AsyncClient, operation: str) -> dict[str, Any]:
    path = f"/api/operations/{operation.removeprefix('operations/')}"
    while True:
        body: dict[str, Any] = (await http.get(path)).json()
        if body["done"]:
            return body
        await asyncio.sleep(0.25)


async def create(http: httpx.AsyncClient, gate: asyncio.Semaphore, name: str) -> None:
    async with gate:
        response = await http.post(
            "/api/services",
            json={
                "name": name,
                "team": "payments",
                "template": TEMPLATE,
                "parameters": {"language": "go", "database": "none"},
            },
        )
        if response.status_code != 202:
            raise RuntimeError(f"create failed: {response.status_code} {response.text}")
        done = await wait_done(http, response.json()["operation"])
        if done["status"] != "succeeded":
            raise RuntimeError(f"create of {name} failed: {done['error']}")


async def measure(suite: e2e_suite.Suite, count: int) -> dict[str, Any]:
    first = builtin_documents()["web-service.yaml"].replace("name: web-service", f"name: {TEMPLATE}", 1)
    second = first.replace(MEMORY_LIMIT, MEMORY_LIMIT.replace("512Mi", "1Gi")).replace(
        READINESS, STARTUP + READINESS
    )
    with grpc.insecure_channel(suite.address("catalog")) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        created = catalog.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=first))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=suite.gateway_url, headers=headers, timeout=600) as http:
            gate = asyncio.Semaphore(8)
            start = time.perf_counter()
            await asyncio.gather(*(create(http, gate, f"fleet-{i:04d}") for i in range(count)))
            scratch = time.perf_counter() - start
            print(f"created {count} services from scratch: {scratch:.1f} s, {count / scratch:.2f} services/s")
            catalog.UpdateTemplate(
                catalog_pb2.UpdateTemplateRequest(
                    name=f"templates/{TEMPLATE}", document=second, etag=created.etag
                )
            )
            start = time.perf_counter()
            dry = await http.post(f"/api/templates/{TEMPLATE}/upgrades", json={"dry_run": True})
            planned = time.perf_counter() - start
            assert dry.status_code == 200 and dry.json()["target_count"] == count, dry.text
            waves = [len(w) for w in dry.json()["waves"]]
            print(
                f"dry run (plan of {count}: drift, hand edits, policy, prices; waves {waves}): "
                f"{planned:.2f} s"
            )
            start = time.perf_counter()
            started = await http.post(f"/api/templates/{TEMPLATE}/upgrades", json={})
            assert started.status_code == 202, started.text
            done = await wait_done(http, started.json()["operation"])
            upgraded = time.perf_counter() - start
            assert done["status"] == "succeeded", done
            report = (await http.get(f"/api/templates/{TEMPLATE}/upgrades/{started.json()['id']}")).json()
            assert len(report["upgraded"]) == count, report
            print(
                f"upgrade of {count} in waves {waves} (plan, then one commit per service): {upgraded:.1f} s, "
                f"{count / upgraded:.2f} services/s"
            )
            print(
                f"verdict: the upgrade moves the fleet {scratch / upgraded:.2f}x as fast as creating it anew"
            )
    return {
        "services": count,
        "create_seconds": scratch,
        "plan_seconds": planned,
        "upgrade_seconds": upgraded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    server_url = os.environ.get("PAVED_TEST_DATABASE_URL", DEFAULT_URL)
    urls = create_databases(server_url, f"paved_bench_upgrade_{uuid.uuid4().hex[:8]}")
    host = server_url.rsplit("@", 1)[-1]
    print(
        f"database: PostgreSQL at {host}, one database per service; {os.cpu_count()} CPU(s), "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    tokens = json.dumps([{"token": TOKEN, "subject": "bench", "roles": ["admin"]}])
    with tempfile.TemporaryDirectory(prefix="paved-bench-") as data_dir:
        suite = start_suite(
            Path(data_dir),
            database_urls=urls,
            extra_env={
                "gateway": {"PAVED_GATEWAY_TOKENS": tokens, "PAVED_GATEWAY_CALL_TIMEOUT_SECONDS": "120"},
                "provisioning": {
                    "PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.02",
                    "PAVED_PROVISIONING_DEFAULT_MAX_SERVICES": "5000",
                    "PAVED_PROVISIONING_DEFAULT_MAX_INSTANCES": "50000",
                    "PAVED_PROVISIONING_DEFAULT_MAX_MONTHLY_COST": "100000000",
                },
            },
        )
        try:
            results = asyncio.run(measure(suite, args.services))
        finally:
            suite.stop_all()
            drop_databases(server_url, urls)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
