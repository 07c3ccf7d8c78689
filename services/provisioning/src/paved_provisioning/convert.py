"""Proto ⇄ domain conversion for the provisioning API and the Operations service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import empty_pb2, json_format, struct_pb2, timestamp_pb2
from google.rpc import status_pb2
from google.type import money_pb2
from paved.common.v1 import common_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved_kit.structs import integral
from paved_kit.structured_diff import Change, ObjectChange

from paved_provisioning import store
from paved_provisioning.delivery import DeliveryMetrics
from paved_provisioning.gitops_inspection import GitOpsEdits
from paved_provisioning.models import Deployment, OperationStep
from paved_provisioning.provisioner import OperationView, QuotaView
from paved_provisioning.quotas import QuotaCheck
from paved_provisioning.steps import PROMOTE, PROVISION, TEMPLATE_UPGRADE, UPGRADE_ROLLBACK

STEP_STATES = {
    "pending": pb.STEP_STATE_PENDING,
    "running": pb.STEP_STATE_RUNNING,
    "succeeded": pb.STEP_STATE_SUCCEEDED,
    "failed": pb.STEP_STATE_FAILED,
    "skipped": pb.STEP_STATE_SKIPPED,
    "compensated": pb.STEP_STATE_COMPENSATED,
    "cancelled": pb.STEP_STATE_CANCELLED,
}
DEPLOYMENT_STATUSES = {
    "in_progress": pb.DEPLOYMENT_STATUS_IN_PROGRESS,
    "succeeded": pb.DEPLOYMENT_STATUS_SUCCEEDED,
    "failed": pb.DEPLOYMENT_STATUS_FAILED,
    "rolled_back": pb.DEPLOYMENT_STATUS_ROLLED_BACK,
}


def plan_dict(plan: common_pb2.Plan) -> dict[str, Any]:
    """The plan as a dict, with the integers Struct turned into doubles made integers again."""
    result: dict[str, Any] = integral(json_format.MessageToDict(plan, preserving_proto_field_name=True))
    return result


def money_amount(money: money_pb2.Money) -> float:
    return float(money.units) + money.nanos / 1e9


def money(amount: float, currency: str) -> money_pb2.Money:
    units = int(amount)
    return money_pb2.Money(currency_code=currency, units=units, nanos=round((amount - units) * 1e9))


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    value = store.aware(value)
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def quota(view: QuotaView, currency: str) -> pb.Quota:
    return pb.Quota(
        team=view.team,
        max_services=view.limits.max_services,
        max_instances=view.limits.max_instances,
        max_monthly_cost=money(view.limits.max_monthly_cost, currency),
        used_services=view.usage.services,
        used_instances=view.usage.instances,
        used_monthly_cost=money(view.usage.monthly_cost, currency),
        overridden=view.limits.overridden,
    )


def quota_checks(checks: list[QuotaCheck]) -> pb.CheckQuotaResponse:
    return pb.CheckQuotaResponse(
        allowed=all(c.allowed for c in checks),
        checks=[
            pb.QuotaCheck(
                quota=c.quota, current=c.current, requested=c.requested, limit=c.limit, allowed=c.allowed
            )
            for c in checks
        ],
    )


def step(row: OperationStep, *, with_report: bool = False) -> pb.Step:
    message = pb.Step(
        name=row.name,
        state=STEP_STATES.get(row.state, pb.STEP_STATE_UNSPECIFIED),
        attempts=row.attempts,
        error=row.error,
        detail=row.detail,
    )
    if (start := timestamp(row.start_time)) is not None:
        message.start_time.CopyFrom(start)
    if (end := timestamp(row.end_time)) is not None:
        message.end_time.CopyFrom(end)
    if with_report and row.output:
        message.report.update(row.output)
    return message


def _upgrade_summary(payload: dict[str, Any]) -> dict[str, Any]:
    """An upgrade's payload without its plans: template, revision, each wave's targets, what was skipped."""
    if "waves" in payload:
        waves = [
            [{k: t[k] for k in ("name", "from_revision", "monthly_cost_delta") if k in t} for t in wave]
            for wave in payload["waves"]
        ]
    else:
        waves = [
            [{"name": t["name"], "from_revision": t.get("from_revision", 0)} for t in payload["targets"]]
        ]
    return {
        "template": f"templates/{payload.get('template', '')}",
        "to_revision": payload.get("to_revision", 0),
        "upgrade": payload.get("upgrade", ""),
        "waves": waves,
        "skipped": payload.get("skipped", []),
        "failure_budget": payload.get("failure_budget", 0),
        "bake_seconds": payload.get("bake_seconds", 0),
    }


def deployment(row: Deployment) -> pb.Deployment:
    template = str(row.plan.get("template", "") or "").removeprefix("templates/")
    message = pb.Deployment(
        name=f"services/{row.service}/deployments/{row.id}",
        environment=row.environment,
        version=row.version,
        image=row.image,
        commit=row.commit,
        status=DEPLOYMENT_STATUSES.get(row.status, pb.DEPLOYMENT_STATUS_UNSPECIFIED),
        requester=row.requester,
        workflow=row.workflow,
        operation=f"operations/{row.operation_id}" if row.operation_id else "",
        template=f"templates/{template}" if template else "",
        template_revision=int(row.plan.get("template_revision", 0) or 0),
    )
    if (start := timestamp(row.start_time)) is not None:
        message.start_time.CopyFrom(start)
    if (end := timestamp(row.end_time)) is not None:
        message.end_time.CopyFrom(end)
    return message


def operation(view: OperationView) -> operations_pb2.Operation:
    op = view.operation
    upgrade = op.kind in (TEMPLATE_UPGRADE, UPGRADE_ROLLBACK)
    metadata = pb.OperationMetadata(
        kind=op.kind,
        service=op.service if upgrade else f"services/{op.service}",
        team=op.team,
        environment=op.environment,
        steps=[step(s, with_report=upgrade) for s in view.steps],
        requester=op.requester,
        cancel_requested=op.cancel_requested,
    )
    if upgrade:
        metadata.upgrade.update(_upgrade_summary(op.payload or {}))
    for field, value in (
        ("create_time", op.create_time),
        ("update_time", op.update_time),
        ("end_time", op.end_time),
    ):
        if (ts := timestamp(value)) is not None:
            getattr(metadata, field).CopyFrom(ts)
    message = operations_pb2.Operation(name=f"operations/{op.id}", done=op.done)
    message.metadata.Pack(metadata)
    if not op.done:
        return message
    if op.error_code:
        message.error.CopyFrom(status_pb2.Status(code=op.error_code, message=op.error_message))
    elif op.kind == PROVISION:
        result = op.result
        message.response.Pack(
            pb.ProvisionResult(
                service=result.get("service", ""),
                endpoints=result.get("endpoints", []),
                dashboards=[common_pb2.Link(title=t, url=u) for t, u in result.get("dashboards", [])],
                documentation_url=result.get("documentation_url", ""),
                commit=result.get("commit", ""),
                path=result.get("path", ""),
            )
        )
    elif op.kind == PROMOTE:
        result = op.result
        message.response.Pack(
            pb.PromotionResult(
                source_environment=result.get("source_environment", ""),
                target_environment=result.get("target_environment", ""),
                version=result.get("version", ""),
                image=result.get("image", ""),
                commit=result.get("commit", ""),
                gates=[
                    pb.PromotionGate(gate=g["gate"], passed=g["passed"], evidence=g["evidence"])
                    for g in result.get("gates", [])
                ],
            )
        )
    elif view.deployment is not None:
        message.response.Pack(pb.WorkflowResult(deployment=deployment(view.deployment)))
    else:
        message.response.Pack(empty_pb2.Empty())
    return message


BANDS = {
    "elite": pb.PERFORMANCE_BAND_ELITE,
    "high": pb.PERFORMANCE_BAND_HIGH,
    "medium": pb.PERFORMANCE_BAND_MEDIUM,
    "low": pb.PERFORMANCE_BAND_LOW,
}


def _band(name: str | None) -> pb.PerformanceBand.ValueType:
    return BANDS.get(name or "", pb.PERFORMANCE_BAND_UNSPECIFIED)


def delivery_metrics(team: str, m: DeliveryMetrics) -> pb.DeliveryMetrics:
    """Metrics without data are 0 with an UNSPECIFIED band."""
    message = pb.DeliveryMetrics(
        team=team,
        deployments_per_day=m.deployments_per_day,
        deployment_frequency_band=_band(m.deployment_frequency_band),
        lead_time_hours=m.lead_time_hours or 0.0,
        lead_time_band=_band(m.lead_time_band),
        change_failure_rate=m.change_failure_rate or 0.0,
        change_failure_rate_band=_band(m.change_failure_rate_band),
        mean_time_to_recovery_hours=m.mean_time_to_recovery_hours or 0.0,
        time_to_recovery_band=_band(m.time_to_recovery_band),
        time_to_first_deploy_hours=m.time_to_first_deploy_hours or 0.0,
        services_created_per_week=m.services_created_per_week,
        deployments=m.deployments,
        services_created=m.services_created,
        failed_deployments=m.failed_deployments,
    )
    for field, value in (("start_time", m.start), ("end_time", m.end)):
        if (ts := timestamp(value)) is not None:
            getattr(message, field).CopyFrom(ts)
    return message


_CHANGE_KINDS = {
    Change.ADDED: common_pb2.CHANGE_KIND_ADDED,
    Change.CHANGED: common_pb2.CHANGE_KIND_CHANGED,
    Change.REMOVED: common_pb2.CHANGE_KIND_REMOVED,
}


def _value(data: Any) -> struct_pb2.Value:
    value = struct_pb2.Value()
    json_format.ParseDict(data, value)
    return value


def object_change(change: ObjectChange) -> common_pb2.ObjectChange:
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


def gitops_edits(edits: GitOpsEdits) -> pb.GitOpsEdits:
    return pb.GitOpsEdits(
        name=edits.name,
        tracked=edits.tracked,
        path=edits.path,
        hand_edited=edits.hand_edited,
        paved_commit=edits.paved_commit,
        last_commit=edits.last_commit,
        files=list(edits.files),
        changes=[object_change(o) for o in edits.diff.objects],
    )
