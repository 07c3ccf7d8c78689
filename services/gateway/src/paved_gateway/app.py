"""The FastAPI application factory: routes, error handlers, request context, auth, backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from paved_kit.logging import get_logger
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException

from paved_gateway import errors, schemas
from paved_gateway.auth import Authenticator, JwtVerifier, parse_static_tokens
from paved_gateway.backends import Backends, open_backends
from paved_gateway.body_limit import BodyLimitMiddleware
from paved_gateway.middleware import HttpMetrics, RequestContextMiddleware
from paved_gateway.routes import (
    alerts,
    backstage,
    costs,
    environments,
    forecasts,
    operations,
    optimizations,
    pins,
    platform,
    policies,
    promotions,
    services,
    system,
    templates,
)
from paved_gateway.settings import GatewaySettings

_log = get_logger(__name__)

DESCRIPTION = """HTTP API of Paved, the internal developer platform behind the portal.

Errors use Backstage's shape: `{"error": {"name", "message", ...}, "request": {"method", "url"},
"response": {"statusCode"}}`. Send `x-request-id` to correlate logs (one is generated otherwise).
"""


def build_authenticator(settings: GatewaySettings) -> Authenticator:
    """The authenticator the settings describe."""
    verifier = None
    if settings.jwks_url or settings.jwks_file:
        verifier = JwtVerifier(
            jwks_url=settings.jwks_url,
            jwks_file=settings.jwks_file,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms,
            admin_groups=settings.admin_groups,
            group_namespace=settings.group_namespace,
            max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
        )
    return Authenticator(parse_static_tokens(settings.tokens), verifier)


def create_app(settings: GatewaySettings, backends: Backends | None = None) -> FastAPI:
    """The gateway app; opens channels to the services on start-up unless ``backends`` is given."""
    authenticator = build_authenticator(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = backends is None
        app.state.backends = open_backends(settings) if owned else backends
        if not authenticator.enabled:
            _log.warning(
                "AUTH DISABLED: no tokens or JWKS configured; every caller acts as an admin. "
                "For local development only (set PAVED_GATEWAY_TOKENS or PAVED_GATEWAY_JWKS_URL)",
                host=settings.host,
            )
        try:
            yield
        finally:
            if owned:
                await app.state.backends.close()

    app = FastAPI(
        title="Paved gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.authenticator = authenticator
    app.state.metrics = HttpMetrics(CollectorRegistry())
    if backends is not None:
        app.state.backends = backends
    for router in (
        services.router,
        promotions.router,
        pins.router,
        environments.router,
        operations.router,
        templates.router,
        costs.router,
        optimizations.router,
        forecasts.router,
        policies.router,
        alerts.router,
        backstage.router,
        platform.router,
        system.router,
    ):
        app.include_router(router)
    app.add_exception_handler(errors.ApiError, errors.handle_api_error)
    app.add_exception_handler(grpc.RpcError, errors.handle_rpc_error)
    app.add_exception_handler(RequestValidationError, errors.handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, errors.handle_http_exception)
    # Outermost last: the request id is bound before the body is checked, so refusals carry it too;
    # unexpected failures are answered and logged by RequestContextMiddleware.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document with 400 (not 422) declared for request validation, as the API answers."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            responses = operation.get("responses", {})
            validation = responses.get("422", {})
            if "HTTPValidationError" in str(validation.get("content", "")):
                responses.pop("422")
                responses.setdefault("400", {"description": "Invalid input; every field error is listed."})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for model in (schemas.CreateServiceRequest,):  # bodies parsed by their route, not by FastAPI
        body_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body_schema.pop("$defs", {}))
        components[model.__name__] = body_schema
    error_schema = schemas.ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorBody"] = error_schema
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                if code.isdigit() and int(code) >= 400 and "content" not in response:
                    response["content"] = error_content
    app.openapi_schema = schema
    return schema
