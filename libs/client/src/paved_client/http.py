"""Typed HTTP client of the Paved gateway (standard library http.client); failures raise GatewayError with the
Backstage-shaped error body already read."""

from __future__ import annotations

import http.client
import json as _json_module
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict
from urllib.parse import quote, urlencode, urlsplit

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
    # Each environment the service runs in: name, status, version, image, endpoints, health, metrics, cost.
    environments: NotRequired[list[dict[str, Any]]]


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
    summary: str
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
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.status}): {self.message}"


@dataclass
class Event:
    """One server-sent event."""

    event: str
    data: Any
    id: str | None = None


class GatewayClient:
    """The gateway's HTTP API as methods. Use as a context manager, or call close().

    Built on the standard library's ``http.client``: the CLI pays the import of its HTTP client on every
    command, and httpx (with the rich/click CLI it imports) costs several times the whole command's
    budget. One connection per request: the CLI makes a handful, to a nearby gateway.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        waiting: Callable[[str], AbstractContextManager[object]] | None = None,
    ) -> None:
        """``waiting(label)`` wraps every request (the CLI shows a spinner with the elapsed time)."""
        self._waiting = waiting or (lambda _label: nullcontext())
        self.base_url = config.url
        self._url = urlsplit(config.url)
        self._timeout = config.timeout
        self._headers = {"User-Agent": "paved-cli", "Accept": "application/json"}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing stays open between requests; kept for the context-manager protocol."""

    def _connect(self, timeout: float | None) -> http.client.HTTPConnection:
        secure = self._url.scheme == "https"
        connection_class = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        return connection_class(self._url.hostname or "", self._url.port, timeout=timeout)

    def _target(self, path: str, params: dict[str, Any] | None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{self._url.path.rstrip('/')}{quote(path, safe='/:@')}{query}"

    def _send(
        self,
        connection: http.client.HTTPConnection,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> http.client.HTTPResponse:
        body = None if json is None else _json_module.dumps(json).encode()
        all_headers = {**self._headers, **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            connection.request(method, self._target(path, params), body=body, headers=all_headers)
            return connection.getresponse()
        except TimeoutError:
            connection.close()
            raise GatewayError(
                0, "TimeoutError", f"the gateway at {self.base_url} did not answer within {self._timeout:g}s"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise _unreachable(self.base_url, exc) from None

    def _json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        connection = self._connect(self._timeout)
        try:
            with self._waiting(f"gateway: {method} {path}"):
                response = self._send(connection, method, path, json=json, params=params, headers=headers)
                try:
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    raise _unreachable(self.base_url, exc) from None
        finally:
            connection.close()
        if response.status >= 400:
            raise _error_from(response.status, response.reason, data)
        return _json_module.loads(data) if data else None

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
        """POST /api/services (202: provisioning started)."""
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

    def validate_service(
        self,
        *,
        name: str,
        team: str,
        template: str,
        parameters: dict[str, Any] | None = None,
        environment: str | None = None,
    ) -> dict[str, Any]:
        """POST /api/services with ``validate_only``: every check of a create, nothing created; the plan,
        estimate, quota checks and policy outcome (a refusal raises GatewayError with every problem)."""
        body: dict[str, Any] = {
            "name": name,
            "team": team,
            "template": template,
            "parameters": parameters or {},
            "validate_only": True,
        }
        if environment:
            body["environment"] = environment
        return dict(self._json("POST", "/api/services", json=body))

    def cancel_operation(self, operation: str) -> Operation:
        """POST /api/operations/{id}/cancel: the operation stops at its next step boundary."""
        result: Operation = self._json(
            "POST", f"/api/operations/{operation.removeprefix('operations/')}/cancel"
        )
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

    def promote(self, name: str, *, source: str, target: str, version: str | None = None) -> dict[str, Any]:
        """POST /api/services/{name}/promotions."""
        body = {"from": source, "to": target, **({"version": version} if version else {})}
        return dict(self._json("POST", f"/api/services/{name}/promotions", json=body))

    def get_promotion(self, name: str, promotion: str) -> dict[str, Any]:
        """GET /api/services/{name}/promotions/{id}."""
        return dict(self._json("GET", f"/api/services/{name}/promotions/{promotion}"))

    def get_operation(self, operation: str) -> Operation:
        """GET /api/operations/{id} (accepts ``operations/{id}`` too)."""
        result: Operation = self._json("GET", f"/api/operations/{operation.removeprefix('operations/')}")
        return result

    def operation_events(self, operation: str) -> Iterator[Event]:
        """The operation's server-sent events until it is done."""
        path = f"/api/operations/{operation.removeprefix('operations/')}/events"
        connection = self._connect(self._timeout)
        try:
            response = self._send(connection, "GET", path, headers={"Accept": "text/event-stream"})
            if response.status >= 400:
                raise _error_from(response.status, response.reason, response.read())
            if connection.sock is not None:
                connection.sock.settimeout(None)  # events may be minutes apart; the server sends keep-alives
            try:
                yield from _parse_events(_lines(response))
            except (OSError, http.client.HTTPException) as exc:
                raise GatewayError(0, "ConnectionError", f"event stream broke off ({exc})") from None
        finally:
            connection.close()

    def list_templates(self) -> dict[str, Any]:
        """GET /api/templates."""
        return dict(self._json("GET", "/api/templates", params={"page_size": 1000}))

    def template_drift(self, name: str, *, revision: int | None = None) -> dict[str, Any]:
        """GET /api/templates/{name}/drift."""
        params = _params({"revision": revision})
        return dict(self._json("GET", f"/api/templates/{name}/drift", params=params))

    def service_drift(self, name: str, *, revision: int | None = None) -> dict[str, Any]:
        """GET /api/services/{name}/drift."""
        params = _params({"revision": revision})
        return dict(self._json("GET", f"/api/services/{name}/drift", params=params))

    def start_upgrade(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /api/templates/{name}/upgrades (a dry run answers the plan)."""
        return dict(self._json("POST", f"/api/templates/{name}/upgrades", json=body))

    def get_upgrade(self, name: str, operation: str) -> dict[str, Any]:
        """GET /api/templates/{name}/upgrades/{operation}."""
        return dict(self._json("GET", f"/api/templates/{name}/upgrades/{operation}"))

    def rollback_upgrade(self, name: str, operation: str) -> dict[str, Any]:
        """POST /api/templates/{name}/upgrades/{operation}/rollback."""
        return dict(self._json("POST", f"/api/templates/{name}/upgrades/{operation}/rollback"))

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

    def service_recommendations(self, name: str, *, environment: str | None = None) -> dict[str, Any]:
        """GET /api/services/{name}/recommendations: rightsizing with its evidence."""
        return dict(
            self._json(
                "GET", f"/api/services/{name}/recommendations", params=_params({"environment": environment})
            )
        )

    def service_anomalies(
        self, name: str, *, metric: str | None = None, sensitivity: str | None = None, days: int | None = None
    ) -> dict[str, Any]:
        """GET /api/services/{name}/anomalies: anomalies of its history with their likely causes."""
        params = _params({"metric": metric, "sensitivity": sensitivity, "days": days})
        return dict(self._json("GET", f"/api/services/{name}/anomalies", params=params))

    def cost_anomalies(
        self, *, team: str | None = None, service: str | None = None, days: int | None = None
    ) -> dict[str, Any]:
        """GET /api/costs/anomalies: days whose cost departs from the usual, with what moved."""
        params = _params({"team": team, "service": service, "days": days})
        return dict(self._json("GET", "/api/costs/anomalies", params=params))

    def service_forecast(self, name: str, *, metric: str, horizon: int) -> dict[str, Any]:
        """GET /api/services/{name}/forecast: hourly forecast, backtest and scaling schedule."""
        params = _params({"metric": metric, "horizon": horizon})
        return dict(self._json("GET", f"/api/services/{name}/forecast", params=params))

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


def _unreachable(url: str, exc: Exception) -> GatewayError:
    return GatewayError(
        0,
        "ConnectionError",
        f"cannot reach the gateway at {url} ({exc})",
        hint="Is the suite running? Start it with `make run` (or `.venv/bin/paved up`) in the repository, "
        "or point --url / PAVED_URL at your gateway.",
    )


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _error_from(status: int, reason: str, data: bytes) -> GatewayError:
    try:
        body = _json_module.loads(data)
    except (ValueError, UnicodeDecodeError):
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        details = {k: v for k, v in error.items() if k not in {"name", "message"}}
        return GatewayError(
            status, str(error.get("name", "Error")), str(error.get("message", "")), details, body
        )
    text = data[:500].decode("utf-8", errors="replace")
    return GatewayError(status, "Error", text or reason)


def _lines(response: http.client.HTTPResponse) -> Iterator[str]:
    while raw := response.readline():
        yield raw.decode("utf-8").rstrip("\r\n")


def _parse_events(lines: Iterator[str]) -> Iterator[Event]:
    """The text/event-stream framing: ``field: value`` lines, events separated by a blank line."""
    event, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                raw = "\n".join(data)
                try:
                    payload: Any = _json_module.loads(raw)
                except _json_module.JSONDecodeError:
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
        yield Event(event, _json_module.loads("\n".join(data)), event_id)
