"""Steps of a resource optimization: a canary with the new requests and limits, a bake time watching the
service's signals against the pre-change baseline, then promotion (or, on a regression, a failed bake
whose compensation restores the previous manifests: the rollback, with the regression as its reason)."""

from __future__ import annotations

import asyncio
import time

from paved_provisioning import manifests
from paved_provisioning.bake import Signals, regression
from paved_provisioning.handlers import StepContext, Toolkit
from paved_provisioning.handlers import _commit as commit
from paved_provisioning.handlers import _describe_commit as describe_commit
from paved_provisioning.steps import StepError, StepOutcome


async def run_optimization_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    """Run one step of an ``optimize_resources`` operation."""
    new_plan = ctx.payload["new_plan"]
    if ctx.step == "deploy_canary":
        before = await tools.peers.service_signals(ctx.service, ctx.environment, time.time() - 3600)
        image = manifests.current_image(ctx.plan)
        canary = manifests.canary_objects(new_plan, image) if image else []
        out = await commit(
            tools,
            ctx,
            ctx.plan,
            f"Canary {ctx.service} with new resources ({ctx.environment})",
            canary=canary,
        )
        detail = f"canary (1 replica, track: canary, new resources) {describe_commit(out)}"
        return StepOutcome(detail, {**out, "baseline": before, "started": time.time()})
    if ctx.step == "bake":
        deployed = ctx.outputs.get("deploy_canary", {})
        baseline = Signals.from_dict(deployed.get("baseline") or {})
        started = float(deployed.get("started") or time.time())
        bake = float(ctx.payload.get("bake_seconds") or tools.settings.optimization_bake_seconds)
        poll = tools.settings.optimization_bake_poll_seconds
        deadline = time.monotonic() + bake
        checks = 0
        while True:
            signals = await tools.peers.service_signals(ctx.service, ctx.environment, started)
            observed = Signals.from_dict(signals)
            checks += 1
            reason = regression(baseline, observed)
            if reason is not None:
                # Not retryable: the operation fails and its compensation restores the previous manifests.
                raise StepError(f"rolled back: {reason}", retryable=False)
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        return StepOutcome(
            f"baked {bake:g}s, {checks} check(s): no regression against the baseline",
            {"checks": checks, "signals": observed.as_dict(), "baseline": baseline.as_dict()},
        )
    if ctx.step == "promote":
        out = await commit(tools, ctx, new_plan, f"Optimize {ctx.service} resources ({ctx.environment})")
        return StepOutcome(f"promoted: {describe_commit(out)}", {**out, "plan": new_plan})
    if ctx.step == "update_catalog":
        await tools.peers.update_catalog(ctx.service, plan=new_plan)
        return StepOutcome("catalog plan updated")
    if ctx.step == "register_cost":
        # Naming the operation makes cost record the change, to measure its realised saving on actuals.
        tracked = await tools.peers.register_resources(
            new_plan,
            float(ctx.payload.get("monthly_cost", 0.0)),
            ctx.payload.get("currency", "USD"),
            optimization_operation=f"operations/{ctx.operation_id}",
        )
        return StepOutcome(
            f"{tracked} resource(s) re-registered with cost, change recorded", {"tracked": tracked}
        )
    raise StepError(f"unknown step {ctx.step}", retryable=False)


async def undo_optimization_step(ctx: StepContext, tools: Toolkit) -> str | None:
    """Compensate one finished step: manifests and catalog go back to the plan before the change."""
    if ctx.step in ("deploy_canary", "promote"):
        out = await commit(
            tools,
            ctx,
            ctx.plan,
            f"Roll back {ctx.service} resources ({ctx.environment})",
            step=f"compensate:{ctx.step}",
            always_check=True,
        )
        return "manifests restored: " + describe_commit(out)
    if ctx.step == "update_catalog":
        await tools.peers.update_catalog(ctx.service, plan=ctx.plan)
        return "catalog plan restored"
    return None
