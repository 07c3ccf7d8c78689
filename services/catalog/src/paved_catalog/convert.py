"""Conversion between the catalog's messages and its domain objects (no logic beyond shape)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf import duration_pb2, json_format, struct_pb2, timestamp_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved_kit.structs import integral
from paved_kit.structured_diff import Change, ObjectChange

from paved_catalog.conflicts import utc_now
from paved_catalog.document import DocumentViolation
from paved_catalog.environment_registry import ServiceEnvironmentDraft
from paved_catalog.environments import EnvironmentSettings
from paved_catalog.models import EnvironmentRow, ServiceEnvironmentRow, ServiceRow, TemplateRevisionRow
from paved_catalog.parameters import ParameterViolation
from paved_catalog.platform_inputs import COLLECTION as PLATFORM_INPUTS
from paved_catalog.platform_inputs import PlatformInput
from paved_catalog.registry import ServiceDraft, State
from paved_catalog.render_context import RenderContext
from paved_catalog.rendering import RenderedPlan
from paved_catalog.scorecards import Scorecard, Summary
from paved_catalog.spec import ParameterSpec, ResourceSpec, WorkflowSpec
from paved_catalog.template_drift import TemplateDrift
from paved_catalog.template_library import TemplateView
from paved_catalog.template_pins import Pin, active_pin

_PARAMETER_TYPES = {
    "string": catalog_pb2.TemplateParameter.TYPE_STRING,
    "enum": catalog_pb2.TemplateParameter.TYPE_ENUM,
    "int": catalog_pb2.TemplateParameter.TYPE_INT,
    "bool": catalog_pb2.TemplateParameter.TYPE_BOOL,
}
_STATES = {state: getattr(catalog_pb2.Service, f"STATE_{state.value}") for state in State}
_STATES_BACK = {number: state for state, number in _STATES.items()}


def struct_to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = integral(json_format.MessageToDict(message))
    return result


def dict_to_struct(data: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(data)
    return struct


def _value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(data, value)
    return value


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    _fill_timestamp(stamp, moment)
    return stamp


def _fill_timestamp(stamp: timestamp_pb2.Timestamp, moment: datetime) -> None:
    # Exact integer arithmetic; Timestamp.FromDatetime is several times slower on list hot paths.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    stamp.SetInParent()
    stamp.seconds = delta.days * 86400 + delta.seconds
    stamp.nanos = delta.microseconds * 1000


# -- templates ----------------------------------------------------------------------------------------


def parameter_to_proto(parameter: ParameterSpec) -> catalog_pb2.TemplateParameter:
    message = catalog_pb2.TemplateParameter(
        name=parameter.name,
        type=_PARAMETER_TYPES[parameter.type],
        required=parameter.required,
        values=list(parameter.values),
        pattern=parameter.pattern,
        description=parameter.description,
    )
    if parameter.has_default:
        message.default_value.CopyFrom(_value(parameter.default))
    if parameter.min is not None:
        message.min = parameter.min
    if parameter.max is not None:
        message.max = parameter.max
    return message


def resource_to_proto(resource: ResourceSpec) -> catalog_pb2.TemplateResource:
    return catalog_pb2.TemplateResource(
        name=resource.name,
        type=resource.type,
        template=resource.template,
        condition=resource.condition,
        automatic=resource.automatic,
        includes=list(resource.includes),
    )


def workflow_to_proto(workflow: WorkflowSpec) -> common_pb2.Workflow:
    return common_pb2.Workflow(name=workflow.name, steps=list(workflow.steps))


def template_to_proto(view: TemplateView) -> catalog_pb2.Template:
    row, spec = view.row, view.spec
    return catalog_pb2.Template(
        name=f"templates/{row.name}",
        description=row.description,
        document=row.document,
        parameters=[parameter_to_proto(p) for p in spec.parameters],
        resources=[resource_to_proto(r) for r in spec.resources],
        workflows=[workflow_to_proto(w) for w in spec.workflows],
        revision=row.revision,
        etag=row.etag,
        builtin=row.builtin,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
    )


def document_violation_to_proto(violation: DocumentViolation) -> catalog_pb2.DocumentViolation:
    return catalog_pb2.DocumentViolation(
        path=violation.path, message=violation.message, line=violation.line, column=violation.column
    )


def parameter_violation_to_proto(violation: ParameterViolation) -> catalog_pb2.ParameterViolation:
    return catalog_pb2.ParameterViolation(
        field=violation.field, rule=violation.rule, description=violation.description
    )


# -- render -------------------------------------------------------------------------------------------


def render_context_from_proto(message: catalog_pb2.RenderContext) -> RenderContext:
    return RenderContext(
        service_name=message.service_name,
        team=message.team,
        environment=message.environment,
        namespace=message.namespace,
        image=message.image,
        region=message.region,
        cost_center=message.cost_center,
        replicas_floor=message.replicas_floor,
    )


def plan_to_proto(plan: RenderedPlan) -> common_pb2.Plan:
    return common_pb2.Plan(
        service_name=plan.service_name,
        team=plan.team,
        environment=plan.environment,
        template=plan.template,
        template_revision=plan.template_revision,
        parameters=dict_to_struct(plan.parameters),
        resources=[
            common_pb2.Resource(
                name=resource.name,
                type=resource.type,
                properties=dict_to_struct(resource.properties),
                tags=resource.tags,
                manifests=[dict_to_struct(m) for m in resource.manifests],
            )
            for resource in plan.resources
        ],
        namespace=plan.namespace,
        image=plan.image,
        terraform=dict_to_struct(plan.terraform),
        workflows=[workflow_to_proto(w) for w in plan.workflows],
        region=plan.region,
    )


# -- services -----------------------------------------------------------------------------------------


def state_from_proto(state: int) -> State | None:
    return _STATES_BACK.get(state)


def _database_engine(plan: common_pb2.Plan) -> str:
    for resource in plan.resources:
        if resource.type == "database" and "engine" in resource.properties:
            return str(resource.properties["engine"])
    return ""


def _plan_summary(plan: common_pb2.Plan) -> dict[str, Any]:
    return {
        "resources": [
            {"name": r.name, "type": r.type, "tags": dict(r.tags), "properties": struct_to_dict(r.properties)}
            for r in plan.resources
        ]
    }


def plan_summary_of(plan: bytes | None) -> dict[str, Any]:
    """The summary scorecards read of a stored plan (its binary encoding)."""
    return _plan_summary(common_pb2.Plan.FromString(plan)) if plan else {}


def service_draft(message: catalog_pb2.Service, service_id: str) -> ServiceDraft:
    has_plan = message.HasField("plan")
    plan = message.plan
    return ServiceDraft(
        service_id=service_id,
        team=message.team or plan.team,
        template=message.template.removeprefix("templates/") or plan.template.removeprefix("templates/"),
        template_revision=message.template_revision or plan.template_revision,
        environment=message.environment or plan.environment or "development",
        state=state_from_proto(message.state),
        parameters=struct_to_dict(message.parameters if message.HasField("parameters") else plan.parameters),
        endpoints=list(message.endpoints),
        dashboards=[{"title": link.title, "url": link.url} for link in message.dashboards],
        documentation_url=message.documentation_url,
        plan=plan.SerializeToString(deterministic=True) if has_plan else None,
        annotations=dict(message.annotations),
        plan_summary=_plan_summary(plan) if has_plan else {},
        database_engine=_database_engine(plan) if has_plan else "",
        namespace=plan.namespace if has_plan else "",
    )


def service_to_proto(
    row: ServiceRow, *, with_plan: bool = True, environments: list[ServiceEnvironmentRow] | None = None
) -> catalog_pb2.Service:
    message = catalog_pb2.Service()
    fill_service(message, row, with_plan=with_plan, environments=environments)
    return message


def fill_service(
    message: catalog_pb2.Service,
    row: ServiceRow,
    *,
    with_plan: bool = True,
    environments: list[ServiceEnvironmentRow] | None = None,
) -> None:
    """Write ``row`` into an empty ``message`` in place (a page fills its repeated field this way: building
    each service apart and copying it in costs a deep copy of every plan)."""
    message.name = f"services/{row.name}"
    message.uid = row.uid
    message.team = row.team
    message.template = f"templates/{row.template}"
    message.template_revision = row.template_revision
    message.parameters.SetInParent()  # present even when empty, as a constructed message has it
    message.parameters.update(row.parameters)
    message.environment = row.environment
    message.state = _STATES.get(State(row.state), catalog_pb2.Service.STATE_UNSPECIFIED)
    message.endpoints.extend(row.endpoints)
    for dashboard in row.dashboards:
        message.dashboards.add(title=dashboard.get("title", ""), url=dashboard.get("url", ""))
    message.documentation_url = row.documentation_url
    message.annotations.update(row.annotations)
    message.etag = row.etag
    _fill_timestamp(message.create_time, row.create_time)
    _fill_timestamp(message.update_time, row.update_time)
    if with_plan and row.plan is not None:
        message.plan.ParseFromString(row.plan)
    if environments:
        message.environments.extend(service_environment_to_proto(e, with_plan=False) for e in environments)


def list_services_encoded(
    rows: Sequence[ServiceRow],
    next_page_token: str,
    environments: Mapping[str, list[ServiceEnvironmentRow]],
    *,
    with_plan: bool,
) -> bytes:
    """A ListServicesResponse in its binary encoding, each stored plan spliced in as stored (a plan
    field and a bytes field share their encoding), so plans are neither parsed nor encoded again."""
    parts: list[bytes] = []
    for row in rows:
        message = catalog_pb2.Service()
        fill_service(message, row, with_plan=False, environments=environments.get(row.name))
        service = message.SerializeToString()
        if with_plan and row.plan is not None:
            service += _PLAN_KEY + _varint(len(row.plan)) + row.plan
        parts += (_SERVICES_KEY, _varint(len(service)), service)
    parts.append(catalog_pb2.ListServicesResponse(next_page_token=next_page_token).SerializeToString())
    return b"".join(parts)


def _field_key(message: Any, field: str) -> bytes:
    return _varint(message.DESCRIPTOR.fields_by_name[field].number << 3 | 2)  # wire type 2: length-delimited


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


_PLAN_KEY = _field_key(catalog_pb2.Service, "plan")
_SERVICES_KEY = _field_key(catalog_pb2.ListServicesResponse, "services")


# -- environments -------------------------------------------------------------------------------------


def environment_to_proto(row: EnvironmentRow) -> catalog_pb2.Environment:
    return catalog_pb2.Environment(
        name=f"environments/{row.name}",
        position=row.position,
        namespace=row.namespace,
        region=row.region,
        replicas_floor=row.replicas_floor,
        approval_required=row.approval_required,
        soak_time=duration_pb2.Duration(seconds=row.soak_seconds),
        approval_timeout=duration_pb2.Duration(seconds=row.approval_timeout_seconds),
        description=row.description,
        etag=row.etag,
    )


def environment_settings(message: catalog_pb2.Environment) -> EnvironmentSettings:
    return EnvironmentSettings(
        namespace=message.namespace,
        region=message.region,
        replicas_floor=message.replicas_floor,
        approval_required=message.approval_required,
        soak_seconds=message.soak_time.seconds,
        approval_timeout_seconds=message.approval_timeout.seconds,
        description=message.description,
    )


def template_pin_to_proto(pin: Pin) -> catalog_pb2.TemplatePin:
    message = catalog_pb2.TemplatePin(
        revision=pin.revision,
        reason=pin.reason,
        expire_time=timestamp(pin.expire_time),
        pinned_by=pin.pinned_by,
    )
    if pin.create_time is not None:
        message.create_time.CopyFrom(timestamp(pin.create_time))
    return message


def service_environment_to_proto(
    row: ServiceEnvironmentRow, *, with_plan: bool = True, now: datetime | None = None
) -> catalog_pb2.ServiceEnvironment:
    message = catalog_pb2.ServiceEnvironment(
        name=f"services/{row.service}/environments/{row.environment}",
        environment=row.environment,
        state=_STATES.get(State(row.state), catalog_pb2.Service.STATE_UNSPECIFIED),
        parameter_overrides=dict_to_struct(row.parameter_overrides),
        version=row.version,
        image=row.image,
        namespace=row.namespace,
        endpoints=row.endpoints,
        annotations=row.annotations,
        etag=row.etag,
        create_time=timestamp(row.create_time),
        update_time=timestamp(row.update_time),
        template_revision=row.template_revision,
    )
    pin = active_pin(row, now or utc_now())
    if pin is not None:
        message.pin.CopyFrom(template_pin_to_proto(pin))
    if with_plan and row.plan is not None:
        message.plan.ParseFromString(row.plan)
    return message


def service_environment_draft(message: catalog_pb2.ServiceEnvironment) -> ServiceEnvironmentDraft:
    has_plan = message.HasField("plan")
    return ServiceEnvironmentDraft(
        state=state_from_proto(message.state),
        plan=message.plan.SerializeToString(deterministic=True) if has_plan else None,
        template_revision=message.plan.template_revision if has_plan else 0,
        namespace=message.plan.namespace if has_plan else "",
        version=message.version,
        image=message.image,
        endpoints=list(message.endpoints),
        annotations=dict(message.annotations),
        parameter_overrides=struct_to_dict(message.parameter_overrides),
    )


# -- scorecards ---------------------------------------------------------------------------------------


def scorecard_to_proto(card: Scorecard) -> catalog_pb2.Scorecard:
    return catalog_pb2.Scorecard(
        service=f"services/{card.service}",
        team=card.team,
        level=card.level,
        checks=[
            catalog_pb2.ScorecardCheck(
                id=c.id, title=c.title, passed=c.passed, remediation=c.remediation, evidence=c.evidence
            )
            for c in card.checks
        ],
        score=card.score,
        evaluate_time=timestamp(card.evaluate_time),
        environment=card.environment,
    )


def summary_to_proto(summary: Summary) -> catalog_pb2.SummarizeScorecardsResponse:
    return catalog_pb2.SummarizeScorecardsResponse(
        scorecards=[scorecard_to_proto(c) for c in summary.scorecards],
        average_score=summary.average_score,
        level=summary.level,
        level_evidence=summary.level_evidence,
        check_pass_rates=summary.check_pass_rates,
    )


def platform_input_to_proto(value: PlatformInput) -> catalog_pb2.PlatformInput:
    return catalog_pb2.PlatformInput(
        name=f"{PLATFORM_INPUTS}/{value.input_id}",
        value=value.value,
        set_time=timestamp(value.set_time),
        set_by=value.set_by,
        note=value.note,
    )


def template_revision_to_proto(row: TemplateRevisionRow) -> catalog_pb2.TemplateRevision:
    return catalog_pb2.TemplateRevision(
        template=f"templates/{row.template}",
        revision=row.revision,
        digest=row.digest,
        author=row.author,
        change_note=row.change_note,
        create_time=timestamp(row.create_time),
        document=row.document,
    )


# -- drift --------------------------------------------------------------------------------------------

_CHANGE_KINDS = {
    Change.ADDED: common_pb2.CHANGE_KIND_ADDED,
    Change.CHANGED: common_pb2.CHANGE_KIND_CHANGED,
    Change.REMOVED: common_pb2.CHANGE_KIND_REMOVED,
}


def object_change_to_proto(change: ObjectChange) -> common_pb2.ObjectChange:
    message = common_pb2.ObjectChange(
        key=change.key,
        kind=change.kind,
        name=change.name,
        resource=change.resource,
        change=_CHANGE_KINDS[change.change],
    )
    for f in change.fields:
        entry = message.fields.add(path=f.path, change=_CHANGE_KINDS[f.change])
        if f.change is not Change.ADDED:
            entry.before.CopyFrom(_value(f.before))
        if f.change is not Change.REMOVED:
            entry.after.CopyFrom(_value(f.after))
    return message


def template_drift_to_proto(drift: TemplateDrift) -> catalog_pb2.TemplateDrift:
    message = _template_drift_message(drift)
    for entry, listed in zip(message.services, drift.services, strict=True):
        if listed.current_plan:
            entry.current_plan.ParseFromString(listed.current_plan)
    return message


def _template_drift_message(drift: TemplateDrift) -> catalog_pb2.TemplateDrift:
    return catalog_pb2.TemplateDrift(
        template=f"templates/{drift.template}",
        revision=drift.revision,
        latest_revision=drift.latest_revision,
        current_count=drift.current_count,
        pinned_count=drift.pinned_count,
        services=[
            catalog_pb2.ServiceDrift(
                name=f"services/{s.service}/environments/{s.environment}",
                service=f"services/{s.service}",
                environment=s.environment,
                team=s.team,
                revision=s.revision,
                revisions_behind=s.target - s.revision,
                changes=[object_change_to_proto(o) for o in s.diff.objects],
                problem=s.problem,
                pin=template_pin_to_proto(s.pin) if s.pin is not None else None,
                plan=plan_to_proto(s.plan) if s.plan is not None else None,
            )
            for s in drift.services
        ],
    )
