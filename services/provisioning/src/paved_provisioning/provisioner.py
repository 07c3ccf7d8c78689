"""What the provisioning API does, between the servicer and the store: quotas, submitting operations
(idempotent by request id, quota-checked atomically), cancelling and listing them, deployment history."""

from __future__ import annotations

import asyncio
import base64
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import delivery, manifests, quotas, steps, store
from paved_provisioning.models import Deployment, Operation, OperationStep, ProvisionedService, TeamQuota
from paved_provisioning.settings import ProvisioningSettings
from paved_provisioning.validation import (
    IMAGE,
    INSTANCE_TYPE,
    VERSION,
    Violations,
    check_plan,
    check_request_id,
    check_team,
    service_from_name,
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
_FILTER_TERM = re.compile(r'^\s*([a-z_]+)\s*=\s*("([^"]*)"|[A-Za-z0-9_]+)\s*$')


@dataclass(frozen=True)
class QuotaView:
    """A team's limits and usage."""

    team: str
    limits: quotas.Limits
    usage: quotas.Usage


@dataclass(frozen=True)
class OperationView:
    """An operation with its steps."""

    operation: Operation
    steps: list[OperationStep]
    deployment: Deployment | None = None


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_page_token(field: str, token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError
        return max(int(text[2:]), 0)
    except ValueError:
        raise InvalidArgument(
            "invalid page token", [_fv(field, "is not a token this service issued")]
        ) from None


def _fv(field: str, description: str) -> FieldViolation:
    return FieldViolation(field, description)


def parse_filter(field: str, text: str, allowed: set[str]) -> dict[str, str]:
    """A conjunction of ``key = "value"`` terms (the AIP-160 subset these lists support)."""
    terms: dict[str, str] = {}
    if not text.strip():
        return terms
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = _FILTER_TERM.match(part)
        if not match or match.group(1) not in allowed:
            raise InvalidArgument(
                "unsupported filter",
                [
                    _fv(
                        field,
                        f'must be key = "value" terms joined by AND; keys: {", ".join(sorted(allowed))}',
                    )
                ],
            )
        terms[match.group(1)] = match.group(3) if match.group(3) is not None else match.group(2)
    return terms


def page_size(field: str, size: int) -> int:
    if size < 0:
        raise InvalidArgument("invalid page size", [_fv(field, "must not be negative")])
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


class Provisioner:
    """The provisioning service's behaviour, independent of gRPC."""

    def __init__(
        self,
        settings: ProvisioningSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        on_submit: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.on_submit = on_submit or (lambda: None)

    # quotas -----------------------------------------------------------------------------------------------

    def limits_of(self, row: TeamQuota | None) -> quotas.Limits:
        s = self.settings
        if row is None or not row.overridden:
            return quotas.Limits(s.default_max_services, s.default_max_instances, s.default_max_monthly_cost)
        return quotas.Limits(
            row.max_services if row.max_services is not None else s.default_max_services,
            row.max_instances if row.max_instances is not None else s.default_max_instances,
            row.max_monthly_cost if row.max_monthly_cost is not None else s.default_max_monthly_cost,
            overridden=True,
        )

    async def get_quota(self, team: str) -> QuotaView:
        v = Violations()
        check_team(v, "team", team)
        v.raise_if_any()
        async with self.sessions() as session:
            row = await store.get_team_quota(session=session, team=team)
            usage = await store.team_usage(session=session, team=team)
        return QuotaView(team, self.limits_of(row), usage)

    async def update_quota(
        self, team: str, max_services: int, max_instances: int, max_monthly_cost: float, currency: str
    ) -> QuotaView:
        v = Violations()
        check_team(v, "quota.team", team)
        v.check(max_services >= 0, "quota.max_services", "must not be negative")
        v.check(max_instances >= 0, "quota.max_instances", "must not be negative")
        v.check(max_monthly_cost >= 0, "quota.max_monthly_cost", "must not be negative")
        v.check(
            currency in ("", self.settings.currency),
            "quota.max_monthly_cost.currency_code",
            f"must be {self.settings.currency}",
        )
        v.raise_if_any()
        async with self.sessions() as session, session.begin():
            await store.set_team_quota(
                session=session,
                team=team,
                max_services=max_services,
                max_instances=max_instances,
                max_monthly_cost=max_monthly_cost,
            )
        return await self.get_quota(team)

    def _check_currency(self, v: Violations, field: str, currency: str) -> None:
        v.check(currency in ("", self.settings.currency), field, f"must be {self.settings.currency}")

    async def check_quota(
        self, team: str, plan: dict[str, Any] | None, monthly_cost: float, currency: str
    ) -> list[quotas.QuotaCheck]:
        """Every quota's verdict; RESOURCE_EXHAUSTED naming each exceeded quota when the plan does not fit."""
        v = Violations()
        check_team(v, "team", team)
        v.check(plan is not None and bool(plan.get("resources")), "plan.resources", "must contain a resource")
        if plan and plan.get("team") and plan["team"] != team:
            v.add("plan.team", f"must match team {team!r}")
        v.check(monthly_cost >= 0, "estimated_monthly_cost", "must not be negative")
        self._check_currency(v, "estimated_monthly_cost.currency_code", currency)
        v.raise_if_any()
        assert plan is not None
        async with self.sessions() as session:
            row = await store.get_team_quota(session=session, team=team)
            exclude = plan.get("service_name") or None
            usage = await store.team_usage(session=session, team=team, exclude_service=exclude)
        checks = quotas.check(self.limits_of(row), usage, quotas.plan_usage(plan["resources"], monthly_cost))
        quotas.enforce(team, checks)
        return checks

    # submitting -------------------------------------------------------------------------------------------

    async def _existing(self, request_key: str | None) -> OperationView | None:
        if request_key is None:
            return None
        async with self.sessions() as session:
            operation = await store.operation_by_request_key(session=session, request_key=request_key)
            if operation is None:
                return None
            return OperationView(operation, await store.steps_of(session=session, operation_id=operation.id))

    async def _submit(
        self, request_key: str | None, build: Callable[[AsyncSession, str], Awaitable[str | None]]
    ) -> OperationView:
        existing = await self._existing(request_key)
        if existing is not None:
            return existing
        operation_id = uuid.uuid4().hex
        try:
            async with self.sessions() as session, session.begin():
                earlier = await build(session, operation_id)
            if earlier is not None:
                return await self.get_operation(earlier)
        except IntegrityError:
            # A concurrent call with the same request id won the race: answer with its operation.
            existing = await self._existing(request_key)
            if existing is None:
                raise
            return existing
        self.on_submit()
        view = await self.get_operation(operation_id)
        return view

    async def provision(
        self,
        plan: dict[str, Any] | None,
        monthly_cost: float,
        currency: str,
        policy: dict[str, str],
        request_id: str,
        requester: str,
    ) -> OperationView:
        v = Violations()
        check_plan(v, "plan", plan)
        v.check(monthly_cost >= 0, "estimated_monthly_cost", "must not be negative")
        self._check_currency(v, "estimated_monthly_cost.currency_code", currency)
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        assert plan is not None
        service, team, environment = plan["service_name"], plan["team"], plan["environment"]
        request_key = f"{steps.PROVISION}:{request_id}" if request_id else None
        image = manifests.current_image(plan)

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            row = await store.lock_team(session=session, team=team)
            if (earlier := await self._earlier(session, request_key)) is not None:
                return earlier
            existing = await store.get_service(session=session, name=service)
            if existing is not None and existing.state in store.LIVE_STATES:
                raise FailedPrecondition(
                    f"services/{service} is already provisioned ({existing.state})",
                    [PreconditionViolation("STATE", f"services/{service}", f"service is {existing.state}")],
                    reason="SERVICE_EXISTS",
                )
            usage = await store.team_usage(session=session, team=team, exclude_service=service)
            checks = quotas.check(
                self.limits_of(row), usage, quotas.plan_usage(plan["resources"], monthly_cost)
            )
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
            await store.add_operation(
                session=session,
                operation=Operation(
                    id=operation_id,
                    kind=steps.PROVISION,
                    service=service,
                    team=team,
                    environment=environment,
                    requester=requester,
                    request_key=request_key,
                    payload={
                        "plan": plan,
                        "monthly_cost": monthly_cost,
                        "currency": currency or self.settings.currency,
                        "policy": policy,
                        "deployment_id": deployment_id,
                    },
                ),
                steps=steps.PROVISION_STEPS,
            )
            await store.add_deployment(
                session=session,
                deployment=Deployment(
                    id=deployment_id,
                    service=service,
                    environment=environment,
                    version=record.version,
                    image=image,
                    requester=requester,
                    workflow="provision",
                    operation_id=operation_id,
                    plan=plan,
                ),
            )
            return None

        return await self._submit(request_key, build)

    async def _earlier(self, session: AsyncSession, request_key: str | None) -> str | None:
        """The operation an earlier call with the same request id created (seen under the team lock)."""
        if request_key is None:
            return None
        operation = await store.operation_by_request_key(session=session, request_key=request_key)
        return operation.id if operation else None

    async def _active_service(self, session: AsyncSession, field: str, service: str) -> ProvisionedService:
        record = await store.get_service(session=session, name=service)
        if record is None or record.state == "deleted":
            raise NotFound(f"services/{service} was not provisioned here", metadata={"service": service})
        if record.state != "active":
            raise FailedPrecondition(
                f"services/{service} is {record.state}, not active",
                [PreconditionViolation("STATE", f"services/{service}", f"service is {record.state}")],
                reason="SERVICE_NOT_ACTIVE",
            )
        return record

    async def _no_running_operation(self, session: AsyncSession, service: str) -> None:
        running = await store.list_operations(session=session, service=service, done=False, offset=0, limit=1)
        if running:
            raise FailedPrecondition(
                f"operations/{running[0].id} is still running for services/{service}",
                [PreconditionViolation("CONCURRENCY", f"services/{service}", "another operation is running")],
                reason="OPERATION_IN_PROGRESS",
            )

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
        request_key = f"{kind}:{request_id}" if request_id else None

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            probe = await store.get_service(session=session, name=service)
            if probe is not None:
                await store.lock_team(session=session, team=probe.team)
            if (earlier := await self._earlier(session, request_key)) is not None:
                return earlier
            record = await self._active_service(session, "service", service)
            if environment and environment != record.environment:
                raise InvalidArgument(
                    "wrong environment",
                    [_fv("environment", f"services/{service} runs in {record.environment}")],
                )
            await self._no_running_operation(session, service)
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
            await store.add_operation(
                session=session,
                operation=Operation(
                    id=operation_id,
                    kind=kind,
                    service=service,
                    team=record.team,
                    environment=record.environment,
                    requester=requester,
                    request_key=request_key,
                    payload={
                        "plan": plan,
                        "image": deploy_image,
                        "version": deploy_version,
                        "deployment_id": deployment_id,
                    },
                ),
                steps=names,
            )
            await store.add_deployment(
                session=session,
                deployment=Deployment(
                    id=deployment_id,
                    service=service,
                    environment=record.environment,
                    version=deploy_version,
                    image=deploy_image,
                    requester=requester,
                    workflow=workflow,
                    operation_id=operation_id,
                    plan=manifests.with_image(plan, deploy_image) if deploy_image else {},
                ),
            )
            return None

        return await self._submit(request_key, build)

    async def deprovision(self, name: str, request_id: str, requester: str) -> OperationView:
        v = Violations()
        service = service_from_name(v, "service", name)
        check_request_id(v, "request_id", request_id)
        v.raise_if_any()
        request_key = f"{steps.DEPROVISION}:{request_id}" if request_id else None

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            record = await store.get_service(session=session, name=service)
            if record is None or record.state == "deleted":
                raise NotFound(f"services/{service} was not provisioned here", metadata={"service": service})
            await store.lock_team(session=session, team=record.team)
            if (earlier := await self._earlier(session, request_key)) is not None:
                return earlier
            await self._no_running_operation(session, service)
            if record.state not in ("active", "failed"):
                raise FailedPrecondition(
                    f"services/{service} is {record.state}",
                    [PreconditionViolation("STATE", f"services/{service}", f"service is {record.state}")],
                    reason="SERVICE_NOT_ACTIVE",
                )
            await store.set_service_fields(session=session, name=service, state="deprovisioning")
            await store.add_operation(
                session=session,
                operation=Operation(
                    id=operation_id,
                    kind=steps.DEPROVISION,
                    service=service,
                    team=record.team,
                    environment=record.environment,
                    requester=requester,
                    request_key=request_key,
                    payload={"plan": record.plan},
                ),
                steps=steps.DEPROVISION_STEPS,
            )
            return None

        return await self._submit(request_key, build)

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
        request_key = f"{steps.UPDATE_INSTANCE_TYPE}:{request_id}" if request_id else None

        async def build(session: AsyncSession, operation_id: str) -> str | None:
            probe = await store.get_service(session=session, name=service)
            if probe is not None:
                await store.lock_team(session=session, team=probe.team)
            if (earlier := await self._earlier(session, request_key)) is not None:
                return earlier
            record = await self._active_service(session, "service", service)
            await self._no_running_operation(session, service)
            target = next((r for r in record.plan.get("resources", []) if r.get("name") == resource), None)
            if target is None:
                raise InvalidArgument(
                    "unknown resource", [_fv("resource", f"services/{service} has no {resource!r}")]
                )
            if target.get("type") != "compute":
                raise InvalidArgument(
                    "not compute", [_fv("resource", f"{resource!r} is not a compute resource")]
                )
            new_plan = manifests.with_instance_type(record.plan, resource, instance_type)
            deployment_id = uuid.uuid4().hex
            image = manifests.current_image(new_plan)
            await store.add_operation(
                session=session,
                operation=Operation(
                    id=operation_id,
                    kind=steps.UPDATE_INSTANCE_TYPE,
                    service=service,
                    team=record.team,
                    environment=record.environment,
                    requester=requester,
                    request_key=request_key,
                    payload={
                        "plan": record.plan,
                        "new_plan": new_plan,
                        "resource": resource,
                        "instance_type": instance_type,
                        "previous_instance_type": (target.get("properties") or {}).get("instance_type", ""),
                        "monthly_cost": record.monthly_cost,
                        "currency": self.settings.currency,
                        "deployment_id": deployment_id,
                    },
                ),
                steps=steps.UPDATE_INSTANCE_TYPE_STEPS,
            )
            await store.add_deployment(
                session=session,
                deployment=Deployment(
                    id=deployment_id,
                    service=service,
                    environment=record.environment,
                    version=record.version,
                    image=image,
                    requester=requester,
                    workflow="update_instance_type",
                    operation_id=operation_id,
                    plan=new_plan,
                ),
            )
            return None

        return await self._submit(request_key, build)

    # operations -------------------------------------------------------------------------------------------

    async def get_operation(self, operation_id: str) -> OperationView:
        async with self.sessions() as session:
            operation = await store.get_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise NotFound(
                    f"operations/{operation_id} does not exist", metadata={"operation": operation_id}
                )
            steps_ = await store.steps_of(session=session, operation_id=operation_id)
            deployment_id = operation.payload.get("deployment_id")
            deployment = (
                await store.get_deployment(session=session, deployment_id=deployment_id)
                if deployment_id
                else None
            )
        return OperationView(operation, steps_, deployment)

    async def list_operations(
        self, filter_text: str, size: int, token: str
    ) -> tuple[list[OperationView], str]:
        terms = parse_filter("filter", filter_text, {"service", "done"})
        limit = page_size("page_size", size)
        offset = decode_page_token("page_token", token)
        done = None
        if "done" in terms:
            if terms["done"] not in ("true", "false"):
                raise InvalidArgument("bad filter", [_fv("filter", "done must be true or false")])
            done = terms["done"] == "true"
        async with self.sessions() as session:
            ops = await store.list_operations(
                session=session, service=terms.get("service"), done=done, offset=offset, limit=limit + 1
            )
            by_op = await store.steps_of_many(session=session, operation_ids=[o.id for o in ops[:limit]])
        views = [OperationView(o, by_op.get(o.id, [])) for o in ops[:limit]]
        return views, encode_page_token(offset + limit) if len(ops) > limit else ""

    async def cancel_operation(self, operation_id: str) -> None:
        """Ask the worker to stop the operation at its next step boundary and undo what it did."""
        async with self.sessions() as session, session.begin():
            operation = await store.lock_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise NotFound(
                    f"operations/{operation_id} does not exist", metadata={"operation": operation_id}
                )
            if operation.done:
                return
            await store.update_operation(session=session, operation_id=operation_id, cancel_requested=True)
        self.on_submit()

    async def delete_operation(self, operation_id: str) -> None:
        async with self.sessions() as session, session.begin():
            operation = await store.lock_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise NotFound(
                    f"operations/{operation_id} does not exist", metadata={"operation": operation_id}
                )
            if not operation.done:
                raise FailedPrecondition(
                    f"operations/{operation_id} is still running; cancel it first",
                    [PreconditionViolation("STATE", f"operations/{operation_id}", "operation is not done")],
                    reason="OPERATION_NOT_DONE",
                )
            for step in await store.steps_of(session=session, operation_id=operation_id):
                await session.delete(step)
            await session.flush()
            await session.delete(operation)

    async def wait_operation(self, operation_id: str, timeout: float) -> OperationView:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            view = await self.get_operation(operation_id)
            if view.operation.done or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 1.5, 0.25)

    # deployments ------------------------------------------------------------------------------------------

    async def delivery_metrics(
        self, team: str, start: datetime | None, end: datetime | None
    ) -> delivery.DeliveryMetrics:
        """DORA-style metrics of a team (or the whole platform when ``team`` is empty) over a window."""
        v = Violations()
        if team:
            check_team(v, "team", team)
        window_start, window_end = delivery.default_window(end, start, store.utcnow())
        v.check(window_start < window_end, "start_time", "must be before end_time")
        v.raise_if_any()
        async with self.sessions() as session:
            services = await store.team_service_names(session=session, team=team) if team else None
            rows = await store.deployments_since(session=session, start=window_start, services=services)
        facts = [
            delivery.DeploymentFact(
                service=r.service,
                environment=r.environment,
                workflow=r.workflow,
                status=r.status,
                start=store.aware(r.start_time) or window_start,
                end=store.aware(r.end_time),
            )
            for r in rows
        ]
        return delivery.compute(facts, window_start, window_end)

    async def list_deployments(
        self, parent: str, filter_text: str, size: int, token: str
    ) -> tuple[list[Deployment], str]:
        v = Violations()
        service = service_from_name(v, "parent", parent)
        v.raise_if_any()
        terms = parse_filter("filter", filter_text, {"environment", "status", "workflow"})
        limit = page_size("page_size", size)
        offset = decode_page_token("page_token", token)
        status = terms.get("status")
        if status:
            status = status.lower().removeprefix("deployment_status_")
        async with self.sessions() as session:
            rows = await store.list_deployments(
                session=session,
                service=service,
                environment=terms.get("environment"),
                status=status,
                offset=offset,
                limit=limit + 1,
            )
        if "workflow" in terms:
            rows = [r for r in rows if r.workflow == terms["workflow"]]
        return rows[:limit], encode_page_token(offset + limit) if len(rows) > limit else ""

    async def deployment_history(self, service: str, environment: str) -> list[dict[str, Any]]:
        """Deployments of a service in an environment, newest first, for the rollback step."""
        async with self.sessions() as session:
            rows = await store.list_deployments(
                session=session, service=service, environment=environment, limit=MAX_PAGE_SIZE
            )
        return [
            {"id": r.id, "status": r.status, "version": r.version, "image": r.image, "plan": r.plan}
            for r in rows
        ]
