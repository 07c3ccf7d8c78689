"""Reads the platform's metrics from a Prometheus server's HTTP query API (``/api/v1/query``)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable

from paved_kit.logging import get_logger

from paved_alerting.http_client import HttpClient
from paved_alerting.metrics import METRICS

_log = get_logger(__name__)


class PrometheusSource:
    """Queries each metric for every service at an evaluation time; results become samples."""

    def __init__(self, base_url: str, client: HttpClient) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v1/query"
        self._client = client

    async def fetch(self, metrics: Iterable[str], at: float) -> list[tuple[str, str, float, float]]:
        """(service, metric, value, time) for every series Prometheus returns; a failed query yields none."""
        names = sorted(set(metrics))
        results = await asyncio.gather(*(self._query(name, at) for name in names))
        return [sample for batch in results for sample in batch]

    async def _query(self, metric: str, at: float) -> list[tuple[str, str, float, float]]:
        query = METRICS[metric].query()
        import httpx  # loaded by the client's first request (see paved_alerting.http_client)

        try:
            response = await self._client.get(self._url, params={"query": query, "time": f"{at:.3f}"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            _log.warning("prometheus query failed", metric=metric, error=type(exc).__name__)
            return []
        if body.get("status") != "success" or body.get("data", {}).get("resultType") != "vector":
            _log.warning("prometheus query returned no vector", metric=metric, error=body.get("error"))
            return []
        samples = []
        for series in body["data"]["result"]:
            service = series.get("metric", {}).get("service")
            try:
                value = float(series["value"][1])
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            # An instant query's result is the value at `at`; the time Prometheus echoes is rounded to
            # milliseconds and may fall just after `at`, where the evaluation would not see it.
            if service and math.isfinite(value):
                samples.append((service, metric, value, at))
        return samples
