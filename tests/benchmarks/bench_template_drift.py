"""Benchmark: template drift of 1,000 services, and the hand-edit check of their GitOps directories.

1,000 services of a golden path are registered on revision 1 (rendered and stored as the create flow does),
then revision 2 adds a startup probe and raises the memory limit. Timed, in the same run:

- drift: the catalog's drift use case for the whole template (reads every service environment, renders
  revision 1 and revision 2 with each one's parameters, diffs them) plus the encoding of its answer;
- the baseline: rendering the same 1,000 services once from scratch (the template document parsed each time,
  every cache cleared): what a script without stored revisions would pay just to see the new shape;
- the hand-edit check: one walk of a GitOps repository holding one Paved commit per service (and a few
  hand edits) for all 1,000 directories, against reading every directory's files at the head (what any
  comparison with Paved's last render must read at least).

The database is a fresh one on PAVED_BENCH_DATABASE_URL or PAVED_TEST_DATABASE_URL (PostgreSQL; default
postgres@127.0.0.1:5432), dropped afterwards.

    uv run python tests/benchmarks/bench_template_drift.py [--services N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from paved.catalog.v1 import catalog_pb2
from paved_catalog import convert
from paved_catalog.__main__ import build_catalog
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.placeholders import compiled
from paved_catalog.render_context import RenderContext
from paved_catalog.rendering import render
from paved_catalog.settings import CatalogSettings
from paved_catalog.template_library import parse_document
from paved_kit.db import create_engine
from paved_kit.migrations import prepare_schema
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.gitops_history import directory_histories
from sqlalchemy.engine import make_url

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "bench-web"
MEMORY_LIMIT = "                      memory: 512Mi\n"
READINESS = "                  readinessProbe:\n"
STARTUP = (
    "                  startupProbe:\n"
    "                    httpGet:\n"
    "                      path: /healthz\n"
    "                      port: http\n"
    "                    failureThreshold: 30\n"
)


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _documents() -> tuple[str, str]:
    first = builtin_documents()["web-service.yaml"].replace("name: web-service", f"name: {TEMPLATE}", 1)
    second = first.replace(MEMORY_LIMIT, MEMORY_LIMIT.replace("512Mi", "1Gi")).replace(
        READINESS, STARTUP + READINESS
    )
    return first, second


def _parameters(i: int) -> dict[str, object]:
    return {"service_name": f"svc-{i:05d}", "language": "go", "database": "none", "min_instances": 1 + i % 4}


def _best(seconds: list[float]) -> float:
    return min(seconds)


async def _register(url: str, count: int) -> tuple[object, float]:
    engine = create_engine(url)
    await prepare_schema(engine, MIGRATIONS, migrate=True)
    catalog = build_catalog(CatalogSettings(database_url=url, port=0), engine)
    first, second = _documents()
    created = await catalog.templates.create_template(first, "")
    started = time.perf_counter()
    for i in range(count):
        params = _parameters(i)
        plan = await catalog.templates.render(
            TEMPLATE, params, RenderContext(team=f"team-{i % 20}", environment="development")
        )
        message = catalog_pb2.Service(
            name=f"services/{params['service_name']}",
            team=f"team-{i % 20}",
            environment="development",
            template=f"templates/{TEMPLATE}",
            template_revision=plan.template_revision,
            plan=convert.plan_to_proto(plan),
            state=catalog_pb2.Service.STATE_ACTIVE,
        )
        message.parameters.update(dict(plan.parameters))
        await catalog.registry.create_service(convert.service_draft(message, str(params["service_name"])), "")
    seconds = time.perf_counter() - started
    await catalog.templates.update_template(TEMPLATE, second, created.row.etag, "bench", "probe, 1Gi")
    return (catalog, engine), seconds


async def _drift(catalog: object, count: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        drift = await catalog.drift.drift(TEMPLATE)  # type: ignore[attr-defined]
        encoded = convert.template_drift_to_proto(drift).SerializeToString()
        samples.append(time.perf_counter() - start)
        assert len(drift.services) == count and all(len(s.diff.objects) == 1 for s in drift.services), drift
        assert encoded
    return _best(samples)


def _from_scratch(count: int, rounds: int) -> float:
    _, second = _documents()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for i in range(count):
            compiled.cache_clear()
            parse_document.cache_clear()
            spec = parse_template_document(second).spec
            assert spec is not None
            render(
                spec,
                2,
                _parameters(i),
                RenderContext(team=f"team-{i % 20}", environment="development"),
                _defaults(),
            )
        samples.append(time.perf_counter() - start)
    return _best(samples)


def _defaults() -> object:
    from paved_catalog.render_context import PlatformDefaults

    return PlatformDefaults()


def _gitops(count: int, edited: int) -> tuple[float, float, float]:
    """Seconds to build the repository, to check every directory, and to merely read every directory."""
    with tempfile.TemporaryDirectory() as scratch:
        repo = GitOpsRepository(Path(scratch) / "gitops.git")
        body = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 2\n"
        directories = [f"services/team-{i % 20}/svc-{i:05d}/development" for i in range(count)]
        start = time.perf_counter()
        for i, directory in enumerate(directories):
            repo.commit_directory(
                directory,
                {f"{directory}/k8s/compute.yaml": body, f"{directory}/docs/index.md": b"# svc"},
                message="Provision",
                operation_id=f"op-{i}",
                step="gitops_commit",
            )
        built = time.perf_counter() - start
        work = Path(scratch) / "work"
        subprocess.run(["git", "clone", "-q", str(repo.path), str(work)], check=True)
        for directory in directories[:: max(1, count // edited)][:edited]:
            (work / directory / "k8s" / "compute.yaml").write_bytes(body.replace(b"2\n", b"5\n"))
        git = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]
        subprocess.run([*git, "commit", "-qam", "by hand"], cwd=work, check=True)
        subprocess.run([*git, "push", "-q", "origin", "HEAD:main"], cwd=work, check=True)
        start = time.perf_counter()
        found = directory_histories(repo, directories)
        checked = time.perf_counter() - start
        assert sum(h.hand_edited for h in found.values()) == edited, "hand edits not all found"
        start = time.perf_counter()
        for directory in directories:
            for path in repo.list_files(directory):
                repo.read_file(path)
        read = time.perf_counter() - start
    return built, checked, read


async def run(count: int, rounds: int) -> None:
    server_url = os.environ.get("PAVED_BENCH_DATABASE_URL") or os.environ.get(
        "PAVED_TEST_DATABASE_URL", DEFAULT_SERVER_URL
    )
    database = f"paved_bench_drift_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_dsn(server_url))
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    url = make_url(server_url).set(database=database).render_as_string(hide_password=False)
    print(
        f"database: PostgreSQL at {make_url(server_url).host}, fresh database {database}; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    try:
        (catalog, engine), registered = await _register(url, count)
        print(f"registered {count} services on revision 1 in {registered:.1f} s; revision 2 written")
        drift = await _drift(catalog, count, rounds)
        scratch = _from_scratch(count, rounds)
        print(
            f"drift of {count} services (read, render both revisions, diff, encode): {drift:.2f} s, "
            f"{drift / count * 1000:.2f} ms per service"
        )
        print(
            f"baseline, rendering them once from scratch (parse + render): {scratch:.2f} s, "
            f"{scratch / count * 1000:.2f} ms per service"
        )
        print(f"verdict: drift costs {drift / scratch:.2f}x one from-scratch render of the fleet")
        await engine.dispose()  # type: ignore[attr-defined]
    finally:
        admin = await asyncpg.connect(_dsn(server_url))
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
    built, checked, read = _gitops(count, max(1, count // 100))
    print(
        f"gitops: {count} Paved commits in {built:.1f} s; hand-edit check of all {count} directories "
        f"{checked:.2f} s ({checked / count * 1000:.2f} ms each), reading every directory's files at the "
        f"head {read:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.services, args.rounds))


if __name__ == "__main__":
    main()
