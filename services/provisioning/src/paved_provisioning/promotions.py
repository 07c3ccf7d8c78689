"""Starting a promotion and answering its approval: what runs in one environment of a service goes to a
later one, through gates judged on what the operation records (policy, soak, cost, approval).

Everything a gate needs from this service's own tables (the version's time in the source, the team's budget)
is read under the team lock when the promotion is submitted and kept in the operation's payload, so the
gates report exactly what they judged."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    PreconditionViolation,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import manifests, steps, store
from paved_provisioning.provisioner_base import OperationView
from paved_provisioning.submission import Submission, Submitter, request_fingerprint, request_key
from paved_provisioning.validation import (
    DNS_LABEL,
    VERSION,
    Violations,
    check_plan,
    check_request_id,
    service_from_name,
)

APPROVAL_DECISIONS = ("approved", "rejected")


@dataclass(frozen=True)
class EnvironmentRule:
    """What the platform says about one environment, as promotions need it."""

    name: str
    position: int
    approval_required: bool
    soak_seconds: int
    approval_timeout_seconds: int


EnvironmentSource = Callable[[], Awaitable[list[EnvironmentRule]]]


def check_direction(
    v: Violations, environments: list[EnvironmentRule], source: str, target: str
) -> EnvironmentRule | None:
    """The target's rule when ``source`` → ``target`` goes forward along the platform's order."""
    by_name = {e.name: e for e in environments}
    order = " → ".join(e.name for e in sorted(environments, key=lambda e: e.position))
    for field, name in (("source_environment", source), ("target_environment", target)):
        if name and name not in by_name:
            v.add(field, f"unknown environment {name!r}; known: {order}")
    if source and target and source == target:
        v.add("target_environment", "must differ from source_environment")
    elif source in by_name and target in by_name and by_name[target].position < by_name[source].position:
        v.add("target_environment", f"must come after {source} in the promotion order ({order})")
    return by_name.get(target)


class PromotionStarters(Submitter):
    """PromoteService, ApprovePromotion and RejectPromotion."""

    environment_source: EnvironmentSource | None = None

    async def promote(
        self,
        name: str,
        source: str,
        target: str,
        version: str,
        plan: dict[str, Any] | None,
        monthly_cost: float,
        currency: str,
        policy: dict[str, str],
        request_id: str,
        requester: str,
    ) -> OperationView:
        v = Violations()
        service = service_from_name(v, "service", name)
        for field, value in (("source_environment", source), ("target_environment", target)):
            if not value:
                v.add(field, "is required")
            elif not DNS_LABEL.match(value):
                v.add(field, "must be a DNS-1123 label, e.g. production")
        if version and not VERSION.match(version):
            v.add("version", "must be letters, digits and ._+- (at most 128)")
        check_plan(v, "plan", plan)
        if plan and target and plan.get("environment") != target:
            v.add("plan.environment", f"must be the target environment {target!r}")
        if plan and service and plan.get("service_name") != service:
            v.add("plan.service_name", f"must be {service!r}")
        v.check(monthly_cost >= 0, "estimated_monthly_cost", "must not be negative")
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        if self.environment_source is None:
            raise FailedPrecondition(
                "promotions need the catalog's environments", reason="FAILED_PRECONDITION"
            )
        rule = check_direction(v, await self.environment_source(), source, target)
        v.raise_if_any()
        assert plan is not None and rule is not None
        key = request_key(steps.PROMOTE, request_id)
        fingerprint = request_fingerprint(
            steps.PROMOTE, requester, service=service, source=source, target=target, version=version
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            origin = await self._claim_active_service(session, service, key, fingerprint, source)
            if isinstance(origin, str):
                return origin
            image, ran_since = await _promoted(
                session, service, source, version, origin.image, origin.version
            )
            running = await store.list_operations(
                session=session, service=service, done=False, offset=0, limit=1, environment=target
            )
            if running:
                raise FailedPrecondition(
                    f"operations/{running[0].id} is already changing services/{service} in {target}",
                    [
                        PreconditionViolation(
                            "CONCURRENCY",
                            f"services/{service}/environments/{target}",
                            "a promotion is running",
                        )
                    ],
                    reason="PROMOTION_IN_PROGRESS",
                )
            existing = await store.get_service(session=session, name=service, environment=target)
            limits = self.limits_of(await store.lock_team(session=session, team=origin.team))
            usage = await store.team_usage(
                session=session, team=origin.team, exclude_service=service, exclude_environment=target
            )
            template_steps = next(
                (list(w.get("steps", [])) for w in plan.get("workflows", []) if w.get("name") == "deploy"),
                None,
            )
            promoted_version = version or origin.version or manifests.version_of(image)
            payload = {
                "plan": manifests.with_image(plan, image) if image else plan,
                "image": image,
                "version": promoted_version,
                "source": source,
                "target": target,
                "policy": policy,
                "monthly_cost": monthly_cost,
                "currency": currency or self.settings.currency,
                "deployment_id": uuid.uuid4().hex,
                "home": False,
                # What the target ran before (restored if a step after the gates fails); empty: nothing.
                "previous_plan": existing.plan if existing and existing.state in store.LIVE_STATES else {},
                "gates": {
                    "approval_required": rule.approval_required,
                    "soak_seconds": rule.soak_seconds,
                    "approval_timeout_seconds": rule.approval_timeout_seconds,
                    "source_since": ran_since,
                    "target_monthly_cost": existing.monthly_cost
                    if existing and existing.state != "deleted"
                    else 0.0,
                    "team_monthly_cost": usage.monthly_cost,
                    "team_budget": limits.max_monthly_cost,
                    "target_exists": existing is not None and existing.state in store.LIVE_STATES,
                },
            }
            submission = Submission(operation_id, service, origin.team, target, requester, key, fingerprint)
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.PROMOTE, payload),
                steps=steps.promotion_steps(template_steps),
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def approval_of(self, operation_id: str) -> dict[str, Any] | None:
        """The approval decision recorded on a promotion, if any."""
        async with self.sessions() as session:
            operation = await store.get_operation(session=session, operation_id=operation_id)
        approval = operation.payload.get("approval") if operation is not None else None
        return dict(approval) if approval else None

    async def decide_approval(self, name: str, decision: str, approver: str, reason: str) -> OperationView:
        """Record who approved or rejected a promotion waiting at its approval gate, and why, and wake it.
        Four eyes: the person who asked for the promotion cannot approve it (they may reject it)."""
        v = Violations()
        operation_id = name.removeprefix("operations/")
        v.check(bool(operation_id) and "/" not in operation_id, "name", "must be operations/{operation}")
        v.check(bool(approver.strip()), "approver", "is required: who decides")
        v.check(bool(reason.strip()), "reason", "is required: why")
        v.check(len(reason) <= 1000, "reason", "at most 1000 characters")
        v.raise_if_any()
        assert decision in APPROVAL_DECISIONS
        async with self.sessions() as session, session.begin():
            operation = await store.lock_operation(session=session, operation_id=operation_id)
            if operation is None or operation.kind != steps.PROMOTE:
                raise NotFound(f"operations/{operation_id} is not a promotion", metadata={"operation": name})
            gate = next(
                (
                    s
                    for s in await store.steps_of(session=session, operation_id=operation_id)
                    if s.name == "gate_approval"
                ),
                None,
            )
            if operation.done or gate is None or gate.state != "running" or "approval" in operation.payload:
                raise FailedPrecondition(
                    f"operations/{operation_id} is not waiting for an approval",
                    [PreconditionViolation("STATE", f"operations/{operation_id}", "no approval is pending")],
                    reason="APPROVAL_NOT_PENDING",
                )
            if decision == "approved" and approver.strip() == operation.requester:
                raise PermissionDenied(
                    f"{approver.strip()} asked for operations/{operation_id} and cannot also approve it: "
                    "someone else must (four eyes)",
                    reason="SELF_APPROVAL",
                    metadata={"operation": name, "requester": operation.requester},
                )
            payload = dict(operation.payload)
            payload["approval"] = {
                "decision": decision,
                "approver": approver.strip(),
                "reason": reason.strip(),
                "time": store.utcnow().isoformat(),
            }
            await store.update_operation(session=session, operation_id=operation_id, payload=payload)
            woken = await store.wake_operation(session=session, operation_id=operation_id)
        if woken:
            self.on_submit()
        return await self.get_operation(operation_id)


async def _promoted(
    session: AsyncSession, service: str, source: str, version: str, current_image: str, current_version: str
) -> tuple[str, str]:
    """The image of ``version`` in the source (what runs there now without one) and since when it has run
    there; INVALID_ARGUMENT on ``version`` when it never ran in the source."""
    history = await store.list_deployments(session=session, service=service, environment=source, limit=200)
    succeeded = [d for d in history if d.status == "succeeded"]
    wanted = version or current_version
    matches = [
        d for d in succeeded if (wanted and d.version == wanted) or (not wanted and d.image == current_image)
    ]
    if version and not matches:
        raise InvalidArgument(
            f"version {version} never ran in {source}",
            [FieldViolation("version", f"{version} never ran in {source}; promote a version deployed there")],
        )
    if not matches:
        return current_image, ""
    # The newest deployment of it: the version has run since that one ended, or since it started.
    newest = matches[0]
    since = store.aware(newest.end_time or newest.start_time)
    return newest.image or current_image, since.isoformat() if since else ""
