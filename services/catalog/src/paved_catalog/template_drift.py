"""Use case: which services of a template are not on one of its revisions, and what moving each would change
(both revisions rendered with the service environment's own parameters and context)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from google.protobuf import json_format
from paved.common.v1 import common_pb2
from paved_kit.errors import FieldViolation, InvalidArgument, NotFound, PavedError
from paved_kit.structs import integral
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import environments, revisions, store
from paved_catalog.conflicts import utc_now
from paved_catalog.drift import PlanDiff, revision_drift
from paved_catalog.models import ServiceEnvironmentRow, ServiceRow
from paved_catalog.registry import State
from paved_catalog.render_context import RenderContext
from paved_catalog.rendering import RenderedPlan, render
from paved_catalog.spec import TemplateSpec
from paved_catalog.template_library import TemplateLibrary
from paved_catalog.template_pins import Pin, active_pin

# Environments that run nothing any more have nothing to drift.
_GONE = frozenset({State.DELETED.value, State.DEPROVISIONING.value})


@dataclass(frozen=True)
class ServiceDrift:
    """One service environment and the diff of moving it from its revision to the compared one."""

    service: str
    environment: str
    team: str
    revision: int
    target: int
    diff: PlanDiff
    # Why no diff could be rendered (e.g. the old revision refuses the parameters), empty when it could.
    problem: str = ""
    pin: Pin | None = None
    # The plan rendered from the compared revision, when asked for.
    plan: RenderedPlan | None = None
    # The plan it runs now (encoded), alongside ``plan``.
    current_plan: bytes | None = None


@dataclass(frozen=True)
class TemplateDrift:
    template: str
    revision: int
    latest_revision: int
    services: list[ServiceDrift]
    current_count: int

    @property
    def pinned_count(self) -> int:
        return sum(1 for s in self.services if s.pin is not None)


def _plan(row: ServiceEnvironmentRow) -> common_pb2.Plan:
    return common_pb2.Plan.FromString(row.plan) if row.plan else common_pb2.Plan()


def render_inputs(
    service: ServiceRow, row: ServiceEnvironmentRow, replicas_floor: int = 0
) -> tuple[dict[str, Any], RenderContext]:
    """The parameters and the platform context a service environment was rendered with: its plan's, or the
    service's parameters with the environment's overrides when it has no plan yet."""
    plan = _plan(row)
    parameters: dict[str, Any] = (
        integral(json_format.MessageToDict(plan.parameters)) if plan.parameters else {}
    )
    if not parameters:
        parameters = {**service.parameters, **row.parameter_overrides}
    cost_center = next((r.tags["cost_center"] for r in plan.resources if "cost_center" in r.tags), "")
    context = RenderContext(
        service_name=service.name,
        team=service.team,
        environment=row.environment,
        namespace=plan.namespace or row.namespace,
        image=plan.image or row.image,
        region=plan.region,
        cost_center=cost_center,
        replicas_floor=replicas_floor,
    )
    return parameters, context


class TemplateDriftReader:
    """Drift of a template's services, read over the catalog's database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateLibrary,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._clock = clock

    async def drift(
        self, template_id: str, revision: int = 0, service: str | None = None, *, with_plans: bool = False
    ) -> TemplateDrift:
        revisions.check_revision(revision)
        latest = await self._templates.get_template(template_id)
        target_revision = revision or latest.row.revision
        target = latest if target_revision == latest.row.revision else None
        if target is None:
            target = await self._templates.get_template(template_id, target_revision)
        async with self._sessions() as session:
            rows = list(
                await store.services_of_template(session=session, template=template_id, service=service)
            )
            if service is not None and not rows:
                await self._explain_service(session, template_id, service)
            children = await store.service_environments(
                session=session, services=[r.name for r in rows], with_plan=True
            )
            known = list(await store.list_environments(session=session))
        order = [e.name for e in known]
        floors = {e.name: e.replicas_floor for e in known}
        now = self._clock()
        specs: dict[int, TemplateSpec] = {target_revision: target.spec}
        listed: list[ServiceDrift] = []
        current = 0
        for row in rows:
            envs = {c.environment: c for c in children.get(row.name, []) if c.state not in _GONE}
            for name in environments.in_order(list(envs), order):
                child = envs[name]
                if child.template_revision == target_revision:
                    current += 1
                    if service is None:
                        continue
                entry = await self._service_drift(
                    row, child, template_id, target_revision, specs, floors.get(name, 0), with_plans
                )
                listed.append(replace(entry, pin=active_pin(child, now)))
        return TemplateDrift(template_id, target_revision, latest.row.revision, listed, current)

    async def _service_drift(
        self,
        service: ServiceRow,
        child: ServiceEnvironmentRow,
        template_id: str,
        target: int,
        specs: dict[int, TemplateSpec],
        replicas_floor: int = 0,
        with_plan: bool = False,
    ) -> ServiceDrift:
        revision = child.template_revision
        entry = ServiceDrift(service.name, child.environment, service.team, revision, target, PlanDiff())
        if revision == target and not with_plan:
            return entry
        try:
            if revision not in specs:
                specs[revision] = (await self._templates.get_template(template_id, revision)).spec
            parameters, context = render_inputs(service, child, replicas_floor)
            plan = (
                render(specs[target], target, parameters, context, self._templates.defaults)
                if with_plan
                else None
            )
            if revision == target:
                return replace(entry, plan=plan, current_plan=child.plan if with_plan else None)
            diff = revision_drift(
                rendered_from=(specs[revision], revision),
                current=(specs[target], target),
                parameters=parameters,
                context=context,
                defaults=self._templates.defaults,
            )
        except PavedError as exc:
            return ServiceDrift(
                service.name, child.environment, service.team, revision, target, PlanDiff(), _problem(exc)
            )
        return ServiceDrift(
            service.name,
            child.environment,
            service.team,
            revision,
            target,
            diff,
            plan=plan,
            current_plan=child.plan if with_plan else None,
        )

    @staticmethod
    async def _explain_service(session: AsyncSession, template_id: str, service: str) -> None:
        row = await store.get_service(session=session, name=service)
        if row is None:
            raise NotFound(f"services/{service} not found", metadata={"service": service})
        raise InvalidArgument(
            f"services/{service} was not built from templates/{template_id}",
            [
                FieldViolation(
                    "service", f"is built from templates/{row.template}, not templates/{template_id}"
                )
            ],
        )


def _problem(exc: PavedError) -> str:
    shown = "; ".join(f"{v.field}: {v.description}" for v in exc.field_violations[:5])
    return f"{exc.message}: {shown}" if shown else exc.message
