"""Anomaly rules' evaluation cycle: one rescoring of every service's four watched metrics (request rate,
error rate, p99 latency, CPU) over two weeks of hourly history, on PostgreSQL.

    uv run python tests/benchmarks/bench_anomaly_cycle.py                    # 10,000 services (long)
    uv run python tests/benchmarks/bench_anomaly_cycle.py --services 250     # a sample of the fleet

A fresh database on the server of PAVED_BENCH_DATABASE_URL or PAVED_TEST_DATABASE_URL (default
postgres@127.0.0.1:5432) gets one default anomaly rule per service and 336 hourly roll-ups per series
(written with COPY); 1 % of the services get an error-rate spike in the latest hour. Then the real
``AnomalyWatch.refresh`` of the alerting service runs (the same code the evaluation loop calls): one bulk
read of the roll-ups, the scoring in a worker thread, a likely-cause lookup per anomalous service (no
provisioning is configured, so each says so), and the scores handed to the evaluator; followed by one
evaluation cycle that fires the anomaly alerts. Reported: wall time and process CPU per cycle, the read and
the scoring apart, CPU per series, and the projection to 10,000 x 4 series when fewer were run.

Baseline in the same run, on the same series: the trailing-week mean/stddev z-score of the latest hour (the
cheap band of GitLab's Prometheus recipe, which ``bench_anomaly_detection.py`` shows to be less accurate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

import asyncpg
import numpy as np
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).parent))

from databases import describe, postgres_database
from paved_alerting.anomaly_watch import WATCHED, live_scores
from paved_alerting.app import build_app
from paved_alerting.clock import ManualClock
from paved_alerting.evaluator import AlertState
from paved_alerting.hourly import HOUR, hour_start, regular, trimmed
from paved_alerting.mapping import new_rule_row
from paved_alerting.rules import build_rule, default_rule_drafts
from paved_alerting.settings import AlertingSettings
from paved_kit.db import create_engine

NOW = 1_800_057_600 + 1800
HOURS = 336
BASE = {"requests_per_second": 200.0, "error_rate": 0.002, "latency_p99": 120.0, "cpu": 1.5}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def series_values(rng: np.random.Generator, metric: str, spike: bool) -> np.ndarray:
    hours = np.arange(HOURS)
    daily = 1.0 + 0.5 * np.sin(2 * np.pi * (hours - 9) / 24)
    values = BASE[metric] * daily * (1 + 0.03 * rng.standard_normal(HOURS))
    if spike and metric == "error_rate":
        values[-1] *= 10
    return values


async def populate(url: str, services: list[str], spiking: set[str]) -> None:
    """Anomaly rules and hourly roll-ups, written with COPY (what a fleet's history looks like)."""
    first = hour_start(NOW) - HOUR * (HOURS - 1)
    rng = np.random.default_rng(5)
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        rules = []
        for service in services:
            rule_id, draft = default_rule_drafts(service, "core")[-1]
            row = new_rule_row(
                build_rule(rule_id, draft, default_rule=True), etag="x", request_id=None, now=NOW
            )
            rules.append(
                (
                    row.rule_id,
                    row.service,
                    row.environment,
                    row.team,
                    row.display_name,
                    row.metric,
                    row.operator,
                    row.threshold,
                    row.for_ms,
                    row.severity,
                    json.dumps({}),
                    json.dumps(dict(row.annotations)),
                    True,
                    True,
                    row.kind,
                    row.sensitivity,
                    row.etag,
                    NOW,
                    NOW,
                )
            )
        await connection.copy_records_to_table(
            "alert_rules",
            records=rules,
            columns=[
                "rule_id",
                "service",
                "environment",
                "team",
                "display_name",
                "metric",
                "operator",
                "threshold",
                "for_ms",
                "severity",
                "labels",
                "annotations",
                "enabled",
                "default_rule",
                "kind",
                "sensitivity",
                "etag",
                "create_time",
                "update_time",
            ],
        )
        for offset in range(0, len(services), 500):
            records = []
            for service in services[offset : offset + 500]:
                for metric in WATCHED:
                    values = series_values(rng, metric, service in spiking)
                    for i, value in enumerate(values):
                        v = float(value)
                        records.append((service, "", metric, HOUR, first + HOUR * i, 12, 12 * v, v, v, "{}"))
            await connection.copy_records_to_table(
                "metric_rollups",
                records=records,
                columns=[
                    "service",
                    "environment",
                    "metric",
                    "resolution",
                    "bucket_start",
                    "count",
                    "total",
                    "minimum",
                    "maximum",
                    "sketch",
                ],
            )
        await connection.execute("ANALYZE metric_rollups")
    finally:
        await connection.close()


def zscore_latest(series: dict[tuple[str, str], list[float]]) -> int:
    """Baseline: latest hour against the trailing week's mean and stddev; returns how many flagged."""
    flagged = 0
    for values in series.values():
        y = np.asarray(values)
        week = y[-169:-1]
        sd = float(week.std()) or 1e-9
        if abs(y[-1] - float(week.mean())) / sd > 3:
            flagged += 1
    return flagged


async def run(count: int) -> None:
    services = [f"svc-{i:05d}" for i in range(count)]
    spiking = set(services[::100])
    async with postgres_database("bench_anomaly_cycle") as url:
        print(f"database: {describe(url)}; {count} services x {len(WATCHED)} metrics, {HOURS} hourly points")
        settings = AlertingSettings(database_url=url, port=0, evaluation_interval_seconds=0)
        database = create_engine(url)
        app = await build_app(settings, database, ManualClock(NOW))
        started = time.perf_counter()
        await populate(url, services, spiking)
        print(f"populated in {time.perf_counter() - started:.1f} s")
        await app.engine.load()
        assert app.engine.watch is not None and app.history is not None

        # The read alone, as the watch does it.
        first = hour_start(NOW) - HOUR * (HOURS - 1)
        wall, cpu = time.perf_counter(), cpu_seconds()
        means = await app.history.hourly_means(services, "", WATCHED, first, hour_start(NOW) + HOUR)
        read_wall, read_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        series = {key: trimmed(regular(by_hour, first, HOURS), first)[0] for key, by_hour in means.items()}

        # The scoring alone, and the baseline on the same series.
        wall, cpu = time.perf_counter(), cpu_seconds()
        scores = live_scores(series, 4.0)
        score_wall, score_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        wall, cpu = time.perf_counter(), cpu_seconds()
        baseline_flagged = zscore_latest(series)
        base_wall, base_cpu = time.perf_counter() - wall, cpu_seconds() - cpu

        # The whole cycle: refresh (read + score + causes) and the evaluation that fires the alerts.
        wall, cpu = time.perf_counter(), cpu_seconds()
        _, transitions = await app.engine.evaluate(NOW, rescore=True)
        cycle_wall, cycle_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        fired = {t.rule.service for t in transitions if t.status.state is AlertState.FIRING}

        n = len(series)
        print(
            f"series scored: {n}; anomalous services fired: {len(fired)} of {len(spiking)} with a spike "
            f"(missed {len(spiking - fired)}, extra {len(fired - spiking)})"
        )
        print(f"read (bulk, PostgreSQL):   {read_wall:8.2f} s wall  {read_cpu:8.2f} s CPU")
        print(
            f"scoring (STL+MAD+level):   {score_wall:8.2f} s wall  {score_cpu:8.2f} s CPU  "
            f"{1000 * score_cpu / n:.1f} ms CPU/series; {sum(1 for v in scores.values() if v[0] > 5.5)} "
            "services above medium"
        )
        print(
            f"baseline z-score (week):   {base_wall:8.2f} s wall  {base_cpu:8.2f} s CPU  "
            f"{1000 * base_cpu / n:.3f} ms CPU/series; flagged {baseline_flagged} series"
        )
        print(f"whole cycle (refresh+eval):{cycle_wall:8.2f} s wall  {cycle_cpu:8.2f} s CPU")
        if count < 10_000:
            factor = 10_000 / count
            print(
                f"projected to 10,000 services x 4 metrics (x{factor:g}, linear in series): "
                f"{cycle_wall * factor / 60:.1f} min wall, {cycle_cpu * factor / 60:.1f} min CPU per cycle"
            )
        per_core = 300 / (score_cpu / n) / 1000
        print(f"one core rescoring every 300 s keeps up with about {per_core:.1f} thousand series")
        await app.close()
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    args = parser.parse_args()
    if args.services < 100:
        parser.error("--services: at least 100 (1 % of them get an anomaly)")
    asyncio.run(run(args.services))


if __name__ == "__main__":
    main()
