"""Fleet upgrades of a template's services: the plan (catalog drift with each target's new plan, hand edits
from provisioning, pins, policy on each new plan, the cost delta priced by cost, waves), answered as it is on
a dry run or started as one provisioning operation; and the report of a running or finished upgrade."""

from __future__ import annotations

import asyncio
from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import json_format
from paved.catalog.v1 import catalog_pb2
from paved.policy.v1 import policy_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.errors import FieldViolation
from paved_kit.structs import integral

from paved_gateway import convert, drift_view, plan_checks
from paved_gateway import upgrade_schemas as schemas
from paved_gateway.auth import Principal
from paved_gateway.backends import Backends
from paved_gateway.errors import ApiError, call, invalid
from paved_gateway.upgrade_waves import DEFAULT_WAVES, wave_sizes

# Policy and cost calls in flight at once while planning.
PLANNING_CONCURRENCY = 16
_PROCEED = (policy_pb2.DECISION_OUTCOME_ALLOW, policy_pb2.DECISION_OUTCOME_ALLOW_WITH_WARNINGS)


def _selected(entry: catalog_pb2.ServiceDrift, selector: schemas.Selector | None) -> bool:
    if selector is None:
        return True
    service = entry.service.removeprefix("services/")
    return (
        (selector.teams is None or entry.team in selector.teams)
        and (selector.environments is None or entry.environment in selector.environments)
        and (selector.services is None or service in selector.services)
    )


async def _priced_and_checked(
    backends: Backends, entry: catalog_pb2.ServiceDrift, principal: Principal, gate: asyncio.Semaphore
) -> tuple[float, float, str, policy_pb2.EvaluateResponse]:
    async with gate:
        plan = entry.plan
        before, after = await asyncio.gather(
            plan_checks.estimate(backends, entry.current_plan), plan_checks.estimate(backends, plan)
        )
        evaluation = await plan_checks.evaluate(
            backends,
            plan_checks.evaluate_request(
                plan.resources,
                team=entry.team,
                environment=entry.environment,
                requester=principal.subject,
                service=entry.service.removeprefix("services/"),
                monthly_cost=after.total_monthly_cost,
            ),
        )
    currency = after.total_monthly_cost.currency_code or "USD"
    return (
        convert.money_amount(before.total_monthly_cost),
        convert.money_amount(after.total_monthly_cost),
        currency,
        evaluation,
    )


def _violations_text(evaluation: policy_pb2.EvaluateResponse) -> str:
    messages = [f"{v.policy}: {v.message}" for r in evaluation.results for v in r.violations]
    outcome = policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix("DECISION_OUTCOME_")
    return f"{outcome}: " + ("; ".join(messages[:5]) or "refused")


def _skip(entry: catalog_pb2.ServiceDrift, reason: str, detail: str) -> schemas.SkippedTarget:
    return schemas.SkippedTarget(
        service=entry.service.removeprefix("services/"),
        environment=entry.environment,
        reason=reason,
        detail=detail,
    )


async def plan_upgrade(
    backends: Backends,
    template: str,
    body: schemas.UpgradeRequest,
    principal: Principal,
    teams: list[str] | None,
) -> tuple[schemas.UpgradePlan, provisioning_pb2.StartTemplateUpgradeRequest]:
    """The plan of an upgrade and the request that starts it; refuses bad input before anything changes."""
    spec = list(body.waves) if body.waves is not None else list(DEFAULT_WAVES)
    wave_sizes(spec, 1)  # the spec's own problems first, whatever the targets
    drift = await call(
        "catalog",
        backends.catalog.GetTemplateDrift(
            catalog_pb2.GetTemplateDriftRequest(
                name=f"templates/{template}", revision=body.to_revision or 0, include_plans=True
            )
        ),
        fields={"name": "template", "revision": "to_revision"},
    )
    entries = [e for e in drift.services if teams is None or e.team in teams]
    chosen = [e for e in entries if _selected(e, body.selector)]
    if body.selector is not None and not chosen:
        raise invalid(
            "the selector matches no service to upgrade",
            [
                FieldViolation(
                    "selector", f"matches no service of templates/{template} off revision {drift.revision}"
                )
            ],
        )
    if not chosen:
        raise invalid(
            f"every service of templates/{template} is on revision {drift.revision} already",
            [FieldViolation("to_revision", f"no service is off revision {drift.revision}")],
        )
    downgrades = [e for e in chosen if e.revisions_behind < 0]
    if downgrades and not body.allow_downgrade:
        names = ", ".join(e.name for e in downgrades[:5])
        raise invalid(
            f"revision {drift.revision} is older than what {len(downgrades)} service(s) run",
            [
                FieldViolation(
                    "allow_downgrade", f"must be true to move {names} back to revision {drift.revision}"
                )
            ],
        )

    skipped: list[schemas.SkippedTarget] = []
    candidates: list[catalog_pb2.ServiceDrift] = []
    for entry in chosen:
        if entry.problem:
            skipped.append(_skip(entry, "render", entry.problem))
        elif entry.HasField("pin"):
            pin = entry.pin
            detail = f"pinned at revision {pin.revision} by {pin.pinned_by or 'unknown'}: {pin.reason}"
            skipped.append(_skip(entry, "pinned", detail))
        else:
            candidates.append(entry)
    edits = await drift_view.gitops_edits(backends, [e.name for e in candidates]) if candidates else {}
    remaining = []
    for entry in candidates:
        edit = edits.get(entry.name)
        if edit is not None and edit.hand_edited:
            detail = f"edited by hand in {edit.last_commit[:12]} since Paved's {edit.paved_commit[:12]}: "
            skipped.append(_skip(entry, "hand_edited", detail + ", ".join(edit.files)))
        else:
            remaining.append(entry)

    gate = asyncio.Semaphore(PLANNING_CONCURRENCY)
    checks = await asyncio.gather(*(_priced_and_checked(backends, e, principal, gate) for e in remaining))
    planned: list[tuple[catalog_pb2.ServiceDrift, schemas.PlannedTarget]] = []
    currency = checks[0][2] if checks else "USD"
    for entry, (before, after, _currency, evaluation) in zip(remaining, checks, strict=True):
        if evaluation.outcome not in _PROCEED:
            skipped.append(_skip(entry, "policy", _violations_text(evaluation)))
            continue
        changes = drift_view.object_changes(entry.changes)
        planned.append(
            (
                entry,
                schemas.PlannedTarget(
                    service=entry.service.removeprefix("services/"),
                    environment=entry.environment,
                    team=entry.team,
                    from_revision=entry.revision,
                    counts=drift_view.counts(changes),
                    changes=changes,
                    monthly_cost_before=before,
                    monthly_cost_after=after,
                    monthly_cost_delta=round(after - before, 2),
                    policy=policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix(
                        "DECISION_OUTCOME_"
                    ),
                ),
            )
        )

    sizes = wave_sizes(spec, len(planned)) if planned else []
    waves: list[list[tuple[catalog_pb2.ServiceDrift, schemas.PlannedTarget]]] = []
    start = 0
    for size in sizes:
        waves.append(planned[start : start + size])
        start += size
    plan = schemas.UpgradePlan(
        template=template,
        to_revision=drift.revision,
        latest_revision=drift.latest_revision,
        dry_run=body.dry_run,
        waves=[[target for _, target in wave] for wave in waves],
        skipped=skipped,
        target_count=len(planned),
        monthly_cost_delta=round(sum(t.monthly_cost_delta for _, t in planned), 2),
        currency=currency,
        failure_budget=body.failure_budget,
        bake_seconds=body.bake_seconds,
    )
    request = provisioning_pb2.StartTemplateUpgradeRequest(
        template=f"templates/{template}",
        to_revision=drift.revision,
        waves=[
            provisioning_pb2.UpgradeWave(
                targets=[
                    provisioning_pb2.UpgradeTarget(
                        name=entry.name,
                        from_revision=entry.revision,
                        plan=entry.plan,
                        monthly_cost_delta=target.monthly_cost_delta,
                    )
                    for entry, target in wave
                ]
            )
            for wave in waves
        ],
        skipped=[
            provisioning_pb2.UpgradeSkip(
                name=f"services/{s.service}/environments/{s.environment}", reason=s.reason, detail=s.detail
            )
            for s in skipped
        ],
        failure_budget=body.failure_budget,
        bake_seconds=body.bake_seconds,
        requester=principal.subject,
    )
    return plan, request


