"""What each step of each kind of operation does, and how a finished step is undone (compensation)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from paved_provisioning import executors, manifests
from paved_provisioning.gitops import DirectoryChange, GitOpsRepository
from paved_provisioning.grouped_commits import GroupedCommits
from paved_provisioning.peers import Peers, State
from paved_provisioning.settings import ProvisioningSettings
from paved_provisioning.steps import (
    DEPLOY,
    DEPROVISION,
    OPTIMIZE_RESOURCES,
    PROMOTE,
    PROVISION,
    ROLLBACK,
    TEMPLATE_UPGRADE,
    UPDATE_INSTANCE_TYPE,
    UPGRADE_ROLLBACK,
    StepError,
    StepOutcome,
)

# A retried step may have committed before its worker died; look that far back for its commit.
COMMIT_LOOKBACK_SECONDS = 600

History = Callable[[str, str], Awaitable[list[dict[str, Any]]]]
#: Records a fleet upgrade target's new plan as what runs (operation, target, commit, workflow).
RecordUpgrade = Callable[[str, dict[str, Any], str, str], Awaitable[None]]
#: Saves what a running step has done so far (operation, step, detail, output).
Progress = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]
#: The approval recorded on a promotion (``None`` while nobody decided).
Approvals = Callable[[str], Awaitable[dict[str, Any] | None]]


@dataclass
class StepContext:
    """One step of one operation, as the handler sees it."""

    operation_id: str
    kind: str
    service: str
    team: str
    environment: str
    requester: str
    payload: dict[str, Any]
    created_at: float
    step: str
    attempt: int
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def plan(self) -> dict[str, Any]:
        return dict(self.payload["plan"])

    @property
    def home(self) -> bool:
        """Whether the catalog's service row describes this operation's environment (its first one)."""
        return bool(self.payload.get("home", True))

    def retry_since(self) -> float | None:
        """Where to look for an earlier commit of this step: only a retry can have made one."""
        return self.created_at - COMMIT_LOOKBACK_SECONDS if self.attempt > 1 else None


@dataclass
class Toolkit:
    """What handlers work with."""

    settings: ProvisioningSettings
    repo: GitOpsRepository
    peers: Peers
    history: History
    approvals: Approvals | None = None
    record_upgrade: RecordUpgrade | None = None
    progress: Progress | None = None
    # Commits of this process's operations, grouped when they wait at the same time.
    commits: GroupedCommits = field(init=False)

    def __post_init__(self) -> None:
        self.commits = GroupedCommits(self.repo)

    @property
    def site(self) -> manifests.SiteConfig:
        s = self.settings
        return manifests.SiteConfig(s.dashboard_base_url, s.docs_base_url, s.runbook_base_url)


async def _commit(
    tools: Toolkit,
    ctx: StepContext,
    plan: dict[str, Any],
    message: str,
    *,
    canary: list[dict[str, Any]] | None = None,
    step: str | None = None,
    remove: bool = False,
    always_check: bool = False,
) -> dict[str, Any]:
    path = manifests.service_path(plan)
    files = {} if remove else manifests.render_files(plan, tools.site, canary=canary)
    since = ctx.created_at - COMMIT_LOOKBACK_SECONDS if always_check else ctx.retry_since()
    change = DirectoryChange(path, files, message, ctx.operation_id, step or ctx.step, since)
    result = await tools.commits.commit(change)
    return {"commit": result.sha, "path": path, "created": result.created}


def _describe_commit(out: dict[str, Any]) -> str:
    verb = "committed" if out["created"] else "found earlier commit"
    return f"{verb} {out['commit'][:12]} under {out['path']}"


# Provision -----------------------------------------------------------------------------------------------


async def _provision_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    plan = ctx.plan
    if ctx.step == "register_catalog":
        uid = await tools.peers.register_in_catalog(
            plan, request_id=ctx.operation_id, wire=ctx.payload.get("plan_wire")
        )
        return StepOutcome(f"services/{ctx.service} registered (PROVISIONING)", {"uid": uid})
    if ctx.step == "gitops_commit":
        out = await _commit(
            tools, ctx, plan, f"Provision {ctx.service} ({ctx.environment}) for team {ctx.team}"
        )
        return StepOutcome(_describe_commit(out), out)
    if ctx.step == "create_alerts":
        total, created = await tools.peers.create_default_alerts(ctx.service, ctx.team, ctx.environment)
        return StepOutcome(f"{total} default alert rule(s) in place, {created} new", {"rules": total})
    if ctx.step == "register_cost":
        tracked = await tools.peers.register_resources(
            plan,
            float(ctx.payload.get("monthly_cost", 0.0)),
            ctx.payload.get("currency", "USD"),
            wire=ctx.payload.get("plan_wire"),
        )
        return StepOutcome(f"{tracked} resource(s) tracked by cost", {"tracked": tracked})
    if ctx.step == "publish_docs":
        commit = ctx.outputs.get("gitops_commit", {}).get("commit")
        path = manifests.service_path(plan) + "/docs/index.md"
        # Read on the loop: a few small object files, cheaper than handing the GIL to a thread and back.
        page = tools.repo.read_file(path, commit=commit)
        if page is None:
            raise StepError(f"documentation page {path} is missing from commit {commit}", retryable=False)
        url = manifests.links(plan, tools.site).documentation_url
        return StepOutcome(
            f"TechDocs page {path} published at {url}", {"documentation_url": url, "path": path}
        )
    if ctx.step == "activate":
        link = manifests.links(plan, tools.site)
        commit = ctx.outputs.get("gitops_commit", {})
        annotations = {
            "paved.dev/gitops-commit": str(commit.get("commit", "")),
            "paved.dev/gitops-path": str(commit.get("path", "")),
            "paved.dev/operation": f"operations/{ctx.operation_id}",
        }
        if ctx.home:
            await tools.peers.update_catalog(
                ctx.service,
                state=State.STATE_ACTIVE,
                endpoints=link.endpoints,
                dashboards=link.dashboards,
                documentation_url=link.documentation_url,
                annotations=annotations,
            )
        else:
            image = manifests.current_image(plan)
            await tools.peers.update_environment_in_catalog(
                ctx.service,
                ctx.environment,
                state=State.STATE_ACTIVE,
                endpoints=link.endpoints,
                annotations=annotations,
                image=image,
                version=manifests.version_of(image) if image else "",
            )
        return StepOutcome(
            "service ACTIVE",
            {
                "endpoints": link.endpoints,
                "dashboards": [list(d) for d in link.dashboards],
                "documentation_url": link.documentation_url,
            },
        )
    raise StepError(f"unknown provisioning step {ctx.step}", retryable=False)


async def _undo_provision_step(ctx: StepContext, tools: Toolkit) -> str | None:
    if ctx.step == "register_catalog":
        if not ctx.home:
            await tools.peers.update_environment_in_catalog(
                ctx.service, ctx.environment, state=State.STATE_FAILED
            )
            return f"catalog state FAILED in {ctx.environment}"
        await tools.peers.update_catalog(ctx.service, state=State.STATE_FAILED)
        return "catalog state FAILED"
    if ctx.step == "gitops_commit":
        out = await _commit(
            tools,
            ctx,
            ctx.plan,
            f"Remove {ctx.service} ({ctx.environment}): provisioning failed",
            step="compensate:gitops_commit",
            remove=True,
            always_check=True,
        )
        return "manifests removed: " + _describe_commit(out)
    if ctx.step == "create_alerts":
        deleted = await tools.peers.delete_alerts(ctx.service, ctx.environment)
        return f"{deleted} alert rule(s) deleted in {ctx.environment}"
    if ctx.step == "register_cost":
        removed = await tools.peers.unregister_resources(ctx.service, ctx.environment)
        return f"{removed} resource(s) unregistered in {ctx.environment}"
    return None


# Workflows -----------------------------------------------------------------------------------------------


def _where(ctx: StepContext) -> str:
    """The environment a workflow commit changes, naming where it comes from for a promotion."""
    if ctx.kind == PROMOTE:
        return f"from {ctx.payload.get('source', '')} to {ctx.environment}"
    return ctx.environment


def _facts(ctx: StepContext) -> dict[str, str]:
    return {
        "service": ctx.service,
        "team": ctx.team,
        "environment": ctx.environment,
        "version": str(ctx.payload.get("version", "")),
        "image": str(ctx.payload.get("image", "")),
        "operation": ctx.operation_id,
    }


async def _workflow_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    executor = tools.settings.step_executors.get(ctx.step)
    if executor is None or executor == "none":
        return StepOutcome(f"no executor bound to step {ctx.step}", skipped=True)
    plan = ctx.plan
    image = str(ctx.payload.get("image", ""))
    settings = tools.settings
    if executor == "kubernetes-validate":
        target = manifests.with_image(plan, image) if image else plan
        objects = [obj for _, obj in manifests.kubernetes_objects(target)]
        if ctx.kind in (DEPLOY, PROMOTE) and image:
            objects += manifests.canary_objects(plan, image)
        return await asyncio.to_thread(executors.validate_kubernetes, objects)
    if executor == "ci":
        token = settings.ci_webhook_token.get_secret_value() if settings.ci_webhook_token else None
        return await executors.run_ci(
            ctx.step,
            _facts(ctx),
            webhook_url=settings.ci_webhook_url,
            webhook_token=token,
            command=settings.ci_command,
            timeout=settings.ci_timeout_seconds,
        )
    if executor == "health":
        return await executors.probe_health(
            ctx.service,
            ctx.environment,
            url_template=settings.health_url,
            via_alerting=settings.health_via_alerting,
            alerting_health=tools.peers.service_health,
        )
    if executor == "gitops-canary":
        if not image:
            raise StepError("deploy_canary needs an image", retryable=False)
        canary = manifests.canary_objects(plan, image)
        out = await _commit(
            tools,
            ctx,
            plan,
            f"Canary {ctx.service} {ctx.payload.get('version', '')} ({_where(ctx)})",
            canary=canary,
        )
        return StepOutcome(f"canary (1 replica, track: canary) {_describe_commit(out)}", out)
    if executor == "gitops-promote":
        new_plan = manifests.with_image(plan, image) if image else plan
        out = await _commit(
            tools,
            ctx,
            new_plan,
            f"Promote {ctx.service} {ctx.payload.get('version', '')} ({_where(ctx)})",
        )
        return StepOutcome(f"promoted: {_describe_commit(out)}", {**out, "plan": new_plan})
    if executor == "deployment-history":
        history = await tools.history(ctx.service, ctx.environment)
        succeeded = [d for d in history if d["status"] == "succeeded" and d["plan"]]
        # The last successful deployment before the current one that ran something else: rolling back to
        # an identical image would change nothing.
        current = succeeded[0] if succeeded else None
        earlier = [d for d in succeeded[1:] if current is not None and d["image"] != current["image"]]
        if current is None or not earlier:
            raise StepError("no earlier successful deployment to roll back to", retryable=False)
        target = earlier[0]
        return StepOutcome(
            f"rolling back from {current['version']} to {target['version']} ({target['image']})",
            {
                "current_deployment": current["id"],
                "deployment": target["id"],
                "version": target["version"],
                "image": target["image"],
                "plan": target["plan"],
            },
        )
    if executor == "gitops-rollback":
        chosen = ctx.outputs.get("identify_previous_version")
        if not chosen:
            raise StepError("no previous version identified before this step", retryable=False)
        out = await _commit(
            tools,
            ctx,
            chosen["plan"],
            f"Roll back {ctx.service} to {chosen['version']} ({ctx.environment})",
        )
        return StepOutcome(f"rolled back: {_describe_commit(out)}", {**out, "plan": chosen["plan"]})
    raise StepError(f"executor {executor} cannot run step {ctx.step}", retryable=False)


async def _undo_workflow_step(ctx: StepContext, tools: Toolkit) -> str | None:
    executor = tools.settings.step_executors.get(ctx.step)
    if executor in ("gitops-canary", "gitops-promote", "gitops-rollback"):
        out = await _commit(
            tools,
            ctx,
            ctx.plan,
            f"Restore {ctx.service} ({ctx.environment}) after a failed {ctx.kind}",
            step=f"compensate:{ctx.step}",
            always_check=True,
        )
        return "manifests restored: " + _describe_commit(out)
    return None


# Deprovision and instance type ---------------------------------------------------------------------------


async def _deprovision_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    """Remove one environment of the service; with its last one (``last``, and every operation from before
    environments could be removed one by one), the whole service: its catalog entry, every alert rule and
    its cost tracking."""
    plan = ctx.plan
    last = bool(ctx.payload.get("last", True))
    # Alerting and cost: the environment's own, or everything of the service with its last environment.
    scope = "" if last else ctx.environment
    where = f" in {ctx.environment}" if scope else ""
    if ctx.step == "retire_catalog":
        if last:
            await tools.peers.update_catalog(ctx.service, state=State.STATE_DEPROVISIONING)
            return StepOutcome("catalog state DEPROVISIONING")
        await tools.peers.update_environment_in_catalog(
            ctx.service, ctx.environment, state=State.STATE_DEPROVISIONING
        )
        return StepOutcome(f"catalog state DEPROVISIONING in {ctx.environment}")
    if ctx.step == "remove_manifests":
        out = await _commit(tools, ctx, plan, f"Deprovision {ctx.service} ({ctx.environment})", remove=True)
        return StepOutcome("manifests removed: " + _describe_commit(out), out)
    if ctx.step == "delete_alerts":
        deleted = await tools.peers.delete_alerts(ctx.service, scope)
        return StepOutcome(f"{deleted} alert rule(s) deleted{where}")
    if ctx.step == "unregister_cost":
        removed = await tools.peers.unregister_resources(ctx.service, scope)
        return StepOutcome(f"{removed} resource(s) unregistered{where}")
    if ctx.step == "delete_catalog":
        if last:
            await tools.peers.update_catalog(ctx.service, state=State.STATE_DELETED)
            return StepOutcome("catalog state DELETED")
        await tools.peers.update_environment_in_catalog(
            ctx.service, ctx.environment, state=State.STATE_DELETED
        )
        return StepOutcome(f"{ctx.environment} removed from the catalog entry")
    raise StepError(f"unknown deprovisioning step {ctx.step}", retryable=False)


async def _instance_type_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    new_plan = ctx.payload["new_plan"]
    if ctx.step == "gitops_commit":
        out = await _commit(
            tools,
            ctx,
            new_plan,
            f"Change {ctx.service} {ctx.payload['resource']} instance type to {ctx.payload['instance_type']}",
        )
        return StepOutcome(_describe_commit(out), out)
    if ctx.step == "update_catalog":
        await tools.peers.update_catalog(ctx.service, plan=new_plan)
        return StepOutcome("catalog plan updated")
    if ctx.step == "register_cost":
        tracked = await tools.peers.register_resources(
            new_plan, float(ctx.payload.get("monthly_cost", 0.0)), ctx.payload.get("currency", "USD")
        )
        return StepOutcome(f"{tracked} resource(s) re-registered with cost", {"tracked": tracked})
    raise StepError(f"unknown step {ctx.step}", retryable=False)


async def _undo_instance_type_step(ctx: StepContext, tools: Toolkit) -> str | None:
    if ctx.step == "gitops_commit":
        out = await _commit(
            tools,
            ctx,
            ctx.plan,
            f"Restore {ctx.service} instance type",
            step="compensate:gitops_commit",
            always_check=True,
        )
        return "manifests restored: " + _describe_commit(out)
    if ctx.step == "update_catalog":
        await tools.peers.update_catalog(ctx.service, plan=ctx.plan)
        return "catalog plan restored"
    return None


async def run_step(ctx: StepContext, tools: Toolkit) -> StepOutcome:
    """Run one step of an operation."""
    if ctx.kind == PROVISION:
        return await _provision_step(ctx, tools)
    if ctx.kind in (DEPLOY, ROLLBACK):
        return await _workflow_step(ctx, tools)
    if ctx.kind == DEPROVISION:
        return await _deprovision_step(ctx, tools)
    if ctx.kind == UPDATE_INSTANCE_TYPE:
        return await _instance_type_step(ctx, tools)
    if ctx.kind == PROMOTE:
        from paved_provisioning.promotion_handlers import promotion_step

        return await promotion_step(ctx, tools)
    if ctx.kind == OPTIMIZE_RESOURCES:
        # Imported here: that module builds on this one's step context and commits.
        from paved_provisioning.optimization_steps import run_optimization_step

        return await run_optimization_step(ctx, tools)
    if ctx.kind == TEMPLATE_UPGRADE:
        from paved_provisioning.upgrade_steps import upgrade_wave

        return await upgrade_wave(ctx, tools)
    if ctx.kind == UPGRADE_ROLLBACK:
        from paved_provisioning.upgrade_steps import restore_upgraded

        return await restore_upgraded(ctx, tools)
    raise StepError(f"unknown operation kind {ctx.kind}", retryable=False)


async def undo_step(ctx: StepContext, tools: Toolkit) -> str | None:
    """Undo a finished step; returns what was done, or None when the step left nothing to undo."""
    if ctx.kind == PROVISION:
        return await _undo_provision_step(ctx, tools)
    if ctx.kind in (DEPLOY, ROLLBACK):
        return await _undo_workflow_step(ctx, tools)
    if ctx.kind == UPDATE_INSTANCE_TYPE:
        return await _undo_instance_type_step(ctx, tools)
    if ctx.kind == PROMOTE:
        from paved_provisioning.promotion_handlers import undo_promotion_step

        return await undo_promotion_step(ctx, tools)
    if ctx.kind == OPTIMIZE_RESOURCES:
        from paved_provisioning.optimization_steps import undo_optimization_step

        return await undo_optimization_step(ctx, tools)
    return None
