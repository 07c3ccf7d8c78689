"""Proto messages ⇄ the HTTP API's JSON shapes; no calls, no decisions."""

from __future__ import annotations

from typing import Any, Literal

import grpc
from google.longrunning import operations_pb2
from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.type import money_pb2
from paved.alerting.v1 import alerting_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import schemas

SERVICE_PREFIX = "services/"
TEMPLATE_PREFIX = "templates/"
OPERATION_PREFIX = "operations/"
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def to_dict(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data with the proto's snake_case field names."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def struct(data: dict[str, Any]) -> struct_pb2.Struct:
    """A ``google.protobuf.Struct`` holding ``data``."""
    value = struct_pb2.Struct()
    value.update(data)
    return value


def money_amount(money: money_pb2.Money) -> float:
    """A Money as a float (enough for display; the services keep exact amounts)."""
    return round(money.units + money.nanos / 1e9, 2)


def money(amount: float, currency: str) -> money_pb2.Money:
    """A Money from a float amount."""
    units = int(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=round((amount - units) * 1e9))


def money_view(value: money_pb2.Money) -> schemas.Money:
    """A Money for the API."""
    return schemas.Money(amount=money_amount(value), currency=value.currency_code or "USD")


def timestamp(value: timestamp_pb2.Timestamp) -> str | None:
    """RFC 3339 text, or None for an unset timestamp."""
    if value.seconds == 0 and value.nanos == 0:
        return None
    return value.ToJsonString()


def bare(name: str, prefix: str) -> str:
    """``services/checkout`` → ``checkout``."""
    return name.removeprefix(prefix)


def state_name(state: int) -> str:
    """``STATE_ACTIVE`` → ``active``."""
    return catalog_pb2.Service.State.Name(state).removeprefix("STATE_").lower()


def links(values: Any) -> list[schemas.Link]:
    """Dashboard links."""
    return [schemas.Link(title=link.title, url=link.url) for link in values]


def service_summary(service: catalog_pb2.Service) -> schemas.ServiceSummary:
    """A catalog service for a list."""
    return schemas.ServiceSummary(
        id=bare(service.name, SERVICE_PREFIX),
        name=bare(service.name, SERVICE_PREFIX),
        team=service.team,
        template=bare(service.template, TEMPLATE_PREFIX),
        environment=service.environment,
        status=state_name(service.state),
        endpoints=list(service.endpoints),
        create_time=timestamp(service.create_time),
        update_time=timestamp(service.update_time),
    )


def health_name(status: int) -> str:
    """``HEALTH_STATUS_HEALTHY`` → ``healthy``."""
    return alerting_pb2.HealthStatus.Name(status).removeprefix("HEALTH_STATUS_").lower()


def metrics(health: alerting_pb2.ServiceHealth) -> schemas.Metrics:
    """Current metrics; fields without data stay null."""
    return schemas.Metrics(
        requests_per_second=health.requests_per_second if health.HasField("requests_per_second") else None,
        error_rate=health.error_rate if health.HasField("error_rate") else None,
        latency_p99=health.latency_p99 if health.HasField("latency_p99") else None,
    )


def trend_name(trend: cost_pb2.Trend) -> str:
    """``TREND_DIRECTION_UP`` → ``up``."""
    return cost_pb2.TrendDirection.Name(trend.direction).removeprefix("TREND_DIRECTION_").lower()


def service_cost(cost: cost_pb2.ServiceCost) -> schemas.Cost:
    """A service's cost."""
    return schemas.Cost(
        current_month=money_amount(cost.current_month),
        projected_month=money_amount(cost.projected_month),
        currency=cost.current_month.currency_code or cost.projected_month.currency_code or "USD",
        previous_month=money_amount(cost.previous_month) if cost.HasField("previous_month") else None,
        trend=trend_name(cost.trend) if cost.HasField("trend") else None,
        estimated_monthly_cost=(
            money_amount(cost.estimated_monthly_cost) if cost.HasField("estimated_monthly_cost") else None
        ),
    )


def environment_cost(cost: cost_pb2.EnvironmentCost) -> schemas.EnvironmentCost:
    """A service's monthly estimate in one environment."""
    return schemas.EnvironmentCost(
        estimated_monthly_cost=money_amount(cost.estimated_monthly_cost),
        currency=cost.estimated_monthly_cost.currency_code or "USD",
    )


def team_cost(team: cost_pb2.TeamCost) -> schemas.TeamCost:
    """A team's cost."""
    return schemas.TeamCost(
        team=team.team,
        current_month=money_amount(team.current_month),
        projected_month=money_amount(team.projected_month),
        previous_month=money_amount(team.previous_month),
        currency=team.current_month.currency_code or "USD",
        trend=trend_name(team.trend),
        trend_percent=(
            None if team.trend.direction == cost_pb2.TREND_DIRECTION_NEW else round(team.trend.percent, 2)
        ),
        services=team.services,
    )


def planned_endpoints(plan: common_pb2.Plan) -> list[str]:
    """Where the service will answer, from the plan's networking resources."""
    endpoints = []
    for resource in plan.resources:
        host = resource.properties.fields.get("host")
        if resource.type == "networking" and host is not None and host.string_value:
            endpoints.append(f"https://{host.string_value}")
    return endpoints


def planned_dashboards(plan: common_pb2.Plan) -> list[schemas.Link]:
    """Dashboards the plan's observability resources declare (titles or {title, url} objects)."""
    found: list[schemas.Link] = []
    for resource in plan.resources:
        if resource.type != "observability":
            continue
        dashboards = resource.properties.fields.get("dashboards")
        if dashboards is None:
            continue
        for item in dashboards.list_value.values:
            if item.HasField("struct_value"):
                fields = item.struct_value.fields
                found.append(
                    schemas.Link(
                        title=fields["title"].string_value if "title" in fields else "dashboard",
                        url=fields["url"].string_value if "url" in fields else "",
                    )
                )
            elif item.string_value:
                found.append(schemas.Link(title=item.string_value, url=""))
    return found


def step(value: provisioning_pb2.Step) -> schemas.Step:
    """An operation step."""
    return schemas.Step(
        name=value.name,
        state=provisioning_pb2.StepState.Name(value.state).removeprefix("STEP_STATE_").lower(),
        attempts=value.attempts,
        start_time=timestamp(value.start_time),
        end_time=timestamp(value.end_time),
        error=value.error or None,
        detail=value.detail or None,
    )


def operation_metadata(operation: operations_pb2.Operation) -> provisioning_pb2.OperationMetadata:
    """The provisioning metadata packed in an operation (empty when absent)."""
    metadata = provisioning_pb2.OperationMetadata()
    if operation.HasField("metadata"):
        operation.metadata.Unpack(metadata)
    return metadata


def _operation_result(operation: operations_pb2.Operation) -> dict[str, Any] | None:
    if not operation.HasField("response"):
        return None
    for message_type in (
        provisioning_pb2.ProvisionResult,
        provisioning_pb2.WorkflowResult,
        provisioning_pb2.PromotionResult,
    ):
        if operation.response.Is(message_type.DESCRIPTOR):
            result = message_type()
            operation.response.Unpack(result)
            return to_dict(result)
    return {"type_url": operation.response.type_url}


def operation(value: operations_pb2.Operation) -> schemas.Operation:
    """An operation with its steps, result or error."""
    metadata = operation_metadata(value)
    failed = value.HasField("error")
    error = None
    if failed:
        code = _CODE_NAMES.get(value.error.code, str(value.error.code))
        error = schemas.OperationError(code=code, message=value.error.message)
    steps = [step(s) for s in metadata.steps]
    status: Literal["running", "succeeded", "failed"] = (
        "failed" if failed else "succeeded" if value.done else "running"
    )
    return schemas.Operation(
        id=bare(value.name, OPERATION_PREFIX),
        name=value.name,
        kind=metadata.kind,
        service=bare(metadata.service, SERVICE_PREFIX),
        team=metadata.team,
        environment=metadata.environment,
        requester=metadata.requester,
        done=value.done,
        status=status,
        summary=operation_summary(status, steps),
        steps=steps,
        result=_operation_result(value),
        error=error,
        create_time=timestamp(metadata.create_time),
        update_time=timestamp(metadata.update_time),
        end_time=timestamp(metadata.end_time),
    )


def operation_summary(status: str, steps: list[schemas.Step]) -> str:
    """``succeeded``, or ``succeeded (3 of 6 steps skipped: a, b, c)``: a skipped check is no passed check."""
    skipped = [s.name for s in steps if s.state == "skipped"]
    if status != "succeeded" or not skipped:
        return status
    return f"succeeded ({len(skipped)} of {len(steps)} steps skipped: {', '.join(skipped)})"


def template(value: catalog_pb2.Template) -> schemas.Template:
    """A template."""
    data = to_dict(value)
    return schemas.Template(
        id=bare(value.name, TEMPLATE_PREFIX),
        name=value.name,
        description=value.description,
        parameters=data.get("parameters", []),
        resources=data.get("resources", []),
        workflows=data.get("workflows", []),
        revision=value.revision,
        builtin=value.builtin,
    )


def resource(body: schemas.ResourceBody) -> common_pb2.Resource:
    """A resource from its JSON body."""
    return common_pb2.Resource(
        name=body.name, type=body.type, properties=struct(body.properties), tags=body.tags
    )