async def start(
    backends: Backends, plan: schemas.UpgradePlan, request: provisioning_pb2.StartTemplateUpgradeRequest
) -> schemas.UpgradePlan:
    if not request.waves:
        raise ApiError(
            409,
            f"nothing to upgrade: every selected service of templates/{plan.template} was skipped",
            name="ConflictError",
            details={"skipped": [s.model_dump() for s in plan.skipped]},
        )
    operation = await call(
        "provisioning", backends.provisioning.StartTemplateUpgrade(request), fields={"template": "template"}
    )
    return plan.model_copy(
        update={"operation": operation.name, "id": convert.bare(operation.name, "operations/")}
    )


def _entry(name: str, **values: Any) -> schemas.ReportEntry:
    service, _, environment = name.removeprefix("services/").partition("/environments/")
    return schemas.ReportEntry(service=service, environment=environment, **values)


def report_of(operation: operations_pb2.Operation) -> schemas.UpgradeReport:
    metadata = convert.operation_metadata(operation)
    summary: dict[str, Any] = integral(json_format.MessageToDict(metadata.upgrade))
    waves: list[schemas.WaveReport] = []
    upgraded: list[schemas.ReportEntry] = []
    restored: list[schemas.ReportEntry] = []
    failed: list[schemas.ReportEntry] = []
    planned = summary.get("waves", [])
    for index, step in enumerate(metadata.steps, start=1):
        report: dict[str, Any] = (
            integral(json_format.MessageToDict(step.report)) if step.HasField("report") else {}
        )
        number = int(report.get("wave", index))
        for entry in report.get("upgraded", []):
            upgraded.append(_entry(entry["name"], wave=number, commit=entry.get("commit")))
        for entry in report.get("restored", []):
            restored.append(_entry(entry["name"], commit=entry.get("commit")))
        for entry in report.get("failed", []):
            failed.append(_entry(entry["name"], wave=number, reason=entry.get("reason")))
        waves.append(
            schemas.WaveReport(
                wave=index,
                state=provisioning_pb2.StepState.Name(step.state).removeprefix("STEP_STATE_").lower(),
                detail=step.detail or step.error,
                targets=len(planned[index - 1]) if index - 1 < len(planned) else 0,
                upgraded=len(report.get("upgraded", report.get("restored", []))),
                failed=len(report.get("failed", [])),
            )
        )
    skipped = [_entry(s["name"], reason=f"{s['reason']}: {s['detail']}") for s in summary.get("skipped", [])]
    error = operation.error.message if operation.HasField("error") else None
    return schemas.UpgradeReport(
        id=convert.bare(operation.name, "operations/"),
        operation=operation.name,
        kind=metadata.kind,
        template=str(summary.get("template", "")).removeprefix("templates/"),
        to_revision=int(summary.get("to_revision", 0)),
        state="failed" if error is not None else "succeeded" if operation.done else "running",
        done=operation.done,
        error=error,
        waves=waves,
        upgraded=upgraded,
        restored=restored,
        failed=failed,
        skipped=skipped,
    )
