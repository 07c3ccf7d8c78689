"""What a finished promotion leaves in provisioning's tables: the target environment's record (plan, image,
version, usage, state) and the deployment it made, in the transaction that ends the operation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import quotas, store
from paved_provisioning.models import Deployment, Operation, ProvisionedService
from paved_provisioning.steps import PROMOTION_GATES


def gate_results(outputs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each gate that ran with its evidence (approval appears only when one was required)."""
    return [
        {"gate": name.removeprefix("gate_"), "passed": True, "evidence": outputs[name]["evidence"]}
        for name in PROMOTION_GATES
        if outputs.get(name, {}).get("evidence")
    ]


async def record_promotion(
    session: AsyncSession, operation: Operation, outputs: dict[str, dict[str, Any]], now: datetime
) -> dict[str, Any]:
    payload = operation.payload
    plan, image, version = payload["plan"], str(payload.get("image", "")), str(payload.get("version", ""))
    commits = [o for o in outputs.values() if o.get("commit")]
    commit = commits[-1]["commit"] if commits else ""
    record = await store.get_service(
        session=session, name=operation.service, environment=operation.environment
    )
    if record is None:
        record = ProvisionedService(
            name=operation.service, team=operation.team, environment=operation.environment, create_time=now
        )
    record.state, record.plan, record.image, record.version = "active", plan, image, version
    record.instances = quotas.plan_instances(plan.get("resources", []))
    record.monthly_cost = float(payload.get("monthly_cost", 0.0))
    record.operation_id = operation.id
    await store.save_service(session=session, service=record)
    await store.add_deployment(
        session=session,
        deployment=Deployment(
            id=payload["deployment_id"],
            service=operation.service,
            environment=operation.environment,
            version=version,
            image=image,
            commit=commit,
            status="succeeded",
            requester=operation.requester,
            workflow="promotion",
            operation_id=operation.id,
            plan=plan,
            start_time=operation.create_time,
            end_time=now,
        ),
    )
    return {
        "source_environment": payload.get("source", ""),
        "target_environment": operation.environment,
        "version": version,
        "image": image,
        "commit": commit,
        "gates": gate_results(outputs),
    }
