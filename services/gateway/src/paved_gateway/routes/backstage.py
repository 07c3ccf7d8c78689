"""Backstage routes: the catalog as Backstage entities, and one service's catalog-info.yaml."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from paved.catalog.v1 import catalog_pb2

from paved_gateway import convert, schemas
from paved_gateway.access import authorized_service, team_filter, team_scope
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(tags=["backstage"])

RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
}
YAML = "application/yaml"


def _location(request: Request) -> str:
    """The URL this request was made to, as Backstage registered it (its query, such as the team, kept)."""
    return str(request.url)


@router.get(
    "/api/backstage/entities",
    response_model=schemas.Entities,
    responses={**RESPONSES, 200: {"content": {YAML: {}}, "description": "Entities (JSON or YAML)."}},
)
async def entities(
    request: Request,
    backends: BackendsDep,
    principal: PrincipalDep,
    team: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    format: Literal["json", "yaml"] = "json",
) -> schemas.Entities | Response:
    """Component, Resource, Group and System entities for a Backstage catalog location."""
    reply = await call(
        "catalog",
        backends.catalog.ExportBackstageEntities(
            catalog_pb2.ExportBackstageEntitiesRequest(
                filter=team_filter(team_scope(principal, team)), location_url=_location(request)
            )
        ),
    )
    if format == "yaml":
        return Response(reply.yaml, media_type=YAML)
    return schemas.Entities(items=[convert.to_dict(e) for e in reply.entities])


@router.get(
    "/api/services/{service_id}/catalog-info.yaml",
    response_class=Response,
    responses={**RESPONSES, 200: {"content": {YAML: {}}, "description": "catalog-info.yaml."}},
)
async def catalog_info(
    request: Request,
    service_id: Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)],
    backends: BackendsDep,
    principal: PrincipalDep,
) -> Response:
    """The service's entities as the catalog-info.yaml its repository would hold."""
    await authorized_service(backends, principal, service_id)
    reply = await call(
        "catalog",
        backends.catalog.ExportBackstageEntities(
            catalog_pb2.ExportBackstageEntitiesRequest(
                filter=f'name = "services/{service_id}"', location_url=_location(request)
            )
        ),
    )
    return Response(reply.yaml, media_type=YAML)
