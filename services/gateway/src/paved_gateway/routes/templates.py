"""Template routes: golden paths and their Backstage Software Template form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from paved.catalog.v1 import catalog_pb2

from paved_gateway import convert, drift_schemas, drift_view, schemas
from paved_gateway.access import team_scope
from paved_gateway.deps import BackendsDep, PrincipalDep, SettingsDep
from paved_gateway.errors import call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/templates", tags=["templates"])

TemplateId = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)]
RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "No or invalid bearer token."},
    404: {"description": "No such template."},
}


@router.get("", response_model=schemas.TemplateList, responses=RESPONSES)
async def list_templates(
    backends: BackendsDep,
    _principal: PrincipalDep,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> schemas.TemplateList:
    """Golden-path templates."""
    reply = await call(
        "catalog",
        backends.catalog.ListTemplates(
            catalog_pb2.ListTemplatesRequest(page_size=page_size, page_token=page_token or "")
        ),
    )
    return schemas.TemplateList(
        templates=[convert.template(t) for t in reply.templates],
        next_page_token=reply.next_page_token or None,
    )


@router.get("/{template_id}", response_model=schemas.Template, responses=RESPONSES)
async def get_template(
    template_id: TemplateId, backends: BackendsDep, _principal: PrincipalDep
) -> schemas.Template:
    """One template with its parameters, resources and workflows."""
    reply = await call(
        "catalog",
        backends.catalog.GetTemplate(catalog_pb2.GetTemplateRequest(name=f"templates/{template_id}")),
    )
    return convert.template(reply)


@router.get(
    "/{template_id}/backstage",
    response_class=Response,
    responses={**RESPONSES, 200: {"content": {"application/yaml": {}}, "description": "Software Template."}},
)
async def backstage_template(
    template_id: TemplateId, backends: BackendsDep, _principal: PrincipalDep, settings: SettingsDep
) -> Response:
    """The template as a Backstage Software Template (`scaffolder.backstage.io/v1beta3`) YAML."""
    reply = await call(
        "catalog",
        backends.catalog.ExportBackstageTemplate(
            catalog_pb2.ExportBackstageTemplateRequest(
                template=f"templates/{template_id}", proxy_path=settings.backstage_proxy_path
            )
        ),
    )
    return Response(reply.yaml, media_type="application/yaml")


@router.get(
    "/{template_id}/drift",
    response_model=drift_schemas.TemplateDrift,
    responses={
        **RESPONSES,
        400: {"description": "Invalid revision."},
        404: {"description": "No such template or revision."},
    },
)
async def template_drift(
    template_id: TemplateId,
    backends: BackendsDep,
    principal: PrincipalDep,
    revision: Annotated[
        int, Query(ge=0, le=2**31 - 1, description="Revision to compare with; 0: the latest.")
    ] = 0,
) -> drift_schemas.TemplateDrift:
    """The services of the template (the caller's teams', every team's for admins) that are not on the
    revision: the revision each is on, the structured diff of its manifests (both revisions rendered with
    its own parameters), and whether its GitOps files were edited by hand since Paved's last commit."""
    teams = team_scope(principal, None)
    drift, services = await drift_view.drift_of(backends, template_id, revision, None, teams)
    return drift_schemas.TemplateDrift(
        template=template_id,
        revision=drift.revision,
        latest_revision=drift.latest_revision,
        current_count=drift.current_count,
        behind_count=len(services),
        hand_edited_count=sum(1 for s in services if s.hand_edited),
        pinned_count=sum(1 for s in services if s.pin is not None),
        services=services,
    )
