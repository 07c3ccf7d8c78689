"""Forecast and anomaly routes: a service's hourly forecast with its backtest, its predictive-scaling
schedule, and the anomalies of its metric history with their likely causes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2

from paved_gateway import convert
from paved_gateway.access import authorized_service
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/services", tags=["forecasts"])

ServiceId = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="Service name.")]
Environment = Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)]
Metric = Annotated[str, Query(min_length=1, max_length=63, description="e.g. requests_per_second, cpu.")]
Horizon = Annotated[int, Query(ge=1, le=336, description="Hours ahead.")]
# Fitting the model and its backtest (nine fits) takes seconds, more than an ordinary call's deadline.
ANALYSIS_TIMEOUT_SECONDS = 120.0
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input (the field is named)."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
    404: {"description": "No such service."},
    412: {"description": "Too little history, or history is turned off."},
}


async def _forecast(
    backends: BackendsDep, name: str, metric: str, horizon: int, environment: str | None
) -> alerting_pb2.ForecastResponse:
    return await call(
        "alerting",
        backends.alerting.Forecast(
            alerting_pb2.ForecastRequest(
                service=name, environment=environment or "", metric=metric, horizon_hours=horizon
            ),
            timeout=ANALYSIS_TIMEOUT_SECONDS,
        ),
    )


@router.get("/{name}/forecast", response_model=dict[str, Any], responses=RESPONSES)
async def service_forecast(
    name: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    metric: Metric = "requests_per_second",
    horizon: Horizon = 24,
    environment: Environment = None,
) -> dict[str, Any]:
    """Hourly forecast with prediction intervals, its rolling-origin backtest (MAPE, MASE against
    seasonal-naive) and, for request rate and CPU, the minimum-replicas schedule."""
    await authorized_service(backends, principal, name)
    return convert.to_dict(await _forecast(backends, name, metric, horizon, environment))


@router.get("/{name}/scaling-schedule", response_model=dict[str, Any], responses=RESPONSES)
async def scaling_schedule(
    name: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    metric: Metric = "requests_per_second",
    horizon: Horizon = 24,
    environment: Environment = None,
) -> dict[str, Any]:
    """Predictive scaling: hourly minimum replicas ahead, its mode (shadow unless the backtest beats
    seasonal-naive and stays under the MAPE threshold) and the shadow report of the last day."""
    await authorized_service(backends, principal, name)
    found = await _forecast(backends, name, metric, horizon, environment)
    return {
        "service": name,
        "metric": metric,
        "backtest": convert.to_dict(found.backtest),
        **convert.to_dict(found.scaling),
    }


@router.get("/{name}/anomalies", response_model=dict[str, Any], responses=RESPONSES)
async def service_anomalies(
    name: ServiceId,
    backends: BackendsDep,
    principal: PrincipalDep,
    metric: Annotated[str | None, Query(min_length=1, max_length=63)] = None,
    sensitivity: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
    days: Annotated[int, Query(ge=1, le=90, description="Days back from now.")] = 14,
    environment: Environment = None,
) -> dict[str, Any]:
    """Anomalies of the service's history (backfilled history scored as if live): start, end, metric,
    kind, score and the changes that likely caused each."""
    await authorized_service(backends, principal, name)
    request = alerting_pb2.ListAnomaliesRequest(
        service=name, environment=environment or "", metric=metric or "", sensitivity=sensitivity or ""
    )
    now = timestamp_pb2.Timestamp()
    now.GetCurrentTime()
    request.start_time.CopyFrom(timestamp_pb2.Timestamp(seconds=now.seconds - days * 86400))
    reply = await call("alerting", backends.alerting.ListAnomalies(request, timeout=ANALYSIS_TIMEOUT_SECONDS))
    return {"service": name, **convert.to_dict(reply)}
