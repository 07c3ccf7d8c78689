"""Reads a series' history from a Prometheus-compatible server's range API (``/api/v1/query_range``).

Prometheus, Thanos, Mimir and VictoriaMetrics all answer it; this is how large fleets keep history, so
when one is configured the embedded roll-ups are not consulted for queries.
"""

from __future__ import annotations

import math

from paved_kit.errors import Unavailable

from paved_alerting.history import Point, points_from_instants
from paved_alerting.http_client import HttpClient
from paved_alerting.metrics import METRICS

MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series and query
RAW_STEP = 300  # samples are read every 5 minutes and merged into the query's step


class PrometheusHistory:
    """Range queries of the per-instance PromQL of a metric, merged into points of the query's step."""

    def __init__(self, base_url: str, client: HttpClient) -> None:
        self._url = f"{base_url.rstrip('/')}/api/v1/query_range"
        self._client = client

    async def points(
        self, service: str, environment: str, metric: str, start: float, end: float, step: int
    ) -> list[Point]:
        """Points of ``step`` seconds over ``[start, end)``; raises Unavailable when the server fails."""
        query = METRICS[metric].instance_query(service, environment)
        raw_step = min(step, RAW_STEP)
        instants: list[tuple[float, float]] = []
        chunk = raw_step * MAX_POINTS
        at = start
        while at < end:
            stop = min(end, at + chunk)
            instants.extend(await self._range(query, at, stop - 1e-3, raw_step))
            at = stop
        return points_from_instants(instants, step)

    async def _range(self, query: str, start: float, end: float, step: int) -> list[tuple[float, float]]:
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
        import httpx  # loaded by the client's first request (see paved_alerting.http_client)

        try:
            response = await self._client.get(self._url, params=params)
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unavailable(
                f"the metric history server could not be queried ({type(exc).__name__})",
                reason="HISTORY_SOURCE_UNAVAILABLE",
            ) from None
        if body.get("status") != "success" or body.get("data", {}).get("resultType") != "matrix":
            raise Unavailable(
                "the metric history server returned no matrix", reason="HISTORY_SOURCE_UNAVAILABLE"
            )
        instants = []
        for series in body["data"]["result"]:
            for pair in series.get("values", []):
                try:
                    time, value = float(pair[0]), float(pair[1])
                except (IndexError, TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    instants.append((time, value))
        return instants
