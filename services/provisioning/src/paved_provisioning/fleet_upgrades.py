"""Fleet upgrades as the provisioning API serves them: starting an upgrade of a template's services in waves
(one operation, one step per wave), rolling one back, and the records its steps keep as they go."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import FailedPrecondition, NotFound, PreconditionViolation
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import manifests, steps, store
from paved_provisioning.models import Deployment
from paved_provisioning.provisioner_base import OperationView
from paved_provisioning.submission import Submission, Submitter, request_fingerprint, request_key
from paved_provisioning.validation import DNS_LABEL, Violations, check_request_id

MAX_TARGETS = 5000
MAX_WAVES = 20
MAX_BAKE_SECONDS = 3600
_LABEL = r"([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"
_CHILD = re.compile(rf"^services/{_LABEL}/environments/{_LABEL}$")
SKIP_REASONS = frozenset({"hand_edited", "pinned", "policy", "render"})


@dataclass(frozen=True)
class TargetRequest:
    name: str
    from_revision: int
    plan: dict[str, Any]
    monthly_cost_delta: float


def wave_steps(count: int) -> tuple[str, ...]:
    return tuple(f"wave_{i}" for i in range(1, count + 1))


def _template_key(template: str) -> str:
    """What an upgrade operation records as its subject: the template it rolls out."""
    return f"templates/{template}"


class UpgradeStarters(Submitter):
    """StartTemplateUpgrade, RollbackTemplateUpgrade, and what their steps record."""

    async def start_template_upgrade(
        self,
        template_name: str,
        to_revision: int,
        waves: list[list[TargetRequest]],
        skipped: list[dict[str, str]],
        failure_budget: int,
        bake_seconds: int,
        request_id: str,
        requester: str,
    ) -> OperationView:
        v = Violations()
        template = template_name.removeprefix("templates/")
        v.check(bool(DNS_LABEL.match(template)), "template", "must be templates/{template}")
        v.check(to_revision > 0, "to_revision", "must be a revision number (from 1)")
        v.check(bool(waves), "waves", "at least one wave")
        v.check(len(waves) <= MAX_WAVES, "waves", f"at most {MAX_WAVES} waves")
        v.check(failure_budget >= 0, "failure_budget", "must not be negative")
        v.check(0 <= bake_seconds <= MAX_BAKE_SECONDS, "bake_seconds", f"0 to {MAX_BAKE_SECONDS}")
        check_request_id(v, "request_id", request_id)
        pairs: dict[tuple[str, str], str] = {}
        total = 0
        for w, wave in enumerate(waves):
            v.check(bool(wave), f"waves[{w}].targets", "a wave needs at least one target")
            for t, target in enumerate(wave):
                total += 1
                where = f"waves[{w}].targets[{t}]"
                match = _CHILD.match(target.name)
                if match is None:
                    v.add(f"{where}.name", "must be services/{service}/environments/{environment}")
                    continue
                pair = (match.group(1), match.group(2))
                if pair in pairs:
                    v.add(f"{where}.name", f"{target.name} is already in {pairs[pair]}")
                pairs[pair] = where
                plan_template = str(target.plan.get("template", "")).removeprefix("templates/")
                v.check(plan_template == template, f"{where}.plan.template", f"must be templates/{template}")
                v.check(
                    int(target.plan.get("template_revision", 0) or 0) == to_revision,
                    f"{where}.plan.template_revision",
                    f"must be {to_revision}",
                )
                v.check(
                    (target.plan.get("service_name"), target.plan.get("environment")) == pair,
                    f"{where}.plan",
                    "must be the plan of that service environment",
                )
        v.check(total <= MAX_TARGETS, "waves", f"at most {MAX_TARGETS} targets")
        for s, skip in enumerate(skipped):
            v.check(
                skip.get("reason") in SKIP_REASONS, f"skipped[{s}].reason", f"one of {sorted(SKIP_REASONS)}"
            )
        v.raise_if_any("the upgrade is invalid")
        key = request_key(steps.TEMPLATE_UPGRADE, request_id)
        fingerprint = request_fingerprint(
            steps.TEMPLATE_UPGRADE,
            requester,
            template=template,
            to_revision=to_revision,
            targets=sorted(t.name for wave in waves for t in wave),
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            if (earlier := await self._earlier(session, key, fingerprint)) is not None:
                return earlier
            await self._no_running_upgrade(session, template)
            records = await store.services_in(session=session, pairs=list(pairs))
            missing = [pairs[p] for p in pairs if p not in records or records[p].state != "active"]
            if missing:
                raise FailedPrecondition(
                    "every target must be active here",
                    [
                        PreconditionViolation("STATE", f"{m}.name", "not an active service environment")
                        for m in missing
                    ],
                    reason="SERVICE_NOT_ACTIVE",
                )
            payload_waves = []
            for wave in waves:
                entries = []
                for target in wave:
                    match = _CHILD.match(target.name)
                    assert match is not None
                    record = records[(match.group(1), match.group(2))]
                    entries.append(
                        {
                            "name": target.name,
                            "service": record.name,
                            "environment": record.environment,
                            "team": record.team,
                            "from_revision": target.from_revision,
                            "plan": manifests.with_image(target.plan, manifests.current_image(record.plan))
                            if manifests.current_image(record.plan)
                            else target.plan,
                            "previous_plan": record.plan,
                            "monthly_cost_delta": target.monthly_cost_delta,
                        }
                    )
                payload_waves.append(entries)
            submission = Submission(
                operation_id, _template_key(template), "", "", requester, key, fingerprint
            )
            payload = {
                "template": template,
                "to_revision": to_revision,
                "waves": payload_waves,
                "skipped": skipped,
                "failure_budget": failure_budget,
                "bake_seconds": bake_seconds,
            }
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.TEMPLATE_UPGRADE, payload),
                steps=wave_steps(len(waves)),
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def _no_running_upgrade(self, session: AsyncSession, template: str) -> None:
        running = await store.list_operations(
            session=session, service=_template_key(template), done=False, offset=0, limit=1, environment=None
        )
        if running:
            raise FailedPrecondition(
                f"operations/{running[0].id} is still upgrading templates/{template}",
                [
                    PreconditionViolation(
                        "CONCURRENCY", "template", "another upgrade of this template is running"
                    )
                ],
                reason="OPERATION_IN_PROGRESS",
            )

    async def rollback_template_upgrade(
        self, operation_name: str, request_id: str, requester: str
    ) -> OperationView:
        v = Violations()
        upgrade_id = operation_name.removeprefix("operations/")
        v.check(
            bool(re.fullmatch(r"[0-9a-f]{32}", upgrade_id)), "operation", "must be operations/{operation}"
        )
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        key = request_key(steps.UPGRADE_ROLLBACK, request_id)
        fingerprint = request_fingerprint(steps.UPGRADE_ROLLBACK, requester, operation=upgrade_id)

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            if (earlier := await self._earlier(session, key, fingerprint)) is not None:
                return earlier
            upgrade = await store.get_operation(session=session, operation_id=upgrade_id)
            if upgrade is None or upgrade.kind != steps.TEMPLATE_UPGRADE:
                raise NotFound(
                    f"operations/{upgrade_id} is not a template upgrade", metadata={"operation": upgrade_id}
                )
            template = str(upgrade.payload["template"])
            if not upgrade.done:
                raise FailedPrecondition(
                    f"operations/{upgrade_id} is still running; cancel it or wait for it first",
                    [PreconditionViolation("STATE", "operation", "the upgrade has not finished")],
                    reason="OPERATION_NOT_DONE",
                )
            await self._no_running_upgrade(session, template)
            upgraded = {
                entry["name"]
                for step in await store.steps_of(session=session, operation_id=upgrade_id)
                for entry in (step.output or {}).get("upgraded", [])
            }
            targets = [
                {**t, "plan": t["previous_plan"], "previous_plan": t["plan"]}
                for wave in upgrade.payload["waves"]
                for t in wave
                if t["name"] in upgraded
            ]
            if not targets:
                raise FailedPrecondition(
                    f"operations/{upgrade_id} upgraded no service; there is nothing to roll back",
                    [PreconditionViolation("STATE", "operation", "no service was upgraded")],
                    reason="FAILED_PRECONDITION",
                )
            submission = Submission(
                operation_id, _template_key(template), "", "", requester, key, fingerprint
            )
            payload = {"template": template, "upgrade": upgrade_id, "targets": targets}
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.UPGRADE_ROLLBACK, payload),
                steps=steps.UPGRADE_ROLLBACK_STEPS,
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def record_upgrade(
        self, operation_id: str, target: dict[str, Any], commit: str, workflow: str
    ) -> None:
        """A target's new plan is what runs now: its provisioned record and a deployment say so."""
        plan = target["plan"]
        image = manifests.current_image(plan)
        async with self.sessions() as session, session.begin():
            await store.set_service_fields(
                session=session, name=target["service"], environment=target["environment"], plan=plan
            )
            await store.add_deployment(
                session=session,
                deployment=Deployment(
                    id=uuid.uuid4().hex,
                    seq=store.next_seq(),
                    service=target["service"],
                    environment=target["environment"],
                    version=manifests.version_of(image) if image else "",
                    image=image,
                    commit=commit,
                    status="succeeded",
                    requester="",
                    workflow=workflow,
                    operation_id=operation_id,
                    plan=plan,
                    start_time=store.utcnow(),
                    end_time=store.utcnow(),
                ),
            )

    async def step_progress(self, operation_id: str, step: str, detail: str, output: dict[str, Any]) -> None:
        """What a running step has done so far (its detail and output), for watchers and a halt's report."""
        async with self.sessions() as session, session.begin():
            rows = await store.steps_of(session=session, operation_id=operation_id)
            position = next(r.position for r in rows if r.name == step)
            await store.update_step(
                session=session, operation_id=operation_id, position=position, detail=detail, output=output
            )
