"""What each step of a promotion does: the gates (each reporting its evidence; a refusal fails the promotion
before anything is written for the target), registering the target environment in the catalog, the deploy
workflow's steps in the target, and marking the target active with what was promoted."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from paved_provisioning import gates, manifests
from paved_provisioning.handlers import StepContext, Toolkit, _commit, _describe_commit, _workflow_step
from paved_provisioning.peers import State
from paved_provisioning.steps import PROMOTION_GATES, StepError, StepOutcome, StepParked


def _refused(gate: str, verdict: gates.Verdict) -> StepError:
    return StepError(f"{gate} gate refused: {verdict.evidence}", retryable=False)


def _passed(verdict: gates.Verdict) -> StepOutcome:
    return StepOutcome(verdict.evidence, {"passed": True, "evidence": verdict.evidence})


async def promotion_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    payload, checks = ctx.payload, ctx.payload.get("gates", {})
    source, target = str(payload.get("source", "")), ctx.environment
    if ctx.step == "gate_policy":
        verdict = gates.policy_gate(payload.get("policy") or {}, target)
        if not verdict.passed:
            raise _refused("policy", verdict)
        return _passed(verdict)
    if ctx.step == "gate_soak":
        # The source must have run healthy: its own alerts, not the target's nor another environment's.
        firing = await tools.peers.firing_alerts(ctx.service, source)
        verdict = gates.soak_gate(
            version=str(payload.get("version", "")),
            source=source,
            since=str(checks.get("source_since", "")),
            soak_seconds=int(checks.get("soak_seconds", 0)),
            now=datetime.now(UTC),
            firing=firing,
        )
        if not verdict.passed:
            raise _refused("soak", verdict)
        return _passed(verdict)
    if ctx.step == "gate_cost":
        budget = checks.get("team_budget")
        verdict = gates.cost_gate(
            monthly_cost=float(payload.get("monthly_cost", 0.0)),
            target_before=float(checks.get("target_monthly_cost", 0.0)),
            team_cost=float(checks.get("team_monthly_cost", 0.0)),
            budget=float(budget) if budget is not None else None,
            currency=str(payload.get("currency", "USD")),
            target=target,
        )
        if not verdict.passed:
            raise _refused("cost", verdict)
        return _passed(verdict)
    if ctx.step == "gate_approval":
        return await _approval(ctx, tools, checks, target)
    if ctx.step == "register_target":
        if checks.get("target_exists"):
            return StepOutcome(f"services/{ctx.service} already runs in {target}")
        await tools.peers.add_environment_in_catalog(ctx.plan, request_id=ctx.operation_id)
        return StepOutcome(f"services/{ctx.service} registered in {target} (PROVISIONING)")
    if ctx.step == "create_target_alerts":
        total, created = await tools.peers.create_default_alerts(ctx.service, ctx.team, target)
        return StepOutcome(
            f"{total} default alert rule(s) in place in {target}, {created} new",
            {"rules": total, "created": created},
        )
    if ctx.step == "register_target_cost":
        tracked = await tools.peers.register_resources(
            ctx.plan, float(payload.get("monthly_cost", 0.0)), str(payload.get("currency", "USD"))
        )
        return StepOutcome(f"{tracked} resource(s) of {target} tracked by cost", {"tracked": tracked})
    if ctx.step == "activate_target":
        commits = [o for name, o in ctx.outputs.items() if o.get("commit") and name not in PROMOTION_GATES]
        commit = commits[-1] if commits else {}
        image = str(payload.get("image", ""))
        await tools.peers.update_environment_in_catalog(
            ctx.service,
            target,
            state=State.STATE_ACTIVE,
            plan=ctx.plan,
            version=str(payload.get("version", "")),
            image=image,
            endpoints=manifests.links(ctx.plan, tools.site).endpoints,
            annotations={
                "paved.dev/gitops-commit": str(commit.get("commit", "")),
                "paved.dev/gitops-path": str(commit.get("path", "")),
                "paved.dev/operation": f"operations/{ctx.operation_id}",
                "paved.dev/promoted-from": source,
            },
        )
        return StepOutcome(f"{target} runs {payload.get('version', '')} promoted from {source}")
    return await _workflow_step(ctx, tools)


async def _approval(ctx: StepContext, tools: Toolkit, checks: dict[str, Any], target: str) -> StepOutcome:
    if not checks.get("approval_required"):
        return StepOutcome(f"{target} requires no approval", skipped=True)
    if tools.approvals is None:
        raise StepError("approvals cannot be read here", retryable=False)
    timeout = float(checks.get("approval_timeout_seconds", 86400))
    deadline = ctx.created_at + timeout
    verdict = gates.approval_verdict(await tools.approvals(ctx.operation_id))
    if verdict is not None:
        if not verdict.passed:
            raise _refused("approval", verdict)
        return _passed(verdict)
    if time.time() >= deadline:
        raise _refused(
            "approval",
            gates.Verdict(False, f"nobody approved the promotion to {target} within {int(timeout)}s"),
        )
    # Waiting holds no worker: the promotion is parked until a decision wakes it or the timeout is due.
    until = datetime.fromtimestamp(deadline, UTC).isoformat(timespec="seconds")
    raise StepParked(deadline, f"waiting for an approval (someone other than {ctx.requester}) until {until}")


async def undo_promotion_step(ctx: StepContext, tools: Toolkit) -> str | None:
    """Gates wrote nothing; after them, the target goes back to what it ran (or is removed when new)."""
    checks = ctx.payload.get("gates", {})
    if ctx.step == "register_target" and not checks.get("target_exists"):
        await tools.peers.update_environment_in_catalog(
            ctx.service, ctx.environment, state=State.STATE_FAILED
        )
        return f"catalog state FAILED in {ctx.environment}"
    if ctx.step == "create_target_alerts" and not checks.get("target_exists"):
        deleted = await tools.peers.delete_alerts(ctx.service, ctx.environment)
        return f"{deleted} alert rule(s) deleted in {ctx.environment}"
    if ctx.step == "register_target_cost":
        previous = ctx.payload.get("previous_plan") or {}
        if not previous:
            removed = await tools.peers.unregister_resources(ctx.service, ctx.environment)
            return f"{removed} resource(s) unregistered in {ctx.environment}"
        await tools.peers.register_resources(
            previous,
            float(checks.get("target_monthly_cost", 0.0)),
            str(ctx.payload.get("currency", "USD")),
        )
        return f"cost estimate of {ctx.environment} restored"
    executor = tools.settings.step_executors.get(ctx.step)
    if executor in ("gitops-canary", "gitops-promote"):
        previous = ctx.payload.get("previous_plan") or {}
        out = await _commit(
            tools,
            ctx,
            previous or ctx.plan,
            f"Restore {ctx.service} ({ctx.environment}) after a failed promotion",
            step=f"compensate:{ctx.step}",
            always_check=True,
            remove=not previous,
        )
        return "manifests restored: " + _describe_commit(out)
    return None
