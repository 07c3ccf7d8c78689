"""Benchmark: FOCUS ingest through gRPC into PostgreSQL, report latency, and DuckDB as the yardstick.

    uv run python tests/benchmarks/bench_cost_ingest.py            # 1,000,000 rows
    uv run python tests/benchmarks/bench_cost_ingest.py --quick    # 50,000 rows, smoke run
    uv run python tests/benchmarks/bench_cost_ingest.py --rows 200000 --teams 1000 --services 50000

Generates rows from the distributions of the FOCUS sample (templates drawn from its rows, costs scaled,
charge hours spread over September 2024, tags naming one of 50,000 services owned by one of 1,000 teams
as often as the sample tags rows), starts ``python -m paved_cost`` against a fresh PostgreSQL database,
streams the CSV in 1 MiB chunks, then measures GetTeamCosts for the month and GetServiceCost of one
service. The baseline is DuckDB as a user would run it: ingest = loading the same CSV into its own
table in a database file (team and service pulled out of the tags at load, as our ingest attributes
them), query = the same team totals and the same service total answered from that table. Ingest is
compared with ingest and query with query, in the same run; the team totals must match.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import duckdb
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from sqlalchemy import make_url

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "tests" / "data" / "focus" / "focus_sample.csv"
DEFAULT_DB = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
CHUNK = 1 << 20


def generate(path: Path, rows: int, teams: int, services: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        templates = list(reader)
    col = {name: i for i, name in enumerate(header)}
    applications = [f"svc-{index:05d}" for index in range(services)]
    team_of = {app: f"team-{rng.randrange(teams):04d}" for app in applications}
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for _ in range(rows):
            row = list(rng.choice(templates))
            factor = rng.uniform(0.5, 1.5)
            for name in ("BilledCost", "EffectiveCost", "ListCost"):
                value = row[col[name]]
                if value not in ("NULL", ""):
                    row[col[name]] = f"{float(value) * factor:.10f}"
            day, hour = rng.randint(1, 30), rng.randint(0, 23)
            row[col["ChargePeriodStart"]] = f"2024-09-{day:02d} {hour:02d}:00:00"
            row[col["ChargePeriodEnd"]] = f"2024-09-{day:02d} {hour:02d}:59:59"
            row[col["BillingPeriodStart"]] = "2024-09-01 00:00:00"
            row[col["BillingPeriodEnd"]] = "2024-10-01 00:00:00"
            if row[col["Tags"]] != "NULL":
                app = rng.choice(applications)
                row[col["Tags"]] = json.dumps(
                    {"application": app, "team": team_of[app], "environment": "prod"}
                )
            writer.writerow(row)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a local process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def backend_cpu(admin: asyncpg.Connection, database: str) -> dict[int, float]:
    pids = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return {row["pid"]: cpu_seconds(row["pid"]) for row in pids}


async def cpu_per_call(
    admin: asyncpg.Connection, database: str, pid: int, mark: tuple[float, dict[int, float]], calls: int
) -> tuple[float, float]:
    """Milliseconds of server and PostgreSQL CPU per call since ``mark``."""
    server_before, pg_before = mark
    pg_after = await backend_cpu(admin, database)
    pg = sum(cpu - pg_before.get(backend, 0.0) for backend, cpu in pg_after.items())
    return (cpu_seconds(pid) - server_before) * 1000 / calls, pg * 1000 / calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chunks(path: Path) -> Iterator[cost_pb2.ImportBillingRequest]:
    yield cost_pb2.ImportBillingRequest(
        header=cost_pb2.ImportHeader(
            source="bench", mode=cost_pb2.IMPORT_MODE_ALL_OR_NOTHING, null_token="NULL"
        )
    )
    with path.open("rb") as handle:
        while data := handle.read(CHUNK):
            yield cost_pb2.ImportBillingRequest(csv_chunk=data)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def timed(calls: int, make: object) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        await make()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


class DuckDBBaseline:
    """DuckDB with its own table of the same rows, in a database file, as a user would set it up."""

    def __init__(self, database: Path) -> None:
        self.connection = duckdb.connect(str(database))

    def ingest(self, path: Path) -> float:
        """Seconds to load the CSV into the table (team and service extracted from the tags)."""
        start = time.perf_counter()
        self.connection.execute(
            f"""
            CREATE TABLE focus AS
            SELECT *,
                   coalesce(json_extract_string(Tags, '$.service'),
                            json_extract_string(Tags, '$.application')) AS service,
                   coalesce(json_extract_string(Tags, '$.team'), json_extract_string(Tags, '$.owner'),
                            json_extract_string(Tags, '$.cost_center')) AS team
            FROM read_csv('{path}', nullstr = 'NULL', header = true,
                          types = {{'EffectiveCost': 'DECIMAL(38, 12)', 'BilledCost': 'DECIMAL(38, 12)',
                                   'ListCost': 'DECIMAL(38, 12)', 'ContractedCost': 'DECIMAL(38, 12)',
                                   'ChargePeriodStart': 'TIMESTAMP', 'ChargePeriodEnd': 'TIMESTAMP'}})
            """
        )
        self.connection.execute("CHECKPOINT")
        return time.perf_counter() - start

    def team_totals(self) -> dict[str, Decimal]:
        result = self.connection.execute(
            """
            SELECT team, sum(EffectiveCost) FROM focus
            WHERE ChargePeriodStart >= TIMESTAMP '2024-09-01' AND ChargePeriodStart < TIMESTAMP '2024-10-01'
            GROUP BY team
            """
        ).fetchall()
        return {team or "": Decimal(str(cost)) for team, cost in result}

    def team_report(self) -> dict[str, Decimal]:
        """What GetTeamCosts reads, answered by DuckDB: each team's daily costs over the previous and the
        current month (its projection and trend need the days), and each team's distinct services in
        the month; the month totals come from the same rows."""
        daily = self.connection.execute(
            """
            SELECT team, CAST(ChargePeriodStart AS DATE) AS day, sum(EffectiveCost) FROM focus
            WHERE ChargePeriodStart >= TIMESTAMP '2024-08-01' AND ChargePeriodStart < TIMESTAMP '2024-10-01'
            GROUP BY team, day
            """
        ).fetchall()
        services = self.connection.execute(
            """
            SELECT team, count(DISTINCT service) FROM focus
            WHERE ChargePeriodStart >= TIMESTAMP '2024-09-01' AND ChargePeriodStart < TIMESTAMP '2024-10-01'
              AND team IS NOT NULL
            GROUP BY team
            """
        ).fetchall()
        totals: dict[str, Decimal] = {}
        for team, day, cost in daily:
            if day.month == 9:
                totals[team or ""] = totals.get(team or "", Decimal(0)) + cost
        assert len(services) <= len(totals)
        return totals

    def service_total(self, service: str) -> Decimal:
        row = self.connection.execute(
            """
            SELECT sum(EffectiveCost) FROM focus
            WHERE service = ? AND ChargePeriodStart >= TIMESTAMP '2024-09-01'
              AND ChargePeriodStart < TIMESTAMP '2024-10-01'
            """,
            [service],
        ).fetchone()
        return Decimal(str(row[0] if row and row[0] is not None else 0))


def timed_sync(calls: int, function: object) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 rows and fewer latency samples")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--teams", type=int, default=1_000)
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument(
        "--reuse-csv",
        type=Path,
        help="keep the generated CSV here and reuse it on later runs (its row count wins over --rows)",
    )
    parser.add_argument("--database-url", default=os.environ.get("PAVED_TEST_DATABASE_URL", DEFAULT_DB))
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    rows = 50_000 if args.quick else args.rows
    queries = 30 if args.quick else args.queries
    if not SAMPLE.is_file():
        sys.exit(f"FOCUS sample not found at {SAMPLE}")

    admin_dsn = args.database_url.replace("postgresql+asyncpg://", "postgresql://")
    database = f"paved_bench_cost_{os.getpid()}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{database}"')
    server: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            csv_path = Path(tmp) / "focus.csv"
            t0 = time.perf_counter()
            if args.reuse_csv and args.reuse_csv.is_file():
                csv_path = args.reuse_csv
                rows = sum(1 for _ in csv_path.open("rb")) - 1
            else:
                generate(csv_path, rows, args.teams, args.services)
                if args.reuse_csv:
                    shutil.copyfile(csv_path, args.reuse_csv)
            size_mb = csv_path.stat().st_size / 1e6
            print(
                f"generated {rows:,} rows ({size_mb:.0f} MB), {args.teams:,} teams, "
                f"{args.services:,} services in {time.perf_counter() - t0:.1f}s"
            )
            print(f"database: PostgreSQL at {make_url(args.database_url).host} (fresh database {database})")

            port = free_port()
            url = args.database_url.rsplit("/", 1)[0] + f"/{database}"
            env = {
                **os.environ,
                "PAVED_COST_DATABASE_URL": url,
                "PAVED_COST_PORT": str(port),
                "PAVED_COST_LOG_LEVEL": "WARNING",
                "PAVED_COST_LOG_FORMAT": "json",
            }
            server = subprocess.Popen([sys.executable, "-m", "paved_cost"], env=env)  # noqa: ASYNC220
            channel = grpc.aio.insecure_channel(
                f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)]
            )
            health = health_pb2_grpc.HealthStub(channel)
            deadline = time.monotonic() + 120
            while True:
                try:
                    await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                    break
                except grpc.aio.AioRpcError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        sys.exit("the cost server did not start")
                    await asyncio.sleep(0.2)
            stub = cost_pb2_grpc.CostServiceStub(channel)

            load_before = os.getloadavg()
            server_cpu = cpu_seconds(server.pid)
            pg_cpu = await backend_cpu(admin, database)
            start = time.perf_counter()
            response = await stub.ImportBilling(chunks(csv_path), timeout=1800)
            ingest_s = time.perf_counter() - start
            server_cpu = cpu_seconds(server.pid) - server_cpu
            pg_after = await backend_cpu(admin, database)
            pg_used = sum(cpu - pg_cpu.get(pid, 0.0) for pid, cpu in pg_after.items())
            assert response.rows_imported == rows, response
            # Other work on the machine stretches wall-clock time; CPU time is what the import itself costs.
            print(
                f"load average before/after: {load_before[0]:.1f} / {os.getloadavg()[0]:.1f} "
                f"on {os.cpu_count()} cores"
            )
            print(
                f"cpu: server {server_cpu:.1f}s + postgresql backend {pg_used:.1f}s "
                f"= {server_cpu + pg_used:.1f} cpu-s, "
                f"{rows / (server_cpu + pg_used):,.0f} rows per cpu-second "
                f"(~{rows / max(server_cpu, pg_used):,.0f} rows/s if the two ran in parallel on idle cores)"
            )
            print(
                f"ingest: {rows:,} rows in {ingest_s:.2f}s = {rows / ingest_s:,.0f} rows/s end to end "
                f"(goal >= 50,000 rows/s)"
            )

            team_request = cost_pb2.GetTeamCostsRequest(month="2024-09")
            teams = await stub.GetTeamCosts(team_request)
            cpu_mark = (cpu_seconds(server.pid), await backend_cpu(admin, database))
            team_times = await timed(queries, lambda: stub.GetTeamCosts(team_request))
            team_cpu = await cpu_per_call(admin, database, server.pid, cpu_mark, queries)
            service_name = _any_application(csv_path)
            service_request = cost_pb2.GetServiceCostRequest(
                service=f"services/{service_name}", month="2024-09"
            )
            cpu_mark = (cpu_seconds(server.pid), await backend_cpu(admin, database))
            service_times = await timed(queries, lambda: stub.GetServiceCost(service_request))
            service_cpu = await cpu_per_call(admin, database, server.pid, cpu_mark, queries)
            for label, values, (server_ms, pg_ms) in (
                ("team breakdown (GetTeamCosts)", team_times, team_cpu),
                ("one service (GetServiceCost)", service_times, service_cpu),
            ):
                print(
                    f"{label}: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms, "
                    f"mean {statistics.mean(values):.1f} ms over {len(values)} calls (goal p99 < 100 ms); "
                    f"cpu per call: server {server_ms:.1f} ms + postgresql {pg_ms:.1f} ms"
                )

            ours = {
                t.team: Decimal(t.current_month.units) + Decimal(t.current_month.nanos) / 10**9
                for t in teams.teams
            }
            ours[""] = Decimal(teams.unallocated.units) + Decimal(teams.unallocated.nanos) / 10**9
            duck = DuckDBBaseline(Path(tmp) / "focus.duckdb")
            duck_ingest_s = duck.ingest(csv_path)
            theirs = duck.team_totals()
            assert duck.team_report() == theirs
            duck_team_times = timed_sync(queries, duck.team_report)
            duck_service_times = timed_sync(queries, lambda: duck.service_total(service_name))
            mismatched = [
                team
                for team in theirs
                if abs(theirs[team] - ours.get(team, Decimal(0))) > Decimal("0.000001")
            ]
            print(
                f"duckdb {duckdb.__version__}: ingest into its own table {duck_ingest_s:.2f}s; team totals "
                f"{'match' if not mismatched else f'DIFFER for {mismatched[:5]}'} ({len(theirs)} groups)"
            )
            for label, values in (
                ("duckdb team breakdown (daily rows per team, services)", duck_team_times),
                ("duckdb one service", duck_service_times),
            ):
                print(
                    f"{label}: p50 {percentile(values, 0.5):.1f} ms, p99 {percentile(values, 0.99):.1f} ms "
                    f"(in-process: no RPC)"
                )
            print(
                f"ratio ingest vs ingest: {ingest_s:.2f}s vs duckdb {duck_ingest_s:.2f}s = "
                f"{ingest_s / duck_ingest_s:.2f}x duckdb's time"
            )
            for label, values, duck_values in (
                ("team breakdown", team_times, duck_team_times),
                ("one service", service_times, duck_service_times),
            ):
                p50 = percentile(values, 0.5) / percentile(duck_values, 0.5)
                p99 = percentile(values, 0.99) / percentile(duck_values, 0.99)
                print(f"ratio query vs query, {label}: p50 {p50:.2f}x, p99 {p99:.2f}x duckdb's time")
            print(f"load average at end: {os.getloadavg()[0]:.2f}")
            await channel.close()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()


def _any_application(path: Path) -> str:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            if row["Tags"] != "NULL":
                return str(json.loads(row["Tags"])["application"])
    return "none"


if __name__ == "__main__":
    asyncio.run(main())
