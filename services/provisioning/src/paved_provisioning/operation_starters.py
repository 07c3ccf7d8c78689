"""Starting each kind of operation: provisioning a service (quota-checked under the team lock), running its
deploy/rollback workflows, deprovisioning it, and changing a compute resource's instance type."""

from __future__ import annotations

import uuid
from typing import Any

from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import manifests, quotas, steps, store
from paved_provisioning.models import ProvisionedService
from paved_provisioning.provisioner_base import OperationView
from paved_provisioning.resource_change import (
    ResourceChange,
    replica_bounds,
    scaled_out,
    with_resources,
)
from paved_provisioning.submission import Submission, Submitter, request_fingerprint, request_key
from paved_provisioning.validation import (
    DNS_LABEL,
    IMAGE,
    INSTANCE_TYPE,
    VERSION,
    Violations,
    check_plan,
    check_request_id,
    service_from_name,
)


class OperationStarters(Submitter):
    """ProvisionService, RunWorkflow, DeprovisionService and UpdateInstanceType."""

    async def provision(
        self,
        plan: dict[str, Any] | None,
        monthly_cost: float,
        currency: str,
        policy: dict[str, str],
        request_id: str,
        requester: str,
        plan_wire: dict[str, str] | None = None,
    ) -> OperationView:
        """``plan_wire``: the plan's wire form (``plan_wire.plan_wire``), kept so the worker need not parse
        the plan again."""
        v = Violations()
        check_plan(v, "plan", plan)
        v.check(monthly_cost >= 0, "estimated_monthly_cost", "must not be negative")
        self._check_currency(v, "estimated_monthly_cost.currency_code", currency)
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        assert plan is not None
        service, team, environment = plan["service_name"], plan["team"], plan["environment"]
        key = request_key(steps.PROVISION, request_id)
        fingerprint = request_fingerprint(
            steps.PROVISION,
            requester,
            plan=plan,
            monthly_cost=monthly_cost,
            currency=currency,
            # Not the decision's id: every evaluation gets a new one, also for a retry.
            policy={k: v for k, v in policy.items() if k != "decision"},
        )
        image = manifests.current_image(plan)

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            row = await store.lock_team(session=session, team=team)
            if (earlier := await self._earlier(session, key, fingerprint)) is not None:
                return earlier
            existing = await store.get_service(session=session, name=service, environment=environment)
            if existing is not None and existing.state in store.LIVE_STATES:
                # Neither the owner nor the state: the caller may be another team.
                raise FailedPrecondition(
                    f"services/{service} already exists in {environment}",
                    [PreconditionViolation("NAME", f"services/{service}", "the name is taken")],
                    reason="SERVICE_EXISTS",
                )
            others = [
                r
                for r in await store.environments_of(session=session, name=service)
                if r.environment != environment and r.state != "deleted"
            ]
            if any(r.team != team for r in others):
                # Another team's service in another environment: the name is taken, nothing more said.
                raise FailedPrecondition(
                    f"services/{service} already exists",
                    [PreconditionViolation("NAME", f"services/{service}", "the name is taken")],
                    reason="SERVICE_EXISTS",
                )
            usage = await store.team_usage(
                session=session, team=team, exclude_service=service, exclude_environment=environment
            )
            requested = quotas.plan_usage(plan["resources"], monthly_cost)
            if any(r.state in store.LIVE_STATES for r in others):
                # Another environment of a service already counts it once.
                requested = quotas.Usage(0, requested.instances, requested.monthly_cost)
            checks = quotas.check(self.limits_of(row), usage, requested)
            quotas.enforce(team, checks)
            record = existing or ProvisionedService(name=service, team=team, environment=environment)
            record.team, record.environment, record.state = team, environment, "provisioning"
            record.instances = quotas.plan_instances(plan["resources"])
            record.monthly_cost = monthly_cost
            record.plan, record.image, record.version = (
                plan,
                image,
                manifests.version_of(image) if image else "",
            )
            record.operation_id = operation_id
            record.create_time = record.create_time or store.utcnow()
            await store.save_service(session=session, service=record)
            deployment_id = uuid.uuid4().hex
            submission = Submission(operation_id, service, team, environment, requester, key, fingerprint)
            payload = {
                "plan": plan,
                "monthly_cost": monthly_cost,
                "currency": currency or self.settings.currency,
                "policy": policy,
                "deployment_id": deployment_id,
                # Whether the catalog's service row describes this environment (its first one).
                "home": not others,
                **({"plan_wire": plan_wire} if plan_wire else {}),
            }
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.PROVISION, payload),
                steps=steps.PROVISION_STEPS,
            )
            await store.add_deployment(
                session=session,
                deployment=submission.deployment(
                    deployment_id, version=record.version, image=image, workflow="provision", plan=plan
                ),
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def run_workflow(
        self,
        name: str,
        workflow: str,
        version: str,
        image: str,
        environment: str,
        request_id: str,
        requester: str,
    ) -> OperationView:
        v = Violations()
        service = service_from_name(v, "service", name)
        v.check(workflow in ("deploy", "rollback"), "workflow", "must be deploy or rollback")
        if workflow == "deploy":
            v.check(bool(version or image), "version", "deploy needs a version or an image")
        if version:
            v.check(bool(VERSION.match(version)), "version", "must be letters, digits and ._+- (at most 128)")
        if image:
            v.check(bool(IMAGE.match(image)), "image", "must be an image reference (lowercase, at most 255)")
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        kind = steps.DEPLOY if workflow == "deploy" else steps.ROLLBACK
        key = request_key(kind, request_id)
        fingerprint = request_fingerprint(
            kind, requester, service=service, version=version, image=image, environment=environment
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            record = await self._claim_active_service(session, service, key, fingerprint, environment)
            if isinstance(record, str):
                return record
            await self._no_running_operation(session, service, record.environment)
            plan = record.plan
            template_steps = next(
                (list(w.get("steps", [])) for w in plan.get("workflows", []) if w.get("name") == workflow),
                None,
            )
            names = steps.workflow_steps(kind, template_steps)
            deploy_image, deploy_version = image, version
            if kind == steps.DEPLOY:
                if not deploy_image:
                    base = manifests.current_image(plan).rsplit("@", 1)[0]
                    repo = base.rsplit(":", 1)[0] if ":" in base.rsplit("/", 1)[-1] else base
                    deploy_image = f"{repo or service}:{version}"
                deploy_version = deploy_version or manifests.version_of(deploy_image)
            deployment_id = uuid.uuid4().hex
            submission = Submission(
                operation_id, service, record.team, record.environment, requester, key, fingerprint
            )
            payload = {
                "plan": plan,
                "image": deploy_image,
                "version": deploy_version,
                "deployment_id": deployment_id,
            }
            await store.add_operation(
                session=session, operation=submission.operation(kind, payload), steps=names
            )
            await store.add_deployment(
                session=session,
                deployment=submission.deployment(
                    deployment_id,
                    version=deploy_version,
                    image=deploy_image,
                    workflow=workflow,
                    plan=manifests.with_image(plan, deploy_image) if deploy_image else {},
                ),
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def deprovision(
        self, name: str, request_id: str, requester: str, environment: str = ""
    ) -> OperationView:
        """Remove the service from one environment (by default the one it was provisioned in first); the
        last environment takes the service with it."""
        v = Violations()
        service = service_from_name(v, "service", name)
        if environment and not DNS_LABEL.match(environment):
            v.add("environment", "must be a DNS-1123 label, e.g. staging")
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        key = request_key(steps.DEPROVISION, request_id)
        fingerprint = request_fingerprint(
            steps.DEPROVISION, requester, service=service, environment=environment
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            record = await store.get_service(session=session, name=service, environment=environment)
            if record is None or record.state == "deleted":
                where = f" in {environment}" if environment else ""
                raise NotFound(
                    f"services/{service} was not provisioned here{where}",
                    metadata={"service": service, "environment": environment},
                )
            await store.lock_team(session=session, team=record.team)
            if (earlier := await self._earlier(session, key, fingerprint)) is not None:
                return earlier
            await self._no_running_operation(session, service, record.environment)
            others = [
                e
                for e in await store.environments_of(session=session, name=service)
                if e.environment != record.environment and e.state != "deleted"
            ]
            if record.state not in ("active", "failed"):
                raise FailedPrecondition(
                    f"services/{service} is {record.state}",
                    [PreconditionViolation("STATE", f"services/{service}", f"service is {record.state}")],
                    reason="SERVICE_NOT_ACTIVE",
                )
            await store.set_service_fields(
                session=session, name=service, environment=record.environment, state="deprovisioning"
            )
            submission = Submission(
                operation_id, service, record.team, record.environment, requester, key, fingerprint
            )
            # Whether it is the service's last environment: then the service goes with it.
            payload = {"plan": record.plan, "last": not others}
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.DEPROVISION, payload),
                steps=steps.DEPROVISION_STEPS,
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def update_instance_type(
        self, name: str, resource: str, instance_type: str, request_id: str, requester: str
    ) -> OperationView:
        v = Violations()
        service = service_from_name(v, "service", name)
        v.check(bool(resource), "resource", "is required")
        if not instance_type:
            v.add("instance_type", "is required")
        elif not INSTANCE_TYPE.match(instance_type):
            v.add("instance_type", "must be an instance type such as c5.xlarge")
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        key = request_key(steps.UPDATE_INSTANCE_TYPE, request_id)
        fingerprint = request_fingerprint(
            steps.UPDATE_INSTANCE_TYPE,
            requester,
            service=service,
            resource=resource,
            instance_type=instance_type,
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            record = await self._claim_active_service(session, service, key, fingerprint)
            if isinstance(record, str):
                return record
            await self._no_running_operation(session, service)
            target = next((r for r in record.plan.get("resources", []) if r.get("name") == resource), None)
            if target is None:
                raise InvalidArgument(
                    "unknown resource",
                    [FieldViolation("resource", f"services/{service} has no {resource!r}")],
                )
            if target.get("type") != "compute":
                raise InvalidArgument(
                    "not compute", [FieldViolation("resource", f"{resource!r} is not a compute resource")]
                )
            new_plan = manifests.with_instance_type(record.plan, resource, instance_type)
            deployment_id = uuid.uuid4().hex
            submission = Submission(
                operation_id, service, record.team, record.environment, requester, key, fingerprint
            )
            payload = {
                "plan": record.plan,
                "new_plan": new_plan,
                "resource": resource,
                "instance_type": instance_type,
                "previous_instance_type": (target.get("properties") or {}).get("instance_type", ""),
                "monthly_cost": record.monthly_cost,
                "currency": self.settings.currency,
                "deployment_id": deployment_id,
            }
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.UPDATE_INSTANCE_TYPE, payload),
                steps=steps.UPDATE_INSTANCE_TYPE_STEPS,
            )
            await store.add_deployment(
                session=session,
                deployment=submission.deployment(
                    deployment_id,
                    version=record.version,
                    image=manifests.current_image(new_plan),
                    workflow="update_instance_type",
                    plan=new_plan,
                ),
            )
            return None

        return await self._submit(key, fingerprint, build)

    async def optimize_resources(
        self,
        name: str,
        resource: str,
        change: ResourceChange,
        bake_seconds: float,
        reason: str,
        request_id: str,
        requester: str,
        *,
        scale_out_only: bool = False,
    ) -> OperationView:
        """Start a canaried change of a compute resource's requests, limits and replica bounds (with
        ``scale_out_only``: only a raise of its minimum replicas, within its maximum)."""
        v = Violations()
        service = service_from_name(v, "service", name)
        v.check(bool(resource), "resource", "is required")
        violations = change.scale_out_violations() if scale_out_only else change.violations()
        for violation in violations:
            v.add(violation.field, violation.description)
        if bake_seconds < 0 or bake_seconds > 86400:
            v.add("bake_time", "must be between 0 and 24 hours")
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        key = request_key(steps.OPTIMIZE_RESOURCES, request_id)
        fingerprint = request_fingerprint(
            steps.OPTIMIZE_RESOURCES,
            requester,
            service=service,
            resource=resource,
            **change.as_dict(),
            **({"scale_out_only": True} if scale_out_only else {}),
        )

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            record = await self._claim_active_service(session, service, key, fingerprint)
            if isinstance(record, str):
                return record
            await self._no_running_operation(session, service)
            target = next((r for r in record.plan.get("resources", []) if r.get("name") == resource), None)
            if target is None or target.get("type") != "compute":
                raise InvalidArgument(
                    "not a compute resource",
                    [FieldViolation("resource", f"services/{service} has no compute resource {resource!r}")],
                )
            applied = change
            if scale_out_only:
                raised = scaled_out(change, target)
                if raised is None:
                    low, high = replica_bounds(target)
                    raise FailedPrecondition(
                        "scale out only: nothing to raise",
                        [
                            PreconditionViolation(
                                "SCALE_OUT_ONLY",
                                "min_replicas",
                                f"{change.min_replicas} (capped at the maximum {high}) does not raise the "
                                f"current minimum {low}",
                            )
                        ],
                    )
                applied = raised
            new_plan = with_resources(record.plan, resource, applied)
            deployment_id = uuid.uuid4().hex
            submission = Submission(
                operation_id, service, record.team, record.environment, requester, key, fingerprint
            )
            payload = {
                "plan": record.plan,
                "new_plan": new_plan,
                "resource": resource,
                "change": applied.as_dict(),
                "previous": {
                    k: (target.get("properties") or {}).get(k, "")
                    for k in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
                },
                "bake_seconds": bake_seconds,
                "reason": reason[:1000],
                "monthly_cost": record.monthly_cost,
                "currency": self.settings.currency,
                "deployment_id": deployment_id,
            }
            await store.add_operation(
                session=session,
                operation=submission.operation(steps.OPTIMIZE_RESOURCES, payload),
                steps=steps.OPTIMIZE_RESOURCES_STEPS,
            )
            await store.add_deployment(
                session=session,
                deployment=submission.deployment(
                    deployment_id,
                    version=record.version,
                    image=manifests.current_image(new_plan),
                    workflow=steps.OPTIMIZE_RESOURCES,
                    plan=new_plan,
                ),
            )
            return None

        return await self._submit(key, fingerprint, build)
