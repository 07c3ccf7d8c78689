"""Benchmark: rendering the web-service golden path in-process (goal: p50 under 2 ms).

Two renders are timed: with the template already parsed and compiled (the service caches both), and
from the document text with every cache cleared (what the first render of a new revision pays). The
baseline in the same run is libyaml's ``CSafeLoader`` loading the same document: the fastest way a
user's own script would merely read the template, before doing any of the work a render does.
Pure-Python ``yaml.safe_load`` is printed for reference only. No database is involved (in-process).

    uv run python tests/benchmarks/bench_catalog_render.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import yaml
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
from paved_catalog.placeholders import compiled
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.rendering import render

GOAL_P50_MS = 2.0


def _timings(fn: Callable[[int], object], iterations: int) -> list[float]:
    samples = []
    for i in range(iterations):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    iterations = 300 if args.quick else 3000
    print(f"database: none (in-process render); load average {os.getloadavg()[0]:.2f}")

    document = builtin_documents()["web-service.yaml"]
    spec = parse_template_document(document).spec
    assert spec is not None
    defaults = PlatformDefaults()

    def parameters(i: int) -> dict[str, object]:
        chosen: dict[str, object] = {"service_name": f"svc-{i}", "language": "go", "min_instances": 1 + i % 5}
        if i % 2:
            chosen["database"] = "none"
        return chosen

    context = RenderContext(team="payments", environment="production")

    def render_cached(i: int) -> object:
        return render(spec, 1, parameters(i), context, defaults)

    def render_uncached(i: int) -> object:
        compiled.cache_clear()
        parsed = parse_template_document(document).spec
        assert parsed is not None
        return render(parsed, 1, parameters(i), context, defaults)

    def libyaml_load(_: int) -> object:
        return yaml.load(document, Loader=yaml.CSafeLoader)

    def python_load(_: int) -> object:
        return yaml.safe_load(document)

    cases = {
        "render, template cached": render_cached,
        "render incl. parse, nothing cached": render_uncached,
        "baseline: libyaml CSafeLoader load": libyaml_load,
        "reference: pure-Python safe_load": python_load,
    }
    for function in cases.values():  # warm-up
        for i in range(20):
            function(i)
    results: dict[str, list[float]] = {name: [] for name in cases}
    # Interleaved rounds, so load drifts on a shared machine hit every case alike.
    rounds = 10
    for _ in range(rounds):
        for name, function in cases.items():
            results[name] += _timings(function, iterations // rounds)
    base_p50 = statistics.median(results["baseline: libyaml CSafeLoader load"])
    for name, samples in results.items():
        p50 = statistics.median(samples)
        print(
            f"{name:<36} n={len(samples)}  p50={p50:7.3f} ms  p99={_percentile(samples, 0.99):7.3f} ms"
            f"  = {p50 / base_p50:5.2f}x libyaml load"
        )
    cached_p50 = statistics.median(results["render, template cached"])
    uncached_p50 = statistics.median(results["render incl. parse, nothing cached"])
    print(
        f"goal render p50 < {GOAL_P50_MS} ms: cached {cached_p50:.3f} ms "
        f"{'met' if cached_p50 < GOAL_P50_MS else 'NOT met'}; uncached {uncached_p50:.3f} ms "
        f"{'met' if uncached_p50 < GOAL_P50_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
