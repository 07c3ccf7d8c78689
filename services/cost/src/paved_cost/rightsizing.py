"""Rightsizing: CPU and memory requests/limits and replica bounds for a service from its usage history.

The base is Kubernetes VPA's recommender (kubernetes/autoscaler, ``pkg/recommender/logic``): decaying
histograms with a 24 h half-life; CPU target p90, lower bound p50, upper bound p95; memory from daily peaks
over 8 days with the same percentiles; a 15 % safety margin; bounds scaled by confidence (upper
x(1+1/c), lower x(1+0.001/c)^-2, c = days of history); after an OOM kill a memory sample of
max(request x 1.2, request + 100 MB); minimums of 25 millicores and 250 MiB per pod.

Where VPA hurts its users (OOM kills after downsizing) Paved is stricter: memory never goes below the
recent peak working set plus headroom; decreases are bounded per step and only allowed with enough
history and no recent OOM kill; increases apply at once; CPU is not cut while the service is throttled;
limits (where set) stay at least ``limit_headroom`` above the recent peak, so a burst is absorbed by the
limit while the request (what is paid for) follows the percentiles;
changes smaller than ``min_change`` are not proposed. Pure logic: no gRPC, no SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from paved_cost.usage import DAY, DecayingHistogram, UsageHistory, confidence, daily_peaks, values_since

MIB = 1024.0 * 1024.0
MB = 1e6


@dataclass(frozen=True)
class VpaParameters:
    """VPA recommender's defaults (flags of ``pkg/recommender``)."""

    half_life: float = DAY
    cpu_target: float = 0.90
    cpu_lower: float = 0.50
    cpu_upper: float = 0.95
    memory_target: float = 0.90
    memory_lower: float = 0.50
    memory_upper: float = 0.95
    margin: float = 0.15
    memory_days: int = 8
    oom_ratio: float = 1.2
    oom_min_bump: float = 100 * MB
    min_cpu: float = 0.025  # cores per pod
    min_memory: float = 250 * MIB  # bytes per pod


@dataclass(frozen=True)
class SafetyParameters:
    """Paved's rules on top of VPA's estimate."""

    peak_headroom: float = 0.05  # memory never below the recent peak working set x (1 + this)
    # The request (what is paid for) takes VPA's percentiles with this margin instead of VPA's 15 %: the
    # safety margin lives in the limit (``limit_headroom`` above the recent peak), in the peak floor and,
    # after an OOM kill, in VPA's margined target, so it is not paid twice.
    request_margin: float = 0.0
    max_memory_cut: float = 0.20  # a memory decrease takes at most this share per step...
    # ...below the recent peak x (1 + this): memory above it is waste no OOM risk protects, and a request
    # far above it goes straight down to it once the learning period is over
    memory_waste_headroom: float = 0.50
    max_cpu_cut: float = 0.50  # a CPU decrease takes at most this share per step
    min_change: float = 0.10  # smaller relative changes are not proposed (churn)
    learning_days: float = 7.0  # decreases need this much history (confidence in days)
    oom_cooldown: float = 7 * DAY  # no memory decrease this long after an OOM kill
    throttling_limit: float = 0.05  # share of throttled periods over a day that blocks CPU cuts
    throttling_bump: float = 1.25  # CPU request x this when throttled beyond the limit
    limit_headroom: float = 0.30  # a set limit stays at least the recent peak x (1 + this)
    target_utilisation: float = 0.7  # per-replica CPU load the replica bounds aim at (HPA-style)
    min_replicas: int = 1


@dataclass(frozen=True)
class Current:
    """What a service runs with now (per replica): cores and bytes; limits None when unset."""

    cpu_request: float
    memory_request: float
    replicas: int = 1
    cpu_limit: float | None = None
    memory_limit: float | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    changed_at: float | None = None  # when these settings took effect (earlier signals judge older ones)


@dataclass(frozen=True)
class Estimate:
    """VPA's three numbers for one resource."""

    target: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Evidence:
    """Why: the distribution the estimate came from and how much history backs it."""

    p50: float
    p90: float
    p95: float
    p99: float
    peak: float
    samples: float
    days: float
    confidence: float


@dataclass(frozen=True)
class ResourceAdvice:
    """The recommendation for one resource: current → recommended, with VPA's bounds and the evidence."""

    resource: str  # cpu (cores) or memory (bytes)
    current_request: float
    recommended_request: float
    current_limit: float | None
    recommended_limit: float | None
    estimate: Estimate
    evidence: Evidence
    reasons: list[str] = field(default_factory=list)

    @property
    def change(self) -> float:
        """Relative change of the request (negative: a decrease)."""
        return self.recommended_request / self.current_request - 1 if self.current_request else 0.0


