"""Bake-time judgement: does a service look worse after a change than in its pre-change baseline? (pure)

The signals are the service's own (from alerting): error rate, p99 latency, alerts firing, OOM kills and
CPU throttling. A regression names what got worse and by how much; that sentence is the rollback's reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Signals:
    """What alerting says about a service at one moment (None: no data)."""

    error_rate: float | None = None
    latency_p99: float | None = None
    firing: frozenset[str] = field(default_factory=frozenset)
    oom_kills: float = 0.0
    throttling: float | None = None

    def as_dict(self) -> dict[str, object]:
        """The signals as stored with the operation."""
        return {
            "error_rate": self.error_rate,
            "latency_p99": self.latency_p99,
            "firing": sorted(self.firing),
            "oom_kills": self.oom_kills,
            "throttling": self.throttling,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Signals:
        """The inverse of :meth:`as_dict`."""

        def number(key: str) -> float | None:
            value = data.get(key)
            return float(value) if isinstance(value, int | float) else None

        firing = data.get("firing")
        return cls(
            number("error_rate"),
            number("latency_p99"),
            frozenset(str(f) for f in firing) if isinstance(firing, list) else frozenset(),
            number("oom_kills") or 0.0,
            number("throttling"),
        )


@dataclass(frozen=True)
class Tolerance:
    """How much worse than the baseline still passes."""

    error_rate_points: float = 0.01  # absolute increase of the error rate (1 percentage point)
    error_rate_ratio: float = 2.0  # and at most this multiple of the baseline
    latency_ratio: float = 1.5  # p99 at most this multiple of the baseline...
    latency_ms: float = 50.0  # ...or this many ms above it, whichever is larger
    throttling: float = 0.10  # throttled share of CPU periods


def regression(baseline: Signals, now: Signals, tolerance: Tolerance = Tolerance()) -> str | None:
    """Why ``now`` is a regression from ``baseline``, or None when it is not."""
    if now.oom_kills > 0:
        return f"{now.oom_kills:g} OOM kill(s) since the change"
    new_alerts = sorted(now.firing - baseline.firing)
    if new_alerts:
        return f"alert(s) firing since the change: {', '.join(new_alerts)}"
    if now.error_rate is not None:
        before = baseline.error_rate or 0.0
        allowed = max(before + tolerance.error_rate_points, before * tolerance.error_rate_ratio)
        if now.error_rate > allowed:
            return (
                f"error rate {now.error_rate:.2%} against {before:.2%} before the change "
                f"(allowed {allowed:.2%})"
            )
    if now.latency_p99 is not None and baseline.latency_p99 is not None:
        allowed = max(
            baseline.latency_p99 * tolerance.latency_ratio, baseline.latency_p99 + tolerance.latency_ms
        )
        if now.latency_p99 > allowed:
            return (
                f"p99 latency {now.latency_p99:.0f} ms against {baseline.latency_p99:.0f} ms "
                f"before the change (allowed {allowed:.0f} ms)"
            )
    if now.throttling is not None and now.throttling > tolerance.throttling:
        return f"CPU throttled in {now.throttling:.0%} of periods since the change"
    return None
