"""``paved.catalog.v1.CatalogService`` over gRPC: converts messages and delegates to :class:`Catalog`."""

from __future__ import annotations

from datetime import UTC

import grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved_kit.errors import FieldViolation, InvalidArgument

from paved_catalog import backstage, convert
from paved_catalog.catalog import Catalog
from paved_catalog.environments import ENVIRONMENTS, parse_child_name
from paved_catalog.names import SERVICES, TEMPLATES, parse_name
from paved_catalog.registry import UPDATABLE_FIELDS

SERVICE_NAME = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name
# Who is writing a template, as the caller states it (the gateway's authenticated subject).
AUTHOR_KEY = "x-paved-author"


def _author(context: grpc.aio.ServicerContext) -> str:
    value = dict(context.invocation_metadata() or ()).get(AUTHOR_KEY, "")
    return value if isinstance(value, str) else ""


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    """The catalog's gRPC face."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    # -- templates ---------------------------------------------------------------------------------

    async def CreateTemplate(
        self, request: catalog_pb2.CreateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Template:
        view = await self._catalog.templates.create_template(
            request.document, request.request_id, _author(context), request.change_note
        )
        return convert.template_to_proto(view)

    async def GetTemplate(
        self, request: catalog_pb2.GetTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Template:
        view = await self._catalog.templates.get_template(
            parse_name(request.name, TEMPLATES, "name"), request.revision
        )
        return convert.template_to_proto(view)

    async def ListTemplateRevisions(
        self, request: catalog_pb2.ListTemplateRevisionsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListTemplateRevisionsResponse:
        rows, token = await self._catalog.templates.list_template_revisions(
            parse_name(request.name, TEMPLATES, "name"), request.page_size, request.page_token
        )
        return catalog_pb2.ListTemplateRevisionsResponse(
            revisions=[convert.template_revision_to_proto(r) for r in rows], next_page_token=token
        )

    async def GetTemplateDrift(
        self, request: catalog_pb2.GetTemplateDriftRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.TemplateDrift:
        template_id = parse_name(request.name, TEMPLATES, "name")
        service = parse_name(request.service, SERVICES, "service") if request.service else None
        drift = await self._catalog.drift.drift(
            template_id, request.revision, service, with_plans=request.include_plans
        )
        return convert.template_drift_to_proto(drift)

    async def PinTemplateRevision(
        self, request: catalog_pb2.PinTemplateRevisionRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ServiceEnvironment:
        service, environment = parse_child_name(request.name, "name")
        expire = request.expire_time.ToDatetime(tzinfo=UTC) if request.HasField("expire_time") else None
        row = await self._catalog.pins.pin(
            service, environment, request.revision, request.reason, expire, _author(context)
        )
        return convert.service_environment_to_proto(row, with_plan=False)

    async def UnpinTemplateRevision(
        self, request: catalog_pb2.UnpinTemplateRevisionRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ServiceEnvironment:
        service, environment = parse_child_name(request.name, "name")
        row = await self._catalog.pins.unpin(service, environment)
        return convert.service_environment_to_proto(row, with_plan=False)

    async def ListTemplates(
        self, request: catalog_pb2.ListTemplatesRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListTemplatesResponse:
        views, token = await self._catalog.templates.list_templates(
            request.page_size, request.page_token, request.filter
        )
        return catalog_pb2.ListTemplatesResponse(
            templates=[convert.template_to_proto(v) for v in views], next_page_token=token
        )

    async def UpdateTemplate(
        self, request: catalog_pb2.UpdateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Template:
        template_id = parse_name(request.name, TEMPLATES, "name")
        view = await self._catalog.templates.update_template(
            template_id, request.document, request.etag, _author(context), request.change_note
        )
        return convert.template_to_proto(view)

    async def DeleteTemplate(
        self, request: catalog_pb2.DeleteTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.DeleteTemplateResponse:
        await self._catalog.templates.delete_template(
            parse_name(request.name, TEMPLATES, "name"), request.etag
        )
        return catalog_pb2.DeleteTemplateResponse()

    async def ValidateTemplate(
        self, request: catalog_pb2.ValidateTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ValidateTemplateResponse:
        parsed = self._catalog.templates.validate_template(request.document)
        return catalog_pb2.ValidateTemplateResponse(
            valid=parsed.valid,
            violations=[convert.document_violation_to_proto(v) for v in parsed.violations],
        )

    # -- validate and render -----------------------------------------------------------------------

    async def ValidateParameters(
        self, request: catalog_pb2.ValidateParametersRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ValidateParametersResponse:
        template_id = parse_name(request.template, TEMPLATES, "template")
        check = await self._catalog.templates.validate_parameters(
            template_id, convert.struct_to_dict(request.parameters)
        )
        return catalog_pb2.ValidateParametersResponse(
            valid=check.valid,
            violations=[convert.parameter_violation_to_proto(v) for v in check.violations],
            resolved=convert.dict_to_struct(check.resolved) if check.valid else None,
        )

    async def RenderTemplate(
        self, request: catalog_pb2.RenderTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.RenderTemplateResponse:
        template_id = parse_name(request.template, TEMPLATES, "template")
        plan = await self._catalog.templates.render(
            template_id,
            convert.struct_to_dict(request.parameters),
            convert.render_context_from_proto(request.context),
        )
        return catalog_pb2.RenderTemplateResponse(plan=convert.plan_to_proto(plan))

    # -- services ----------------------------------------------------------------------------------

    async def CreateService(
        self, request: catalog_pb2.CreateServiceRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Service:
        name = request.service.name or (
            f"services/{request.service.plan.service_name}" if request.service.plan.service_name else ""
        )
        service_id = parse_name(name, SERVICES, "service.name")
        draft = convert.service_draft(request.service, service_id)
        row = await self._catalog.registry.create_service(draft, request.request_id)
        row, children = await self._catalog.registry.get_service_view(row.name)
        return convert.service_to_proto(row, environments=children)

    async def GetService(
        self, request: catalog_pb2.GetServiceRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Service:
        row, children = await self._catalog.registry.get_service_view(
            parse_name(request.name, SERVICES, "name")
        )
        return convert.service_to_proto(row, environments=children)

    async def ListServices(
        self, request: catalog_pb2.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        """Answers already encoded (see registration.py)."""
        full = request.view == catalog_pb2.SERVICE_VIEW_FULL
        rows, token, children = await self._catalog.registry.list_services(
            request.page_size, request.page_token, request.filter, with_plan=full
        )
        return convert.list_services_encoded(rows, token, children, with_plan=full)

    async def UpdateService(
        self, request: catalog_pb2.UpdateServiceRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Service:
        service_id = parse_name(request.service.name, SERVICES, "service.name")
        paths = list(request.update_mask.paths) or _present_fields(request.service)
        if not paths:
            raise InvalidArgument(
                "nothing to update", [FieldViolation("update_mask", "name the fields to change, e.g. state")]
            )
        draft = convert.service_draft(request.service, service_id)
        row = await self._catalog.registry.update_service(draft, paths, request.service.etag)
        return convert.service_to_proto(row)

    async def DeleteService(
        self, request: catalog_pb2.DeleteServiceRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.DeleteServiceResponse:
        await self._catalog.registry.delete_service(parse_name(request.name, SERVICES, "name"))
        return catalog_pb2.DeleteServiceResponse()

    # -- environments ------------------------------------------------------------------------------

    async def ListEnvironments(
        self, request: catalog_pb2.ListEnvironmentsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListEnvironmentsResponse:
        rows = await self._catalog.environments.list_environments()
        return catalog_pb2.ListEnvironmentsResponse(
            environments=[convert.environment_to_proto(r) for r in rows]
        )

    async def UpdateEnvironment(
        self, request: catalog_pb2.UpdateEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Environment:
        name = parse_name(request.environment.name, ENVIRONMENTS, "environment.name")
        row = await self._catalog.environments.update_environment(
            name,
            convert.environment_settings(request.environment),
            list(request.update_mask.paths),
            request.environment.etag,
        )
        return convert.environment_to_proto(row)

    async def GetServiceEnvironment(
        self, request: catalog_pb2.GetServiceEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ServiceEnvironment:
        service, environment = parse_child_name(request.name, "name")
        row = await self._catalog.environments.get_service_environment(service, environment)
        return convert.service_environment_to_proto(row)

    async def ListServiceEnvironments(
        self, request: catalog_pb2.ListServiceEnvironmentsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListServiceEnvironmentsResponse:
        service = parse_name(request.parent, SERVICES, "parent")
        full = request.view == catalog_pb2.SERVICE_VIEW_FULL
        rows = await self._catalog.environments.list_service_environments(service, with_plan=full)
        return catalog_pb2.ListServiceEnvironmentsResponse(
            service_environments=[convert.service_environment_to_proto(r, with_plan=full) for r in rows]
        )

    async def UpdateServiceEnvironment(
        self, request: catalog_pb2.UpdateServiceEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ServiceEnvironment:
        given = request.service_environment
        service, environment = parse_child_name(given.name, "service_environment.name")
        row = await self._catalog.environments.update_service_environment(
            service,
            environment,
            convert.service_environment_draft(given),
            list(request.update_mask.paths),
            given.etag,
        )
        return convert.service_environment_to_proto(row)

    # -- Backstage ---------------------------------------------------------------------------------

    async def ExportBackstageEntities(
        self, request: catalog_pb2.ExportBackstageEntitiesRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ExportBackstageEntitiesResponse:
        entities = await self._catalog.registry.export_entities(request.filter, request.location_url)
        return catalog_pb2.ExportBackstageEntitiesResponse(
            entities=[convert.dict_to_struct(e) for e in entities], yaml=backstage.to_yaml(entities)
        )

    async def ExportBackstageTemplate(
        self, request: catalog_pb2.ExportBackstageTemplateRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ExportBackstageTemplateResponse:
        template_id = parse_name(request.template, TEMPLATES, "template")
        document = await self._catalog.templates.export_template(template_id, request.proxy_path)
        return catalog_pb2.ExportBackstageTemplateResponse(
            template=convert.dict_to_struct(document), yaml=backstage.to_yaml([document])
        )

    # -- scorecards --------------------------------------------------------------------------------

    async def ReportServiceFacts(
        self, request: catalog_pb2.ReportServiceFactsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ReportServiceFactsResponse:
        service_id = parse_name(request.service, SERVICES, "service")
        await self._catalog.registry.report_facts(
            service_id, request.source, convert.struct_to_dict(request.facts)
        )
        return catalog_pb2.ReportServiceFactsResponse()

    async def GetScorecard(
        self, request: catalog_pb2.GetScorecardRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.Scorecard:
        service = parse_name(request.service, SERVICES, "service")
        if request.environment:
            card = await self._catalog.environments.get_scorecard(
                service, request.environment, convert.plan_summary_of
            )
        else:
            card = await self._catalog.registry.get_scorecard(service)
        return convert.scorecard_to_proto(card)

    async def SummarizeScorecards(
        self, request: catalog_pb2.SummarizeScorecardsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.SummarizeScorecardsResponse:
        summary = await self._catalog.registry.summarize_scorecards(request.team)
        return convert.summary_to_proto(summary)

    # -- platform inputs ---------------------------------------------------------------------------

    async def SetPlatformInput(
        self, request: catalog_pb2.SetPlatformInputRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.PlatformInput:
        given = request.platform_input
        recorded = await self._catalog.platform.set_input(given.name, given.value, given.set_by, given.note)
        return convert.platform_input_to_proto(recorded)

    async def ListPlatformInputs(
        self, request: catalog_pb2.ListPlatformInputsRequest, context: grpc.aio.ServicerContext
    ) -> catalog_pb2.ListPlatformInputsResponse:
        inputs = await self._catalog.platform.list_inputs()
        return catalog_pb2.ListPlatformInputsResponse(
            platform_inputs=[convert.platform_input_to_proto(i) for i in inputs]
        )


def _present_fields(service: catalog_pb2.Service) -> list[str]:
    """Without a mask, the updatable fields the caller set (AIP-134's implied mask)."""
    present = {field.name for field, _ in service.ListFields()}
    return sorted(present & UPDATABLE_FIELDS)