@dataclass(frozen=True)
class Advice:
    """The whole recommendation for a service."""

    cpu: ResourceAdvice
    memory: ResourceAdvice
    min_replicas: int
    max_replicas: int
    confidence: float
    days: float
    decrease_allowed: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether anything differs from the current settings."""
        return any(
            r.recommended_request != r.current_request or r.recommended_limit != r.current_limit
            for r in (self.cpu, self.memory)
        )


def vpa_estimates(
    history: UsageHistory, memory_request: float, params: VpaParameters = VpaParameters()
) -> tuple[Estimate, Estimate, float]:
    """VPA's CPU and memory estimates and its confidence (``memory_request``: for the OOM sample)."""
    cpu = DecayingHistogram(params.half_life, history.now)
    cpu.add_points(history.cpu)
    peaks = DecayingHistogram(params.half_life, history.now)
    for start, peak in daily_peaks(history.memory, history.now, params.memory_days):
        peaks.add(peak, 1.0, start)
    for time in history.oom_kill_times:
        if time >= history.now - params.memory_days * DAY:
            peaks.add(oom_sample(history, time, memory_request, params), 1.0, time)
    conf = min(confidence(history.cpu), confidence(history.memory)) if history.memory else 0.0
    upper_factor = 1 + 1 / conf if conf > 0 else math.inf
    lower_factor = (1 + 0.001 / conf) ** -2 if conf > 0 else 0.0
    margin = 1 + params.margin

    def estimate(
        histogram: DecayingHistogram, target: float, lower: float, upper: float, floor: float
    ) -> Estimate:
        return Estimate(
            target=max(histogram.percentile(target) * margin, floor),
            lower=max(histogram.percentile(lower) * margin * lower_factor, floor),
            upper=max(histogram.percentile(upper) * margin * upper_factor, floor),
        )

    return (
        estimate(cpu, params.cpu_target, params.cpu_lower, params.cpu_upper, params.min_cpu),
        estimate(peaks, params.memory_target, params.memory_lower, params.memory_upper, params.min_memory),
        conf,
    )


def evidence_of(history: UsageHistory, resource: str, conf: float) -> Evidence:
    """Undecayed percentiles of the last 8 days of ``resource`` (what an operator reads)."""
    points = history.cpu if resource == "cpu" else history.memory
    recent = [p for p in points if p.time >= history.now - 8 * DAY]
    plain = DecayingHistogram(math.inf, history.now)
    plain.add_points(recent)
    counted = [p for p in recent if p.count > 0]
    days = (max(p.time for p in counted) - min(p.time for p in counted)) / DAY if counted else 0.0
    return Evidence(
        p50=plain.percentile(0.5),
        p90=plain.percentile(0.9),
        p95=plain.percentile(0.95),
        p99=plain.percentile(0.99),
        peak=max((p.maximum for p in counted), default=0.0),
        samples=sum(p.count for p in counted),
        days=days,
        confidence=conf,
    )


