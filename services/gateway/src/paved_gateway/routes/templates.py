"""Template routes: golden paths and their Backstage Software Template form."""

from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Path, Query, Response
from google.longrunning import operations_pb2
from paved.catalog.v1 import catalog_pb2
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import convert, drift_schemas, drift_view, schemas, upgrade_flow, upgrade_schemas
from paved_gateway.access import not_found_for, not_permitted, team_scope
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.deps import BackendsDep, IdempotencyKeyDep, PrincipalDep, SettingsDep, request_id_for
from paved_gateway.errors import call, from_rpc_error
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


UPGRADE_RESPONSES: dict[int | str, dict[str, str]] = {
    **RESPONSES,
    400: {
        "description": "Invalid input (waves, selector, revision, downgrade); every field error is listed."
    },
    404: {"description": "No such template, revision or upgrade."},
    409: {
        "description": "Another upgrade of the template is running, or every selected service was skipped."
    },
}
OperationId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
_UPGRADE_KINDS = ("template_upgrade", "template_upgrade_rollback")


@router.post(
    "/{template_id}/upgrades",
    status_code=202,
    response_model=upgrade_schemas.UpgradePlan,
    responses={**UPGRADE_RESPONSES, 200: {"description": "dry_run: the plan; nothing changed."}},
)
async def start_upgrade(
    template_id: TemplateId,
    body: upgrade_schemas.UpgradeRequest,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> upgrade_schemas.UpgradePlan:
    """Upgrade the template's services (the caller's teams'; every team's for admins) to a revision in
    waves (default: 1 service, then 10 %, then the rest). Each is re-rendered with its own parameters,
    checked by policy and priced; hand-edited, pinned and refused ones are skipped with the reason. A dry run
    answers the plan and changes nothing; otherwise one operation runs the waves (202), each starting when
    the one before it succeeded, halting when failures exceed `failure_budget`."""
    teams = team_scope(principal, None)
    plan, request = await upgrade_flow.plan_upgrade(backends, template_id, body, principal, teams)
    if body.dry_run:
        response.status_code = 200
        return plan
    request.request_id = request_id_for(key, principal)
    started = await upgrade_flow.start(backends, plan, request)
    response.headers["Location"] = f"/api/templates/{template_id}/upgrades/{started.id}"
    return started


async def _upgrade_operation(
    backends: Backends, principal: Principal, template_id: str, operation_id: str
) -> operations_pb2.Operation:
    what = f"upgrade {operation_id!r} of template {template_id!r}"
    try:
        operation = await backends.operations.GetOperation(
            operations_pb2.GetOperationRequest(name=f"operations/{operation_id}")
        )
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise not_found_for(principal, what) from None
        raise from_rpc_error(exc, "provisioning") from None
    metadata = convert.operation_metadata(operation)
    if metadata.kind not in _UPGRADE_KINDS or metadata.service != f"templates/{template_id}":
        raise not_found_for(principal, what)
    if not principal.is_admin and metadata.requester != principal.subject:
        raise not_permitted(principal, what)
    return operation


@router.get(
    "/{template_id}/upgrades/{operation_id}",
    response_model=upgrade_schemas.UpgradeReport,
    responses=UPGRADE_RESPONSES,
)
async def get_upgrade(
    template_id: TemplateId, operation_id: OperationId, backends: BackendsDep, principal: PrincipalDep
) -> upgrade_schemas.UpgradeReport:
    """Where the upgrade is: each wave's state and progress, and the services upgraded, skipped and failed
    with reasons (`GET /api/operations/{id}/events` streams the same progress)."""
    return upgrade_flow.report_of(await _upgrade_operation(backends, principal, template_id, operation_id))


@router.post(
    "/{template_id}/upgrades/{operation_id}/rollback",
    status_code=202,
    response_model=upgrade_schemas.UpgradeReport,
    responses=UPGRADE_RESPONSES,
)
async def rollback_upgrade(
    template_id: TemplateId,
    operation_id: OperationId,
    response: Response,
    backends: BackendsDep,
    principal: PrincipalDep,
    key: IdempotencyKeyDep,
) -> upgrade_schemas.UpgradeReport:
    """Restore the revision each service the (finished) upgrade upgraded ran before it: one operation."""
    await _upgrade_operation(backends, principal, template_id, operation_id)
    operation = await call(
        "provisioning",
        backends.provisioning.RollbackTemplateUpgrade(
            provisioning_pb2.RollbackTemplateUpgradeRequest(
                operation=f"operations/{operation_id}",
                requester=principal.subject,
                request_id=request_id_for(key, principal),
            )
        ),
    )
    report = upgrade_flow.report_of(operation)
    response.headers["Location"] = f"/api/templates/{template_id}/upgrades/{report.id}"
    return report
