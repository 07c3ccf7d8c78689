"""FastAPI dependencies: the shared backends, the settings, the authenticated caller, idempotency keys.

Every dependency is a coroutine: FastAPI runs a plain function in its thread pool, a thread hand-off
per request that cost the gateway a fifth of its CPU on ``GET /api/services/{id}``."""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Annotated

import structlog
from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from paved_kit.errors import FieldViolation

from paved_gateway import delegation
from paved_gateway.auth import Authenticator, Principal
from paved_gateway.backends import Backends
from paved_gateway.delegation import acting_principal
from paved_gateway.errors import invalid
from paved_gateway.settings import GatewaySettings

# Declares the scheme in the OpenAPI document; the Authenticator does the checking.
_bearer = HTTPBearer(auto_error=False, description="A static token or a Backstage-issued JWT.")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


async def get_backends(request: Request) -> Backends:
    """The app's service stubs."""
    backends: Backends = request.app.state.backends
    return backends


async def get_settings(request: Request) -> GatewaySettings:
    """The app's settings."""
    settings: GatewaySettings = request.app.state.settings
    return settings


async def get_principal(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The authenticated caller (401 otherwise)."""
    authenticator: Authenticator = request.app.state.authenticator
    caller = await authenticator.authenticate(request.headers.get("authorization"))
    settings: GatewaySettings = request.app.state.settings
    principal = acting_principal(
        caller,
        request.headers.get(delegation.USER_HEADER),
        request.headers.get(delegation.GROUPS_HEADER),
        namespace=settings.group_namespace,
        admin_groups=settings.admin_groups,
    )
    if principal is not caller:
        structlog.contextvars.bind_contextvars(delegate=caller.subject)
    structlog.contextvars.bind_contextvars(caller=principal.subject)
    return principal


async def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Retries with the same key return the same operation (AIP-155 request_id); keys are "
            "per caller, and reusing one for a different request answers 422."
        ),
    ] = None,
) -> str | None:
    """The ``Idempotency-Key`` header, checked."""
    if idempotency_key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid(
            "the request is invalid",
            [FieldViolation("Idempotency-Key", "must be 1-200 printable ASCII characters without spaces")],
        )
    return idempotency_key


async def read_json(request: Request) -> object:
    """The request's JSON body (400 when it is not JSON)."""
    try:
        return await request.json()
    except ValueError:
        raise invalid("the request is invalid", [FieldViolation("body", "must be valid JSON")]) from None


def request_id_for(key: str | None, principal: Principal) -> str:
    """The request_id sent to provisioning: the idempotency key scoped to the caller (two callers' equal
    keys are different requests, so one never gets the other's operation), or a fresh one. Provisioning
    binds the request_id to the request's fingerprint, so the same key with another body is refused."""
    if key is None:
        return uuid.uuid4().hex
    return "idem-" + hashlib.sha256(f"{principal.subject}\n{key}".encode()).hexdigest()


BackendsDep = Annotated[Backends, Depends(get_backends)]
SettingsDep = Annotated[GatewaySettings, Depends(get_settings)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKeyDep = Annotated[str | None, Depends(idempotency_key)]