def recommend(
    history: UsageHistory,
    current: Current,
    vpa: VpaParameters = VpaParameters(),
    safety: SafetyParameters = SafetyParameters(),
) -> Advice:
    """Paved's recommendation: VPA's estimate made safe (see the module docstring)."""
    cpu_estimate, memory_estimate, conf = vpa_estimates(history, current.memory_request, vpa)
    now = history.now
    recent_oom = [t for t in history.oom_kill_times if t >= now - safety.oom_cooldown]
    # Signals that judged older settings must not bump the current ones again (no ratchet every hour).
    since_change = current.changed_at if current.changed_at is not None else -math.inf
    decrease_allowed = conf >= safety.learning_days
    reasons: list[str] = []
    if not decrease_allowed:
        reasons.append(
            f"decreases wait for {safety.learning_days:g} days of history (have {conf:.1f}); "
            "increases apply now"
        )

    # Memory --------------------------------------------------------------------------------------
    memory_evidence = evidence_of(history, "memory", conf)
    memory_reasons: list[str] = []
    floor = memory_evidence.peak * (1 + safety.peak_headroom)
    unmargined = (1 + safety.request_margin) / (1 + vpa.margin)
    want = max(memory_estimate.target * unmargined, floor, vpa.min_memory)
    if recent_oom:
        bump = max(oom_sample(history, t, current.memory_request, vpa) for t in recent_oom)
        # After a kill, at least VPA's answer: its margined target holds the OOM sample.
        want = max(want, memory_estimate.target, bump)
        memory_reasons.append(f"{len(recent_oom)} OOM kill(s) in the last {safety.oom_cooldown / DAY:g} days")
    memory = _step(
        current.memory_request,
        want,
        safety.max_memory_cut,
        safety.min_change,
        decrease_allowed and not recent_oom,
        memory_reasons,
        unbounded_above=memory_evidence.peak * (1 + safety.memory_waste_headroom),
    )
    memory_limit = _limit(
        current.memory_request,
        current.memory_limit,
        memory,
        memory_evidence.peak * (1 + safety.limit_headroom),
    )
    # CPU -----------------------------------------------------------------------------------------
    cpu_evidence = evidence_of(history, "cpu", conf)
    cpu_reasons: list[str] = []
    throttled = values_since(history.throttling, max(now - DAY, since_change))
    throttling = sum(throttled) / len(throttled) if throttled else 0.0
    cpu_want = max(cpu_estimate.target * unmargined, vpa.min_cpu)
    cpu_cut_allowed = decrease_allowed
    if throttling > safety.throttling_limit:
        cpu_want = max(cpu_want, current.cpu_request * safety.throttling_bump)
        cpu_cut_allowed = False
        cpu_reasons.append(f"throttled in {throttling:.0%} of CPU periods over the last day")
    cpu = _step(
        current.cpu_request, cpu_want, safety.max_cpu_cut, safety.min_change, cpu_cut_allowed, cpu_reasons
    )
    cpu_limit = _limit(
        current.cpu_request, current.cpu_limit, cpu, cpu_evidence.peak * (1 + safety.limit_headroom)
    )
    # Replicas ------------------------------------------------------------------------------------
    min_replicas, max_replicas = _replica_bounds(history, current, cpu, safety)
    return Advice(
        cpu=ResourceAdvice(
            "cpu",
            current.cpu_request,
            cpu,
            current.cpu_limit,
            cpu_limit,
            cpu_estimate,
            cpu_evidence,
            cpu_reasons,
        ),
        memory=ResourceAdvice(
            "memory",
            current.memory_request,
            memory,
            current.memory_limit,
            memory_limit,
            memory_estimate,
            memory_evidence,
            memory_reasons,
        ),
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        confidence=conf,
        days=max(memory_evidence.days, cpu_evidence.days),
        decrease_allowed=decrease_allowed,
        reasons=reasons,
    )


def _step(
    current: float,
    want: float,
    max_cut: float,
    min_change: float,
    may_decrease: bool,
    reasons: list[str],
    unbounded_above: float = math.inf,
) -> float:
    """The next request on the way from ``current`` to ``want``: increases at once, decreases bounded to
    ``max_cut`` per step, except a cut down to ``unbounded_above`` (which happens in one step)."""
    if current <= 0:
        return want
    change = want / current - 1
    if abs(change) < min_change:
        return current
    if change > 0:
        reasons.append(f"increase of {change:.0%} applies at once")
        return want
    if not may_decrease:
        reasons.append("decrease held back")
        return current
    floor = min(current * (1 - max_cut), max(unbounded_above, want))
    if want < floor:
        reasons.append(f"decrease of {-change:.0%} limited to {1 - floor / current:.0%} this step")
        return floor
    return want


def _limit(request: float, limit: float | None, recommended: float, floor: float) -> float | None:
    """The limit keeping the current limit/request ratio (VPA's proportional limits), at least ``floor``
    and the request; an unset limit stays unset."""
    if limit is None or request <= 0:
        return None
    return max(recommended * (limit / request), floor, recommended)


def oom_sample(history: UsageHistory, time: float, memory_request: float, params: VpaParameters) -> float:
    """VPA's memory sample for an OOM kill: max(x1.2, +100 MB) of the memory the container had when killed
    (the working set of the point holding the kill, which reaches the limit), else of the request."""
    killed_at = memory_request
    before = [p for p in history.memory if p.time <= time]
    if before:
        point = max(before, key=lambda p: p.time)
        if time - point.time <= 3600:
            killed_at = point.maximum
    return max(killed_at * params.oom_ratio, killed_at + params.oom_min_bump)


def _replica_bounds(
    history: UsageHistory, current: Current, cpu_request: float, safety: SafetyParameters
) -> tuple[int, int]:
    """Replica bounds that keep each replica near ``target_utilisation`` of its CPU request."""
    replicas = dict(history.replicas)
    totals = [
        point.mean * replicas.get(point.time, current.replicas)
        for point in history.cpu
        if point.count > 0 and point.time >= history.now - 8 * DAY
    ]
    capacity = cpu_request * safety.target_utilisation
    if not totals or capacity <= 0:
        low = current.min_replicas or current.replicas
        return low, max(low, current.max_replicas or low)
    ordered = sorted(totals)
    typical = ordered[len(ordered) // 2]
    peak = ordered[-1]
    low = max(safety.min_replicas, math.ceil(typical / capacity))
    high = max(low, math.ceil(peak * 1.5 / capacity))
    return low, high
