"""The recommender's safety properties, and its VPA base against VPA's own formulas."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from paved_cost.rightsizing import MB, MIB, Current, recommend, vpa_estimates
from paved_cost.usage import DAY, UsageHistory, UsagePoint

NOW = 1_800_000_000.0
GIB = 1024.0**3


def points(days: float, value: Callable[[float], float], per_step: int = 5) -> list[UsagePoint]:
    """5-minute points over the last ``days`` with ``per_step`` samples each, all of value(t)."""
    steps = int(days * DAY / 300)
    result = []
    for i in range(steps):
        t = NOW - (steps - i) * 300
        v = value(t)
        result.append(UsagePoint(t, per_step, v, {v: per_step}, v))
    return result


def history(
    days: float,
    cpu: float | Callable[[float], float],
    memory: float | Callable[[float], float],
    **extra: object,
) -> UsageHistory:
    cpu_f = cpu if callable(cpu) else (lambda t, c=cpu: c)
    mem_f = memory if callable(memory) else (lambda t, m=memory: m)
    return UsageHistory(now=NOW, cpu=points(days, cpu_f), memory=points(days, mem_f), **extra)  # type: ignore[arg-type]


def test_vpa_base_matches_vpa_formulas() -> None:
    cpu, memory, conf = vpa_estimates(history(8, 0.5, 400 * MB), memory_request=GIB)
    assert conf == pytest.approx(8, rel=0.01)
    assert cpu.target == pytest.approx(0.5 * 1.15)
    assert cpu.upper == pytest.approx(0.5 * 1.15 * (1 + 1 / conf))
    assert cpu.lower == pytest.approx(0.5 * 1.15 * (1 + 0.001 / conf) ** -2)
    assert memory.target == pytest.approx(400 * MB * 1.15)


def test_short_history_widens_the_upper_bound() -> None:
    cpu, _, conf = vpa_estimates(history(0.5, 0.5, 400 * MB), memory_request=GIB)
    assert conf == pytest.approx(0.5, rel=0.02)
    assert cpu.upper == pytest.approx(0.5 * 1.15 * 3, rel=0.02)


def test_vpa_minimums_apply() -> None:
    cpu, memory, _ = vpa_estimates(history(8, 0.001, 10 * MB), memory_request=GIB)
    assert cpu.target == pytest.approx(0.025) and memory.target == pytest.approx(250 * MIB)


def test_memory_never_below_the_recent_peak_working_set() -> None:
    # One 5-minute peak of 1.5 GB a week ago; VPA's p90 of daily peaks ignores it.
    peak_at = NOW - 6 * DAY
    usage = history(10, 0.2, lambda t: 1.5e9 if abs(t - peak_at) < 150 else 400 * MB)
    _, memory, _ = vpa_estimates(usage, memory_request=4e9)
    assert memory.target < 1.5e9
    advice = recommend(usage, Current(cpu_request=1.0, memory_request=1.9e9, memory_limit=1.9e9))
    assert advice.memory.recommended_request == pytest.approx(1.5e9 * 1.05)  # the peak + 5 %
    assert advice.memory.recommended_limit == pytest.approx(1.5e9 * 1.3)  # the limit absorbs a burst


def test_memory_decreases_are_bounded_per_step_and_increases_are_not() -> None:
    # Far above the peak: the waste above peak x 1.5 goes in one step, no further.
    waste = recommend(history(10, 0.2, 200 * MB), Current(cpu_request=0.3, memory_request=4 * GIB))
    assert waste.memory.recommended_request == pytest.approx(200 * MB * 1.5)
    assert any("limited to" in reason for reason in waste.memory.reasons)
    # Nearer the peak a cut takes at most 20 % per step (the estimate here is the peak + 5 %).
    down = recommend(history(10, 0.2, 450 * MB), Current(cpu_request=0.3, memory_request=600 * MB))
    assert down.memory.recommended_request == pytest.approx(600 * MB * 0.8)
    assert any("limited to 20%" in reason for reason in down.memory.reasons)
    up = recommend(history(10, 0.2, 3 * GIB), Current(cpu_request=0.3, memory_request=GIB))
    assert up.memory.recommended_request == pytest.approx(3 * GIB * 1.05)  # the peak + 5 %, at once


def test_decreases_wait_for_the_learning_period_but_increases_do_not() -> None:
    young = recommend(history(3, 0.05, 200 * MB), Current(cpu_request=2.0, memory_request=4 * GIB))
    assert not young.decrease_allowed
    assert (young.cpu.recommended_request, young.memory.recommended_request) == (2.0, 4 * GIB)
    growing = recommend(history(3, 1.0, 200 * MB), Current(cpu_request=0.25, memory_request=4 * GIB))
    assert growing.cpu.recommended_request == pytest.approx(1.0)  # p90; the margin is in the limit


def test_an_oom_kill_bumps_memory_and_blocks_decreases() -> None:
    kill = NOW - DAY

    def at_kill(limit: float) -> UsageHistory:
        # The working set reaches the limit in the 5 minutes of the kill.
        return history(10, 0.2, lambda t: limit if 0 <= kill - t < 300 else 200 * MB, oom_kill_times=[kill])

    small = recommend(
        at_kill(300 * MB), Current(cpu_request=0.3, memory_request=300 * MB, memory_limit=300 * MB)
    )
    # As in VPA, the OOM sample joins the daily peaks and gets the 15 % margin; +100 MB beats x1.2 here.
    assert small.memory.recommended_request == pytest.approx((300 * MB + 100 * MB) * 1.15)
    large = recommend(at_kill(2e9), Current(cpu_request=0.3, memory_request=2e9, memory_limit=2e9))
    assert large.memory.recommended_request == pytest.approx(2e9 * 1.2 * 1.15)  # x1.2 beats +100 MB
    assert large.memory.recommended_limit == pytest.approx(2e9 * 1.2 * 1.15)  # never below the request
    assert any("OOM kill" in reason for reason in large.memory.reasons)
    # Applied, the bump is not bumped again by the same kill (no ratchet), and no decrease follows.
    after = recommend(
        at_kill(2e9),
        Current(cpu_request=0.3, memory_request=2.76e9, memory_limit=2.76e9, changed_at=NOW - 3600),
    )
    assert after.memory.recommended_request == pytest.approx(2.76e9)


def test_throttling_blocks_cpu_cuts_and_bumps_the_request() -> None:
    throttled = [(NOW - 3600 * h, 0.3) for h in range(24)]
    usage = history(10, 0.1, 300 * MB, throttling=throttled)
    advice = recommend(usage, Current(cpu_request=0.5, memory_request=GIB))
    assert advice.cpu.recommended_request == pytest.approx(0.5 * 1.25)
    assert "throttled" in advice.cpu.reasons[0]


def test_small_changes_are_not_proposed() -> None:
    # The targets are CPU p90 = 0.5 and memory the peak + 5 % = 420 MB: within 10 % nothing changes.
    advice = recommend(history(10, 0.5, 400 * MB), Current(cpu_request=0.54, memory_request=450 * MB))
    assert advice.cpu.recommended_request == 0.54 and advice.memory.recommended_request == 450 * MB
    assert not advice.changes
    lean = recommend(history(10, 0.5, 400 * MB), Current(cpu_request=0.7, memory_request=480 * MB))
    assert lean.cpu.recommended_request == pytest.approx(0.5)
    assert lean.memory.recommended_request == pytest.approx(420 * MB)


def test_evidence_names_percentiles_samples_and_days() -> None:
    advice = recommend(history(9, lambda t: 0.1 if t % 600 < 300 else 0.3, 400 * MB), Current(1.0, GIB))
    evidence = advice.cpu.evidence
    assert (evidence.p50, evidence.p95, evidence.peak) == (pytest.approx(0.1), pytest.approx(0.3), 0.3)
    assert evidence.days == pytest.approx(8, abs=0.01)  # the evidence window is 8 days
    assert evidence.samples == pytest.approx(8 * 288 * 5, rel=0.01)


def test_replica_bounds_follow_cpu_load() -> None:
    usage = UsageHistory(
        now=NOW,
        cpu=points(8, lambda t: 0.5),
        memory=points(8, lambda t: 400 * MB),
        replicas=[(p.time, 4.0) for p in points(8, lambda t: 0.0)],
    )
    advice = recommend(usage, Current(cpu_request=0.6, memory_request=GIB, replicas=4))
    # 4 replicas x 0.5 cores = 2 cores; a replica should carry 0.7 x its request, recommended down to the
    # 0.5-core p90: ceil(2 / 0.35) = 6, and ceil(2 x 1.5 / 0.35) = 9 for the peak.
    assert advice.cpu.recommended_request == pytest.approx(0.5)
    assert advice.min_replicas == 6 and advice.max_replicas == 9
