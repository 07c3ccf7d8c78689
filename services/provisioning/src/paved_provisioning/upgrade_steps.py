"""What a fleet upgrade's steps do: each wave validates and commits every target's new plan (one commit per
service, several targets at once), records it here and in the catalog, bakes, and counts a target whose
alerts fire as failed (its previous plan is restored); failures beyond the budget halt the rollout. A
rollback restores what each upgraded service ran before, the same way."""

from __future__ import annotations

import asyncio
from typing import Any

from paved_provisioning import executors, manifests
from paved_provisioning.handlers import StepContext, Toolkit, _commit
from paved_provisioning.steps import UPGRADE_ROLLBACK, StepError, StepOutcome

UPGRADE_WORKFLOW = "template_upgrade"
# Targets of one wave moved at once (their commits still land one at a time, under the repository lock).
WAVE_CONCURRENCY = 8


def _label(target: dict[str, Any]) -> str:
    return f"{target['service']} ({target['environment']})"


async def _apply(ctx: StepContext, tools: Toolkit, target: dict[str, Any], message: str, step: str) -> str:
    """Validate, commit, record and register one target's plan; returns the commit."""
    plan = target["plan"]
    if tools.settings.step_executors.get("validate_config") == "kubernetes-validate":
        objects = [obj for _, obj in manifests.kubernetes_objects(plan)]
        await asyncio.to_thread(executors.validate_kubernetes, objects)
    out = await _commit(tools, ctx, plan, message, step=step, always_check=ctx.attempt > 1)
    assert tools.record_upgrade is not None
    await tools.record_upgrade(ctx.operation_id, target, out["commit"], UPGRADE_WORKFLOW)
    await tools.peers.update_environment_in_catalog(target["service"], target["environment"], plan=plan)
    return str(out["commit"])


async def _progress(ctx: StepContext, tools: Toolkit, detail: str, output: dict[str, Any]) -> None:
    if tools.progress is not None:
        await tools.progress(ctx.operation_id, ctx.step, detail, output)


def _failed_before(ctx: StepContext) -> int:
    return sum(len(o.get("failed", [])) for name, o in ctx.outputs.items() if name != ctx.step)


async def upgrade_wave(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    number = int(ctx.step.removeprefix("wave_"))
    wave: list[dict[str, Any]] = ctx.payload["waves"][number - 1]
    revision = int(ctx.payload["to_revision"])
    template = ctx.payload["template"]
    budget = int(ctx.payload.get("failure_budget", 0))
    upgraded: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    def output() -> dict[str, Any]:
        return {"wave": number, "upgraded": upgraded, "failed": failed}

    gate = asyncio.Semaphore(WAVE_CONCURRENCY)
    finished = 0

    async def move(target: dict[str, Any]) -> None:
        nonlocal finished
        async with gate:
            try:
                commit = await _apply(
                    ctx,
                    tools,
                    target,
                    f"Upgrade {_label(target)} to templates/{template} revision {revision} "
                    f"(from {target['from_revision']}, wave {number})",
                    f"{ctx.step}:{target['name']}",
                )
            except StepError as exc:
                failed.append({"name": target["name"], "reason": exc.message})
            else:
                upgraded.append(
                    {
                        "name": target["name"],
                        "commit": commit,
                        "from_revision": target["from_revision"],
                        "monthly_cost_delta": target.get("monthly_cost_delta", 0.0),
                    }
                )
            finished += 1
            await _progress(
                ctx, tools, f"wave {number}: {finished}/{len(wave)} committed, {len(failed)} failed", output()
            )

    await asyncio.gather(*(move(target) for target in wave))
    # The report in the wave's order, whatever order the targets finished in.
    position = {t["name"]: i for i, t in enumerate(wave)}
    upgraded.sort(key=lambda e: position[e["name"]])
    failed.sort(key=lambda e: position[e["name"]])

    bake = int(ctx.payload.get("bake_seconds", 0))
    if bake and upgraded:
        await _progress(ctx, tools, f"wave {number}: baking {bake}s", output())
        await asyncio.sleep(bake)
    for entry in list(upgraded):
        target = next(t for t in wave if t["name"] == entry["name"])
        firing = await tools.peers.firing_alerts(target["service"], target["environment"])
        if not firing:
            continue
        upgraded.remove(entry)
        reason = f"alerts firing after the bake: {', '.join(sorted(firing))}"
        restore = {**target, "plan": target["previous_plan"]}
        try:
            await _apply(
                ctx,
                tools,
                restore,
                f"Restore {_label(target)} to revision {target['from_revision']}: {reason}",
                f"{ctx.step}:restore:{target['name']}",
            )
            reason += f"; restored to revision {target['from_revision']}"
        except StepError as exc:
            reason += f"; restoring failed: {exc.message}"
        failed.append({"name": target["name"], "reason": reason})

    total = _failed_before(ctx) + len(failed)
    detail = f"wave {number}: {len(upgraded)} upgraded, {len(failed)} failed"
    await _progress(ctx, tools, detail, output())
    if total > budget:
        reasons = "; ".join(f"{f['name']}: {f['reason']}" for f in failed[:5])
        raise StepError(
            f"halted in wave {number}: {total} failure(s) exceed the failure budget of {budget} ({reasons})",
            retryable=False,
        )
    return StepOutcome(detail, output())


async def restore_upgraded(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    """The rollback's one step: each target back to the plan it ran before the upgrade."""
    restored: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = ctx.payload["targets"]
    for index, target in enumerate(targets, start=1):
        try:
            commit = await _apply(
                ctx,
                tools,
                target,
                f"Roll back {_label(target)} to templates/{ctx.payload['template']} revision "
                f"{target['from_revision']} (upgrade operations/{ctx.payload['upgrade']})",
                f"restore:{target['name']}",
            )
        except StepError as exc:
            failed.append({"name": target["name"], "reason": exc.message})
        else:
            restored.append({"name": target["name"], "commit": commit, "revision": target["from_revision"]})
        await _progress(
            ctx,
            tools,
            f"{index}/{len(targets)} restored, {len(failed)} failed",
            {"restored": restored, "failed": failed},
        )
    if failed:
        raise StepError(
            f"{len(failed)} service(s) could not be restored: "
            + "; ".join(f"{f['name']}: {f['reason']}" for f in failed[:5]),
            retryable=False,
        )
    return StepOutcome(f"{len(restored)} service(s) restored", {"restored": restored, "failed": failed})


def upgrade_report(kind: str, payload: dict[str, Any], outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The finished operation's result: every target upgraded (or restored) and failed, with reasons, and
    what the plan skipped."""
    done_key = "restored" if kind == UPGRADE_ROLLBACK else "upgraded"
    return {
        "template": f"templates/{payload['template']}",
        "to_revision": payload.get("to_revision", 0),
        done_key: [entry for output in outputs.values() for entry in output.get(done_key, [])],
        "failed": [entry for output in outputs.values() for entry in output.get("failed", [])],
        "skipped": payload.get("skipped", []),
    }
