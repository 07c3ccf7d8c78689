"""The history of optimizations an operator reads: each change's outcome from provisioning (promoted, or
rolled back with the reason, or still baking) joined with what cost measured on FOCUS actuals (realised
saving per change, sums per team)."""

from __future__ import annotations

import asyncio
from typing import Any

from google.longrunning import operations_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2

from paved_gateway import convert
from paved_gateway.backends import Backends
from paved_gateway.errors import call
from paved_gateway.optimization_flow import OPTIMIZE_WORKFLOW

FAILED = (provisioning_pb2.DEPLOYMENT_STATUS_FAILED, provisioning_pb2.DEPLOYMENT_STATUS_ROLLED_BACK)


def realised_view(saving: cost_pb2.RealisedSaving) -> dict[str, Any]:
    return {
        "days": saving.days,
        "before_per_day": convert.money_amount(saving.before_per_day),
        "after_per_day": convert.money_amount(saving.after_per_day),
        "saving_per_day": convert.money_amount(saving.saving_per_day),
        "monthly_saving": convert.money_amount(saving.monthly_saving),
        "currency": saving.monthly_saving.currency_code,
    }


def measured_view(applied: cost_pb2.AppliedOptimization) -> dict[str, Any]:
    """What cost knows of a change: None for realised while no full day of actuals follows it."""
    return {
        "change": applied.change,
        "estimated_monthly_saving": convert.money_amount(applied.estimated_monthly_saving),
        "realised": realised_view(applied.realised) if applied.HasField("realised") else None,
    }


async def outcome_of(
    backends: Backends, service: str, deployment: provisioning_pb2.Deployment
) -> dict[str, Any]:
    """One canaried change: promoted, rolled_back (with the reason the bake or a step gave) or in_progress."""
    item: dict[str, Any] = {
        "service": service,
        "environment": deployment.environment,
        "operation": deployment.operation,
        "requester": deployment.requester,
        "start_time": convert.to_dict(deployment).get("start_time"),
        "commit": deployment.commit or None,
        "outcome": "in_progress",
        "reason": None,
    }
    if deployment.status == provisioning_pb2.DEPLOYMENT_STATUS_SUCCEEDED:
        item["outcome"] = "promoted"
    elif deployment.status in FAILED:
        item["outcome"] = "rolled_back"
    if deployment.operation:
        op = await call(
            "provisioning",
            backends.operations.GetOperation(operations_pb2.GetOperationRequest(name=deployment.operation)),
        )
        if op.HasField("error"):
            item["outcome"], item["reason"] = "rolled_back", op.error.message
        elif op.done and item["outcome"] == "in_progress":
            item["outcome"] = "promoted"
    return item


async def service_changes(backends: Backends, service: str) -> list[dict[str, Any]]:
    """A service's canaried optimizations, newest first."""
    reply = await call(
        "provisioning",
        backends.provisioning.ListDeployments(
            provisioning_pb2.ListDeploymentsRequest(parent=f"services/{service}", page_size=100)
        ),
    )
    changes = [d for d in reply.deployments if d.workflow == OPTIMIZE_WORKFLOW]
    return list(await asyncio.gather(*(outcome_of(backends, service, d) for d in changes)))


async def _measurements(
    backends: Backends, service: str | None, teams: list[str] | None
) -> cost_pb2.ListAppliedOptimizationsResponse:
    request = cost_pb2.ListAppliedOptimizationsRequest(service=service or "", teams=teams or [])
    return await call("cost", backends.cost.ListAppliedOptimizations(request))


async def history(
    backends: Backends, services: list[str], teams: list[str] | None, service: str | None = None
) -> dict[str, Any]:
    """Outcomes of ``services``' changes joined with cost's measurements, and per-team sums over ``service``
    alone when one is named, else over ``teams`` (None: every team)."""
    found = await asyncio.gather(*(service_changes(backends, s) for s in services))
    outcomes = [item for items in found for item in items]
    reply = await _measurements(backends, service, teams)
    measured = {a.operation: a for a in reply.optimizations if a.operation}
    for item in outcomes:
        applied = measured.pop(item["operation"], None)
        item.update(measured_view(applied) if applied else {"change": "rightsizing", "realised": None})
    # Changes cost recorded without a canaried deployment (AutoOptimize's instance-type changes).
    wanted = set(services)
    for applied in measured.values():
        if applied.service in wanted:
            outcomes.append(
                {
                    "service": applied.service,
                    "operation": applied.operation,
                    "start_time": convert.to_dict(applied).get("apply_time"),
                    "outcome": "applied",
                    "reason": None,
                    **measured_view(applied),
                }
            )
    outcomes.sort(key=lambda item: item.get("start_time") or "", reverse=True)
    team_sums = [
        {
            "team": t.team,
            "optimizations": t.optimizations,
            "measured": t.measured,
            "saving_per_day": convert.money_amount(t.saving_per_day),
            "monthly_saving": convert.money_amount(t.monthly_saving),
            "currency": t.monthly_saving.currency_code,
        }
        for t in reply.teams
    ]
    return {"optimizations": outcomes, "teams": team_sums}
