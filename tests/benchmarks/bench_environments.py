"""Environments benchmark: the whole suite as separate processes on PostgreSQL, then

1. a promotion staging → production with every gate passing (production's approval turned off and its
   soak time set to 0 for the run, so nothing waits for a person), submit → done, against what a user
   would do without promotions: a deploy of the same version straight into a production environment of a
   service (submit → done), in the same run; the ratio is what the gates and the target's registration
   cost;
2. ``GET /api/services/{id}`` of a service in 3 environments against one in a single environment
   (p50 at one client, alternated round after round); the ratio is what listing environments costs (each
   environment's own health is asked of alerting in one parallel round after the catalog's answer, and
   each environment's estimate comes with the service's cost).

Run: ``uv run python tests/benchmarks/bench_environments.py [--quick]``; PostgreSQL from
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

import httpx

sys.path.insert(0, str(Path(__file__).parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).parent))

import e2e_suite
from bench_gateway import percentile, summary
from e2e_suite import create_databases, drop_databases, start_suite

TOKEN = "bench-token-" + uuid.uuid4().hex
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
e2e_suite.START_TIMEOUT = 240.0


async def wait_done(http: httpx.AsyncClient, operation: str) -> dict[str, Any]:
    path = f"/api/operations/{operation.removeprefix('operations/')}"
    while True:
        body: dict[str, Any] = (await http.get(path)).json()
        if body["done"]:
            if body["status"] != "succeeded":
                raise RuntimeError(f"{operation} failed: {body['error']}")
            return body
        await asyncio.sleep(0.01)


async def create(http: httpx.AsyncClient, name: str, environment: str, team: str) -> None:
    response = await http.post(
        "/api/services",
        json={
            "name": name,
            "team": team,
            "template": "web-service",
            "environment": environment,
            "parameters": {"language": "go", "database": "none"},
        },
    )
    if response.status_code != 202:
        raise RuntimeError(f"create failed: {response.status_code} {response.text}")
    await wait_done(http, response.json()["operation"])


async def deploy(http: httpx.AsyncClient, name: str, environment: str, version: str) -> float:
    started = time.perf_counter()
    response = await http.post(
        f"/api/services/{name}/deploy", json={"version": version, "environment": environment}
    )
    if response.status_code != 202:
        raise RuntimeError(f"deploy failed: {response.status_code} {response.text}")
    await wait_done(http, response.json()["operation"])
    return time.perf_counter() - started


async def promote(http: httpx.AsyncClient, name: str) -> float:
    started = time.perf_counter()
    response = await http.post(
        f"/api/services/{name}/promotions", json={"from": "staging", "to": "production"}
    )
    if response.status_code != 202:
        raise RuntimeError(f"promotion failed: {response.status_code} {response.text}")
    await wait_done(http, response.json()["operation"])
    return time.perf_counter() - started


async def measure(gateway_url: str, args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=60) as http:
        changed = await http.patch(
            "/api/environments/production", json={"approval_required": False, "soak_seconds": 0}
        )
        if changed.status_code != 200:
            raise RuntimeError(f"cannot set up production: {changed.text}")
        promotions: list[float] = []
        direct: list[float] = []
        print(f"{args.pairs} promotions staging → production and {args.pairs} direct production deploys ...")
        for i in range(args.pairs):
            promoted, deployed = f"promo-{i}-{uuid.uuid4().hex[:6]}", f"direct-{i}-{uuid.uuid4().hex[:6]}"
            team = f"bench-{i}"  # a team per pair: each stays well within its quota
            await create(http, promoted, "development", team)
            await create(http, promoted, "staging", team)
            await deploy(http, promoted, "staging", "1.0.1")
            await create(http, deployed, "production", team)
            # Alternate which goes first so drift affects both alike.
            if i % 2:
                direct.append(await deploy(http, deployed, "production", "1.0.1"))
                promotions.append(await promote(http, promoted))
            else:
                promotions.append(await promote(http, promoted))
                direct.append(await deploy(http, deployed, "production", "1.0.1"))
        results["direct_deploy"] = summary("deploy straight to production → done", direct)
        results["promotion"] = summary("promotion staging → production → done", promotions)
        results["promotion_ratio_p50"] = results["promotion"]["p50_ms"] / results["direct_deploy"]["p50_ms"]

        three = promoted  # development, staging, production
        single = deployed  # production only
        for name, count in ((three, 3), (single, 1)):
            body = (await http.get(f"/api/services/{name}")).json()
            if len(body["environments"]) != count:
                raise RuntimeError(f"{name} has {len(body['environments'])} environments, expected {count}")
        many: list[float] = []
        one: list[float] = []
        deadline_rounds = args.rounds
        for _ in range(deadline_rounds):
            for target, sink in ((single, one), (three, many)):
                end = time.perf_counter() + args.seconds
                while time.perf_counter() < end:
                    started = time.perf_counter()
                    response = await http.get(f"/api/services/{target}")
                    if response.status_code != 200:
                        raise RuntimeError(response.text)
                    sink.append(time.perf_counter() - started)
        results["get_single_environment"] = summary("GET /api/services/{id}, 1 environment", one)
        results["get_three_environments"] = summary("GET /api/services/{id}, 3 environments", many)
        results["get_ratio_p50"] = percentile(many, 50) / percentile(one, 50)
    print(
        f"promotion / direct deploy p50: {results['promotion_ratio_p50']:.2f}x; "
        f"GET 3 environments / 1 environment p50: {results['get_ratio_p50']:.2f}x"
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    args.pairs = 3 if args.quick else 10
    args.seconds = 1.0 if args.quick else 5.0
    args.rounds = 1 if args.quick else 3
    server_url = os.environ.get("PAVED_TEST_DATABASE_URL", DEFAULT_URL)
    urls = create_databases(server_url, f"paved_bench_env_{uuid.uuid4().hex[:8]}")
    host = server_url.rsplit("@", 1)[-1]
    print(f"database: PostgreSQL at {host}, one database per service; {os.cpu_count()} CPU(s)")
    tokens = json.dumps([{"token": TOKEN, "subject": "bench", "roles": ["admin"]}])
    with tempfile.TemporaryDirectory(prefix="paved-bench-") as data_dir:
        suite = start_suite(
            Path(data_dir),
            database_urls=urls,
            extra_env={
                "gateway": {"PAVED_GATEWAY_TOKENS": tokens},
                "provisioning": {
                    "PAVED_PROVISIONING_POLL_INTERVAL_SECONDS": "0.02",
                    "PAVED_PROVISIONING_DEFAULT_MAX_SERVICES": "1000",
                },
            },
        )
        try:
            results = asyncio.run(measure(suite.gateway_url, args))
        finally:
            suite.stop_all()
            drop_databases(server_url, urls)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
