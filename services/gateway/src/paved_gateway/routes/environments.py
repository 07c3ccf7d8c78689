"""Environment routes: the platform's promotion path and, for admins, each environment's settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from google.protobuf import duration_pb2, field_mask_pb2
from paved.catalog.v1 import catalog_pb2

from paved_gateway import convert, schemas
from paved_gateway.access import not_permitted
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.environments import ENVIRONMENT_PREFIX
from paved_gateway.errors import call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/environments", tags=["environments"])

EnvironmentId = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Unknown environment or invalid settings; every field error is listed."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Only admins change environments."},
}


def _view(environment: catalog_pb2.Environment) -> dict[str, Any]:
    return {
        "name": convert.bare(environment.name, ENVIRONMENT_PREFIX),
        "position": environment.position,
        "namespace": environment.namespace or None,
        "region": environment.region or None,
        "replicas_floor": environment.replicas_floor,
        "approval_required": environment.approval_required,
        "soak_seconds": environment.soak_time.seconds,
        "approval_timeout_seconds": environment.approval_timeout.seconds,
        "description": environment.description,
    }


@router.get("", response_model=schemas.Items, responses=RESPONSES)
async def list_environments(backends: BackendsDep, _principal: PrincipalDep) -> schemas.Items:
    """The environments in promotion order, with what each requires of a promotion into it."""
    reply = await call("catalog", backends.catalog.ListEnvironments(catalog_pb2.ListEnvironmentsRequest()))
    return schemas.Items(items=[_view(e) for e in reply.environments], next_page_token=None)


@router.patch("/{environment_id}", response_model=dict[str, Any], responses=RESPONSES)
async def update_environment(
    environment_id: EnvironmentId,
    body: schemas.EnvironmentUpdate,
    backends: BackendsDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Change the settings given in the body (admins only)."""
    if not principal.is_admin:
        raise not_permitted(principal, "the platform's environments")
    given = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    message = catalog_pb2.Environment(name=ENVIRONMENT_PREFIX + environment_id)
    paths: list[str] = []
    for field, value in given.items():
        if field == "soak_seconds":
            message.soak_time.CopyFrom(duration_pb2.Duration(seconds=value))
            paths.append("soak_time")
        elif field == "approval_timeout_seconds":
            message.approval_timeout.CopyFrom(duration_pb2.Duration(seconds=value))
            paths.append("approval_timeout")
        else:
            setattr(message, field, value)
            paths.append(field)
    reply = await call(
        "catalog",
        backends.catalog.UpdateEnvironment(
            catalog_pb2.UpdateEnvironmentRequest(
                environment=message, update_mask=field_mask_pb2.FieldMask(paths=paths)
            )
        ),
    )
    return _view(reply)
