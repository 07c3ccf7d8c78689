"""Benchmark: rendering the web-service golden path in-process (goal: p50 under 2 ms).

Baseline in the same run: ``yaml.safe_load`` of the same template document, i.e. the cost of merely
reading the YAML once. Run: ``uv run python tests/benchmarks/bench_catalog_render.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import yaml
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args()
    iterations = 300 if args.quick else 5000

    document = builtin_documents()["web-service.yaml"]
    spec = parse_template_document(document).spec
    assert spec is not None
    defaults = PlatformDefaults()

    def render_once(i: int) -> object:
        parameters = {"service_name": f"svc-{i}", "language": "go", "min_instances": 1 + i % 5}
        if i % 2:
            parameters["database"] = "none"
        return render(spec, 1, parameters, RenderContext(team="payments", environment="production"), defaults)

    def baseline_once(_: int) -> object:
        return yaml.safe_load(document)

    # Warm-up compiles the resource templates once (they are cached per template text).
    for i in range(20):
        render_once(i)
        baseline_once(i)
    rendered = _timings(render_once, iterations)
    baseline = _timings(baseline_once, iterations)
    render_p50, base_p50 = statistics.median(rendered), statistics.median(baseline)
    print(
        f"render web-service     n={iterations}  p50={render_p50:.3f} ms  "
        f"p99={_percentile(rendered, 0.99):.3f} ms"
    )
    print(
        f"baseline yaml.safe_load n={iterations}  p50={base_p50:.3f} ms  "
        f"p99={_percentile(baseline, 0.99):.3f} ms"
    )
    print(
        f"ratio render/safe_load p50 = {render_p50 / base_p50:.2f}x   goal p50 < {GOAL_P50_MS} ms: "
        f"{'met' if render_p50 < GOAL_P50_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
