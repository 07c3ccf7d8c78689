"""Template pin routes: hold a service environment at a template revision (fleet upgrades skip it) until a
given time, or release it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from google.protobuf import timestamp_pb2
from paved.catalog.v1 import catalog_pb2
from pydantic import BaseModel, ConfigDict, Field

from paved_gateway import drift_schemas
from paved_gateway.access import authorized_service
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.drift_view import pin_of
from paved_gateway.errors import call
from paved_gateway.routes.services import ServiceId
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/services", tags=["templates"])
PIN_PATH = "/{service_id}/environments/{environment_id}/pin"

EnvironmentId = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS_LABEL, description="Environment.")
]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input; every field error is listed."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
    404: {"description": "No such service, environment of it, or template revision."},
}


class PinRequest(BaseModel):
    """Hold the environment at ``revision`` (default: the one it is on) until ``expires_at``."""

    model_config = ConfigDict(extra="forbid")

    revision: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reason: str = Field(min_length=1, max_length=1000, description="Why the revision is held.")
    expires_at: datetime = Field(description="RFC 3339, with a time zone; at most a year away.")


class PinState(BaseModel):
    """A service environment's template revision and its pin, if one holds."""

    service: str
    environment: str
    template_revision: int
    pin: drift_schemas.Pin | None


def _name(service: str, environment: str) -> str:
    return f"services/{service}/environments/{environment}"


def _state(service: str, reply: catalog_pb2.ServiceEnvironment) -> PinState:
    return PinState(
        service=service,
        environment=reply.environment,
        template_revision=reply.template_revision,
        pin=pin_of(reply.pin) if reply.HasField("pin") else None,
    )


@router.put(PIN_PATH, response_model=PinState, responses=RESPONSES)
async def pin_environment(
    service_id: ServiceId,
    environment_id: EnvironmentId,
    body: PinRequest,
    backends: BackendsDep,
    principal: PrincipalDep,
) -> PinState:
    """Pin the service's environment to a template revision: fleet upgrades skip it (and list it as
    pinned) until the pin expires."""
    await authorized_service(backends, principal, service_id)
    expires = timestamp_pb2.Timestamp()
    expires.FromDatetime(body.expires_at)
    reply = await call(
        "catalog",
        backends.catalog.PinTemplateRevision(
            catalog_pb2.PinTemplateRevisionRequest(
                name=_name(service_id, environment_id),
                revision=body.revision or 0,
                reason=body.reason,
                expire_time=expires,
            ),
            metadata=(("x-paved-author", principal.subject),),
        ),
        fields={"expire_time": "expires_at", "name": "environment"},
    )
    return _state(service_id, reply)


@router.delete(
    "/{service_id}/environments/{environment_id}/pin", response_model=PinState, responses=RESPONSES
)
async def unpin_environment(
    service_id: ServiceId, environment_id: EnvironmentId, backends: BackendsDep, principal: PrincipalDep
) -> PinState:
    """Release the environment's pin: the next fleet upgrade includes it again."""
    await authorized_service(backends, principal, service_id)
    reply = await call(
        "catalog",
        backends.catalog.UnpinTemplateRevision(
            catalog_pb2.UnpinTemplateRevisionRequest(name=_name(service_id, environment_id))
        ),
        fields={"name": "environment"},
    )
    return _state(service_id, reply)
