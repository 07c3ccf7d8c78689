"""Probes and metrics: /healthz (the process answers), /readyz (every service SERVING), /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from paved_gateway import schemas
from paved_gateway.deps import BackendsDep, SettingsDep

router = APIRouter(tags=["system"])


@router.get("/healthz", response_model=schemas.Health)
async def healthz() -> schemas.Health:
    """Liveness: the gateway process answers."""
    return schemas.Health(status="ok")


@router.get(
    "/readyz",
    response_model=schemas.Health,
    responses={503: {"model": schemas.Health, "description": "A service is not serving."}},
)
async def readyz(backends: BackendsDep, settings: SettingsDep) -> JSONResponse:
    """Readiness: every service's gRPC health check answers SERVING."""
    statuses = await backends.health(settings.readiness_timeout_seconds)
    ready = all(status == "SERVING" for status in statuses.values())
    body = schemas.Health(status="ok" if ready else "unavailable", services=statuses)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus exposition of the gateway's HTTP metrics."""
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
