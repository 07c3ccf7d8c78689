"""Simulation: Paved's rightsizing loop against a VPA-algorithm baseline on the same synthetic traces.

    uv run python tests/benchmarks/bench_optimizer_simulation.py            # 4 simulated weeks per trace
    uv run python tests/benchmarks/bench_optimizer_simulation.py --days 14 --quick

Traces (per-instance demand, one value a minute, seeded): diurnal, weekly, spikes, slow growth, memory
leak (a deploy every 2 days restarts it), step change (+40 % load on day 14). Every service starts
over-provisioned (1 core, 2 GiB requests; limits equal to requests).

Workload model, per minute: CPU demand above the CPU limit is throttled (the minute counts as a throttled
interval; latency grows with demand / limit, reported as the share of minutes over 2x the unthrottled
latency); memory demand above the memory limit is an OOM kill (the container restarts, a leak starts
over). Monitoring sees what cAdvisor would: usage capped at the limits, the throttled share, the OOM kills.
Samples go through the same roll-up as alerting's history (5-minute points with log histograms).

Both loops look every hour. The VPA baseline is the recommender's algorithm (`vpa_estimates`) with the
updater's rule: apply the target when the request leaves [lower bound, upper bound], limits kept in
proportion. Paved's loop applies `recommend()` at most once a day for decreases and at once for
increases. Reported per trace: CPU and memory saved (time-averaged request vs the initial one, and at the
end), OOM kills and throttled intervals after the first change, number of changes. No database is used.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from paved_alerting import sketch
from paved_cost.rightsizing import Current, recommend, vpa_estimates
from paved_cost.usage import DAY, UsageHistory, UsagePoint

MINUTE = 60.0
STEP = 300.0
GIB = 1024.0**3
MIB = 1024.0**2
START_CPU, START_MEMORY = 1.0, 2 * GIB
WINDOW = 8 * DAY  # history the recommenders read
LAST_WEEK = 7 * DAY  # the steady-state columns: the last week of the run
POLICIES = ("vpa", "vpa-req", "paved")


@dataclass
class Demand:
    """Per-minute demand generator state."""

    cpu: Callable[[float, random.Random], float]
    memory: Callable[[float, random.Random, float], float]  # time, rng, seconds since restart


def diurnal(t: float) -> float:
    return 0.5 + 0.5 * math.sin(2 * math.pi * ((t % DAY) / DAY - 0.25))


def weekday(t: float) -> float:
    return 0.4 if int(t // DAY) % 7 in (5, 6) else 1.0


def noise(rng: random.Random, level: float = 0.05) -> float:
    return max(0.0, 1 + rng.gauss(0, level))


def _spike(t: float) -> float:
    # Three 10-minute spikes a day at fixed but irregular minutes.
    minute = int((t % DAY) // MINUTE)
    day = int(t // DAY)
    starts = ((day * 397) % 1440, (day * 811 + 500) % 1440, (day * 131 + 1000) % 1440)
    return 3.0 if any(s <= minute < s + 10 for s in starts) else 1.0


TRACES: dict[str, Demand] = {
    "diurnal": Demand(
        lambda t, r: (0.05 + 0.15 * diurnal(t)) * noise(r),
        lambda t, r, up: (300 * MIB + 80 * MIB * diurnal(t)) * noise(r, 0.02),
    ),
    "weekly": Demand(
        lambda t, r: (0.05 + 0.2 * diurnal(t) * weekday(t)) * noise(r),
        lambda t, r, up: (300 * MIB + 120 * MIB * diurnal(t) * weekday(t)) * noise(r, 0.02),
    ),
    "spikes": Demand(
        lambda t, r: 0.08 * _spike(t) * noise(r),
        lambda t, r, up: 350 * MIB * (1 + 0.4 * (_spike(t) > 1)) * noise(r, 0.02),
    ),
    "slow-growth": Demand(
        lambda t, r: (0.05 + 0.1 * diurnal(t)) * (1.03 ** (t / DAY)) * noise(r),
        lambda t, r, up: (300 * MIB + 50 * MIB * diurnal(t)) * (1.02 ** (t / DAY)) * noise(r, 0.02),
    ),
    "memory-leak": Demand(
        lambda t, r: (0.05 + 0.1 * diurnal(t)) * noise(r),
        lambda t, r, up: (300 * MIB + 8 * MIB * up / 3600) * noise(r, 0.01),
    ),
    "step-change": Demand(
        lambda t, r: (0.05 + 0.1 * diurnal(t)) * (1.4 if t >= 14 * DAY else 1.0) * noise(r),
        lambda t, r, up: (
            (300 * MIB + 50 * MIB * diurnal(t)) * (1.4 if t >= 14 * DAY else 1.0) * noise(r, 0.02)
        ),
    ),
}
DEPLOY_EVERY = {"memory-leak": 2 * DAY}


@dataclass
class Settings:
    cpu_request: float = START_CPU
    memory_request: float = START_MEMORY
    cpu_limit: float = START_CPU
    memory_limit: float = START_MEMORY


@dataclass
class Outcome:
    name: str
    cpu_saved_avg: float = 0.0
    memory_saved_avg: float = 0.0
    cpu_saved_end: float = 0.0
    memory_saved_end: float = 0.0
    cpu_saved_late: float = 0.0
    memory_saved_late: float = 0.0
    oom_kills: int = 0
    throttled: int = 0
    slow: int = 0
    changes: int = 0
    seconds: float = 0.0


@dataclass
class Monitor:
    """What monitoring keeps: 5-minute points of capped usage, OOM times, throttled share."""

    cpu: list[UsagePoint] = field(default_factory=list)
    memory: list[UsagePoint] = field(default_factory=list)
    ooms: list[float] = field(default_factory=list)
    throttling: list[tuple[float, float]] = field(default_factory=list)
    _cpu: list[float] = field(default_factory=list)
    _memory: list[float] = field(default_factory=list)
    _throttled: int = 0

    def observe(self, cpu: float, memory: float, throttled: bool) -> None:
        self._cpu.append(cpu)
        self._memory.append(memory)
        self._throttled += throttled

    def close_step(self, start: float) -> None:
        for values, into in ((self._cpu, self.cpu), (self._memory, self.memory)):
            if values:
                buckets = sketch.from_values(values)
                into.append(
                    UsagePoint(
                        start,
                        len(values),
                        max(values),
                        {sketch.bucket_value(i): c for i, c in buckets.items()},
                        sum(values) / len(values),
                    )
                )
        self.throttling.append((start, self._throttled / max(1, len(self._cpu))))
        self._cpu, self._memory, self._throttled = [], [], 0

    def history(self, now: float) -> UsageHistory:
        since = now - WINDOW
        return UsageHistory(
            now=now,
            cpu=[p for p in self.cpu if p.time >= since],
            memory=[p for p in self.memory if p.time >= since],
            oom_kill_times=[t for t in self.ooms if t >= since],
            throttling=[x for x in self.throttling if x[0] >= since],
        )


def simulate(trace: str, policy: str, days: int, seed: int) -> Outcome:
    rng = random.Random(seed)
    demand = TRACES[trace]
    settings = Settings()
    monitor = Monitor()
    outcome = Outcome(policy)
    restarted = 0.0
    first_change: float | None = None
    last_decrease = -math.inf
    last_change: float | None = None
    cpu_ratio, memory_ratio = START_CPU / START_CPU, START_MEMORY / START_MEMORY
    cpu_integral = memory_integral = 0.0
    late_cpu = late_memory = 0.0
    late_minutes = 0
    minutes = int(days * DAY / MINUTE)
    began = time.perf_counter()
    for minute in range(minutes):
        t = minute * MINUTE
        if trace in DEPLOY_EVERY and t - restarted >= DEPLOY_EVERY[trace]:
            restarted = t
        cpu_demand = demand.cpu(t, rng)
        memory_demand = demand.memory(t, rng, t - restarted)
        throttled = cpu_demand > settings.cpu_limit
        if memory_demand > settings.memory_limit:
            monitor.ooms.append(t)
            restarted = t
            if first_change is not None:
                outcome.oom_kills += 1
            memory_demand = settings.memory_limit
        if first_change is not None:
            outcome.throttled += throttled
            outcome.slow += cpu_demand > 2 * settings.cpu_limit
        monitor.observe(
            min(cpu_demand, settings.cpu_limit), min(memory_demand, settings.memory_limit), throttled
        )
        cpu_integral += settings.cpu_request
        memory_integral += settings.memory_request
        if t >= days * DAY - LAST_WEEK:
            late_cpu += settings.cpu_request
            late_memory += settings.memory_request
            late_minutes += 1
        now = t + MINUTE
        if now % STEP == 0:
            monitor.close_step(now - STEP)
        if now % 3600 != 0:
            continue
        history = monitor.history(now)
        changed = False
        if policy.startswith("vpa"):
            # "vpa": VPA's default controlledValues RequestsAndLimits (limits kept in proportion);
            # "vpa-req": RequestsOnly (limits left as they were), which avoids its throttling.
            proportional = policy == "vpa"
            cpu_estimate, memory_estimate, _ = vpa_estimates(history, settings.memory_request)
            if not cpu_estimate.lower <= settings.cpu_request <= cpu_estimate.upper:
                settings.cpu_request = cpu_estimate.target
                if proportional:
                    settings.cpu_limit = cpu_estimate.target * cpu_ratio
                changed = True
            if not memory_estimate.lower <= settings.memory_request <= memory_estimate.upper:
                settings.memory_request = memory_estimate.target
                if proportional:
                    settings.memory_limit = memory_estimate.target * memory_ratio
                changed = True
        else:
            current = Current(
                settings.cpu_request,
                settings.memory_request,
                1,
                settings.cpu_limit,
                settings.memory_limit,
                changed_at=last_change,
            )
            advice = recommend(history, current)
            increases = advice.cpu.change > 0 or advice.memory.change > 0
            if advice.changes and (increases or now - last_decrease >= DAY):
                if advice.cpu.change < 0 or advice.memory.change < 0:
                    last_decrease = now
                settings.cpu_request = advice.cpu.recommended_request
                settings.cpu_limit = advice.cpu.recommended_limit or settings.cpu_limit
                settings.memory_request = advice.memory.recommended_request
                settings.memory_limit = advice.memory.recommended_limit or settings.memory_limit
                changed = True
        if changed:
            last_change = now
            outcome.changes += 1
            first_change = first_change if first_change is not None else now
    outcome.cpu_saved_avg = 1 - cpu_integral / minutes / START_CPU
    outcome.memory_saved_avg = 1 - memory_integral / minutes / START_MEMORY
    outcome.cpu_saved_late = 1 - late_cpu / max(1, late_minutes) / START_CPU
    outcome.memory_saved_late = 1 - late_memory / max(1, late_minutes) / START_MEMORY
    outcome.cpu_saved_end = 1 - settings.cpu_request / START_CPU
    outcome.memory_saved_end = 1 - settings.memory_request / START_MEMORY
    outcome.seconds = time.perf_counter() - began
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="only the first two traces")
    parser.add_argument("--trace", action="append", choices=list(TRACES), help="only these traces")
    args = parser.parse_args()
    traces = args.trace or (list(TRACES)[:2] if args.quick else list(TRACES))
    header = (
        f"{'trace':<12} {'loop':<8} {'cpu saved all/week/end':>23} {'mem saved all/week/end':>23} "
        f"{'OOM kills':>9} {'throttled min':>13} {'slow min':>8} {'changes':>7}"
    )
    print(f"{args.days} simulated days per trace, seed {args.seed}, minute resolution, no database")
    print("saved: time-averaged over all days / over the last week (steady state) / at the end\n")
    print(header)
    print("-" * len(header))
    failures = []
    for trace in traces:
        results = {policy: simulate(trace, policy, args.days, args.seed) for policy in POLICIES}
        for policy, r in results.items():
            cpu = f"{r.cpu_saved_avg:>7.1%}/{r.cpu_saved_late:>6.1%}/{r.cpu_saved_end:>6.1%}"
            memory = f"{r.memory_saved_avg:>7.1%}/{r.memory_saved_late:>6.1%}/{r.memory_saved_end:>6.1%}"
            print(
                f"{trace:<12} {policy:<8} {cpu} {memory} "
                f"{r.oom_kills:>9} {r.throttled:>13} {r.slow:>8} {r.changes:>7}"
            )
        paved = results["paved"]
        if paved.oom_kills:
            failures.append(f"{trace}: Paved had {paved.oom_kills} OOM kills")
        for policy in ("vpa", "vpa-req"):
            other = results[policy]
            for resource, ours, theirs in (
                ("cpu", paved.cpu_saved_late, other.cpu_saved_late),
                ("memory", paved.memory_saved_late, other.memory_saved_late),
            ):
                if ours + 0.0005 < theirs:
                    failures.append(
                        f"{trace}: Paved saved {ours:.1%} {resource} in the last week, {policy} {theirs:.1%}"
                    )
    print()
    for failure in failures:
        print("GOAL MISSED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
