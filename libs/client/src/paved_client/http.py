"""Typed HTTP client of the Paved gateway (sync httpx); failures raise GatewayError with the
Backstage-shaped error body already read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

import httpx

from paved_client.config import ClientConfig


class Link(TypedDict):
    """A titled link."""

    title: str
    url: str


class CreatedService(TypedDict):
    """The 202 answer of a create."""

    id: str
    name: str
    team: str
    environment: str
    status: str
    operation: str
    endpoints: list[str]
    dashboards: list[Link]
    documentation: str | None
    estimated_monthly_cost: dict[str, Any] | None
    policy: dict[str, Any] | None


class Metrics(TypedDict):
    """Current metrics (None: no data)."""

    requests_per_second: float | None
    error_rate: float | None
    latency_p99: float | None


class Cost(TypedDict, total=False):
    """A service's cost."""

    current_month: float
    projected_month: float
    currency: str
    previous_month: float | None
    trend: str | None
    estimated_monthly_cost: float | None


class ServiceStatus(TypedDict):
    """A service with health, metrics and cost."""

    id: str
    name: str
    team: str | None
    template: str | None
    environment: str | None
    status: str
    health: str
    metrics: Metrics | None
    cost: Cost | None
    endpoints: list[str]
    dashboards: list[Link]
    documentation: str | None
    unavailable: list[str]


class Step(TypedDict):
    """An operation step."""

    name: str
    state: str
    attempts: int
    start_time: str | None
    end_time: str | None
    error: str | None
    detail: str | None


class Operation(TypedDict):
    """A long-running operation."""

    id: str
    name: str
    kind: str
    service: str
    team: str
    environment: str
    requester: str
    done: bool
    status: str
    steps: list[Step]
    result: dict[str, Any] | None
    error: dict[str, str] | None


class OperationAccepted(TypedDict):
    """The 202 answer of a deploy or rollback."""

    id: str
    operation: str
    service: str
    workflow: str
    status: str


@dataclass
class GatewayError(Exception):
    """An error answer (or no answer) from the gateway."""

    status: int
    name: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.name} ({self.status}): {self.message}"


@dataclass
class Event:
    """One server-sent event."""

    event: str
    data: Any
    id: str | None = None


class GatewayClient:
    """The gateway's HTTP API as methods. Use as a context manager, or call close()."""

    def __init__(self, config: ClientConfig, *, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"User-Agent": "paved-cli"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._http = httpx.Client(
            base_url=config.url, headers=headers, timeout=config.timeout, transport=transport
        )

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise GatewayError(
                0, "ConnectionError", f"cannot reach the gateway at {self._http.base_url} ({exc})"
            ) from None
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def create_service(
        self,
        *,
        name: str,
        team: str,
        template: str,
        parameters: dict[str, Any] | None = None,
        environment: str | None = None,
        override: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> CreatedService:
        """POST /api/services."""
        body: dict[str, Any] = {
            "name": name,
            "team": team,
            "template": template,
            "parameters": parameters or {},
        }
        if environment:
            body["environment"] = environment
        if override:
            body["override"] = override
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: CreatedService = self._json("POST", "/api/services", json=body, headers=headers)
        return result

    def get_service(self, name: str) -> ServiceStatus:
        """GET /api/services/{name}."""
        result: ServiceStatus = self._json("GET", f"/api/services/{name}")
        return result

    def list_services(self, **filters: str | int | None) -> dict[str, Any]:
        """GET /api/services."""
        return dict(self._json("GET", "/api/services", params=_params(filters)))

    def run_workflow(
        self,
        name: str,
        workflow: str,
        *,
        version: str | None = None,
        environment: str | None = None,
        idempotency_key: str | None = None,
    ) -> OperationAccepted:
        """POST /api/services/{name}/deploy or /rollback."""
        body = {k: v for k, v in {"version": version, "environment": environment}.items() if v}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: OperationAccepted = self._json(
            "POST", f"/api/services/{name}/{workflow}", json=body, headers=headers
        )
        return result

    def get_operation(self, operation: str) -> Operation:
        """GET /api/operations/{id} (accepts ``operations/{id}`` too)."""
        result: Operation = self._json("GET", f"/api/operations/{operation.removeprefix('operations/')}")
        return result

    def operation_events(self, operation: str) -> Iterator[Event]:
        """The operation's server-sent events until it is done."""
        path = f"/api/operations/{operation.removeprefix('operations/')}/events"
        try:
            with self._http.stream(
                "GET", path, timeout=httpx.Timeout(self._http.timeout.connect, read=None)
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_from(response)
                yield from _parse_events(response.iter_lines())
        except httpx.TransportError as exc:
            raise GatewayError(0, "ConnectionError", f"event stream broke off ({exc})") from None

    def list_templates(self) -> dict[str, Any]:
        """GET /api/templates."""
        return dict(self._json("GET", "/api/templates", params={"page_size": 1000}))

    def team_costs(self, *, team: str | None = None, month: str | None = None) -> dict[str, Any]:
        """GET /api/costs."""
        return dict(self._json("GET", "/api/costs", params=_params({"team": team, "month": month})))

    def recommendations(self, *, team: str | None = None, service: str | None = None) -> dict[str, Any]:
        """GET /api/costs/recommendations."""
        return dict(
            self._json(
                "GET", "/api/costs/recommendations", params=_params({"team": team, "service": service})
            )
        )

    def evaluate_policies(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/policies/evaluate."""
        return dict(self._json("POST", "/api/policies/evaluate", json=body))

    def list_alerts(
        self, *, team: str | None = None, service: str | None = None, state: str | None = None
    ) -> dict[str, Any]:
        """GET /api/alerts."""
        return dict(
            self._json(
                "GET", "/api/alerts", params=_params({"team": team, "service": service, "state": state})
            )
        )

    def service_alerts(self, name: str) -> dict[str, Any]:
        """GET /api/services/{name}/alerts."""
        return dict(self._json("GET", f"/api/services/{name}/alerts"))

    def platform_metrics(self, *, team: str | None = None, days: int | None = None) -> dict[str, Any]:
        """GET /api/platform/metrics: delivery (DORA), cost and adoption measures and ROI, of the platform
        or of one ``team``, over the last ``days``."""
        return dict(self._json("GET", "/api/platform/metrics", params=_params({"team": team, "days": days})))

    def service_scorecard(self, name: str) -> dict[str, Any]:
        """GET /api/services/{name}/scorecard."""
        return dict(self._json("GET", f"/api/services/{name}/scorecard"))

    def team_scorecard(self, team: str) -> dict[str, Any]:
        """GET /api/teams/{team}/scorecard."""
        return dict(self._json("GET", f"/api/teams/{team}/scorecard"))

    def platform_scorecard(self) -> dict[str, Any]:
        """GET /api/platform/scorecard."""
        return dict(self._json("GET", "/api/platform/scorecard"))


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _error_from(response: httpx.Response) -> GatewayError:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = {k: v for k, v in error.items() if k not in {"name", "message"}}
        return GatewayError(
            response.status_code,
            str(error.get("name", "Error")),
            str(error.get("message", "")),
            details,
            body,
        )
    return GatewayError(response.status_code, "Error", response.text[:500] or response.reason_phrase)


def _parse_events(lines: Iterator[str]) -> Iterator[Event]:
    """The text/event-stream framing: ``field: value`` lines, events separated by a blank line."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                raw = "\n".join(data)
                try:
                    payload: Any = json.loads(raw)
                except json.JSONDecodeError:
                    payload = raw
                yield Event(event, payload, event_id)
            event, data, event_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value
    if data:
        yield Event(event, json.loads("\n".join(data)), event_id)
