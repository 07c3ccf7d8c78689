"""Use cases of environments: the platform's promotion path and its settings, and each service's
environment records (``services/{service}/environments/{environment}``); one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument, NotFound
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import environments, scorecards, store
from paved_catalog.conflicts import etag_mismatch, utc_now
from paved_catalog.models import EnvironmentRow, ServiceEnvironmentRow, ServiceRow
from paved_catalog.registry import MAX_ENDPOINTS, State, check_transition

_SETTING_COLUMNS = {
    "namespace": "namespace",
    "region": "region",
    "replicas_floor": "replicas_floor",
    "approval_required": "approval_required",
    "soak_time": "soak_seconds",
    "approval_timeout": "approval_timeout_seconds",
    "description": "description",
}

# Fields of an environment record the service row also holds for the environment it started in.
_MIRRORED_BACK = ("state", "plan", "template_revision", "namespace", "endpoints", "annotations")


@dataclass
class ServiceEnvironmentDraft:
    """New values of a service's environment record (the fields an update names)."""

    state: State | None = None
    plan: bytes | None = None
    # The template revision the plan was rendered from (0: not said, keep the recorded one).
    template_revision: int = 0
    namespace: str = ""
    version: str = ""
    image: str = ""
    endpoints: list[str] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    parameter_overrides: dict[str, Any] = field(default_factory=dict)


def _etag() -> str:
    return f'"{uuid.uuid4().hex[:20]}"'


class EnvironmentRegistry:
    """The platform's environments and services' environment records over one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime] = utc_now,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = read_sessions or sessions
        self._clock = clock

    def defaults(self) -> list[EnvironmentRow]:
        """The default promotion path as rows to seed."""
        now = self._clock()
        return [
            EnvironmentRow(
                name=name,
                position=position,
                approval_required=approval,
                soak_seconds=soak,
                description=description,
                etag=_etag(),
                update_time=now,
            )
            for position, (name, approval, soak, description) in enumerate(environments.DEFAULT_ENVIRONMENTS)
        ]

    async def list_environments(self) -> list[EnvironmentRow]:
        async with self._reads() as session:
            rows = list(await store.list_environments(session=session))
        if rows:
            return rows
        async with self._sessions() as session, session.begin():
            return list(await store.environments_or_defaults(session=session, defaults=self.defaults()))

    async def update_environment(
        self, name: str, settings: environments.EnvironmentSettings, paths: list[str], etag: str
    ) -> EnvironmentRow:
        environments.check_mask(paths, environments.ENVIRONMENT_FIELDS)
        problems = environments.settings_violations(settings, paths)
        if problems:
            raise InvalidArgument("the environment settings are invalid", problems)
        async with self._sessions() as session, session.begin():
            await store.environments_or_defaults(session=session, defaults=self.defaults())
            row = await store.get_environment(session=session, name=name)
            if row is None:
                known = [e.name for e in await store.list_environments(session=session)]
                environments.check_known(name, known, "environment.name")
                raise NotFound(f"environments/{name} not found", metadata={"environment": name})
            if etag and etag != row.etag:
                raise etag_mismatch("environments", name)
            for path in paths:
                column = _SETTING_COLUMNS[path]
                setattr(row, column, getattr(settings, column))
            row.etag, row.update_time = _etag(), self._clock()
        return row

    async def get_service_environment(self, service: str, environment: str) -> ServiceEnvironmentRow:
        async with self._reads() as session:
            row = await store.get_service_environment(
                session=session, service=service, environment=environment
            )
            if row is None:
                await self._explain_missing(session, service, environment)
        assert row is not None
        return row

    async def list_service_environments(
        self, service: str, *, with_plan: bool
    ) -> list[ServiceEnvironmentRow]:
        async with self._reads() as session:
            if await store.get_service(session=session, name=service) is None:
                raise NotFound(f"services/{service} not found", metadata={"service": service})
            children = await store.service_environments(
                session=session, services=[service], with_plan=with_plan
            )
            order = [e.name for e in await store.list_environments(session=session)]
        rows = children.get(service, [])
        ranked = environments.in_order([r.environment for r in rows], order)
        by_name = {r.environment: r for r in rows}
        return [by_name[name] for name in ranked]

    async def update_service_environment(
        self, service: str, environment: str, draft: ServiceEnvironmentDraft, paths: list[str], etag: str
    ) -> ServiceEnvironmentRow:
        environments.check_mask(paths, environments.SERVICE_ENVIRONMENT_FIELDS)
        problems = _draft_violations(draft, paths)
        if problems:
            raise InvalidArgument("the update is invalid", problems)
        async with self._sessions() as session, session.begin():
            row = await store.get_service_environment(
                session=session, service=service, environment=environment
            )
            if row is None:
                await self._explain_missing(session, service, environment)
            assert row is not None
            if etag and etag != row.etag:
                raise etag_mismatch("services", f"{service}/environments/{environment}")
            values: dict[str, Any] = {}
            for path in paths:
                if path == "state":
                    assert draft.state is not None
                    check_transition(service, State(row.state), draft.state)
                    values["state"] = draft.state.value
                elif path == "plan":
                    values.update(
                        plan=draft.plan,
                        namespace=draft.namespace,
                        template_revision=draft.template_revision or row.template_revision,
                    )
                else:
                    values[path] = getattr(draft, path)
            values.update(etag=_etag(), update_time=self._clock())
            if not await store.update_service_environment(
                session=session,
                service=service,
                environment=environment,
                expected_etag=row.etag,
                values=values,
            ):
                raise etag_mismatch("services", f"{service}/environments/{environment}")
            await session.refresh(row)
            parent = await store.get_service(session=session, name=service)
            deleted = values.get("state") == State.DELETED.value
            if deleted and parent is not None and await self._retire(session, parent, row):
                return row
            # The service row describes the environment it was first created in: keep it in step.
            if parent is not None and parent.environment == environment:
                mirrored = {k: v for k, v in values.items() if k in _MIRRORED_BACK}
                if mirrored:
                    mirrored.update(etag=_etag(), update_time=values["update_time"])
                    await store.update_service(
                        session=session, name=service, expected_etag=parent.etag, values=mirrored
                    )
        return row

    async def _retire(self, session: AsyncSession, parent: ServiceRow, row: ServiceEnvironmentRow) -> bool:
        """A deleted environment of a service that runs elsewhere too leaves its record (it may be added
        again); when the service row described it, it describes the first remaining environment now. The
        last environment stays, DELETED, with the service (deleted as a whole). True when removed."""
        children = await store.service_environments(session=session, services=[parent.name], with_plan=True)
        order = [e.name for e in await store.list_environments(session=session)]
        remaining = [
            c
            for c in sorted(
                children.get(parent.name, []),
                key=lambda c: order.index(c.environment) if c.environment in order else len(order),
            )
            if c.environment != row.environment and c.state != State.DELETED.value
        ]
        if not remaining:
            return False
        if parent.environment == row.environment:
            home = remaining[0]
            values = {key: getattr(home, key) for key in _MIRRORED_BACK}
            values.update(environment=home.environment, etag=_etag(), update_time=self._clock())
            await store.update_service(
                session=session, name=parent.name, expected_etag=parent.etag, values=values
            )
        await store.remove_service_environment(
            session=session, service=parent.name, environment=row.environment
        )
        return True

    async def get_scorecard(
        self, service: str, environment: str, summarize: Callable[[bytes | None], dict[str, Any]]
    ) -> scorecards.Scorecard:
        """The service's scorecard as it is in ``environment``: that environment's state, endpoints and
        plan (``summarize`` reads a stored plan) and the facts as it sees them (its own deployments)."""
        async with self._reads() as session:
            known = [e.name for e in await store.list_environments(session=session)] or [
                name for name, *_ in environments.DEFAULT_ENVIRONMENTS
            ]
            environments.check_known(environment, known, "environment")
            parent = await store.get_service(session=session, name=service)
            row = await store.get_service_environment(
                session=session, service=service, environment=environment
            )
            if parent is None or row is None:
                await self._explain_missing(session, service, environment)
            assert parent is not None and row is not None
            facts = await store.facts_of(session=session, services=[service])
            latest = await store.latest_revisions(session=session, templates={parent.template})
        record = scorecards.ServiceRecord(
            service=service,
            team=parent.team,
            template=parent.template,
            state=row.state,
            documentation_url=parent.documentation_url,
            endpoints=row.endpoints,
            plan_summary=summarize(row.plan),
            facts=scorecards.in_environment(facts.get(service, {}), environment),
            environment=environment,
            template_revision=row.template_revision,
            latest_revision=latest.get(parent.template, 0),
        )
        return scorecards.scorecard(record, self._clock())

    @staticmethod
    async def _explain_missing(session: AsyncSession, service: str, environment: str) -> None:
        """Raise the NotFound that says what is missing: the service, or the service in that environment."""
        if await store.get_service(session=session, name=service) is None:
            raise NotFound(f"services/{service} not found", metadata={"service": service})
        known = [e.name for e in await store.list_environments(session=session)] or [
            name for name, *_ in environments.DEFAULT_ENVIRONMENTS
        ]
        environments.check_known(environment, known, "name")
        raise NotFound(
            f"services/{service} does not run in {environment}",
            reason="ENVIRONMENT_NOT_FOUND",
            metadata={"service": service, "environment": environment},
        )


def _draft_violations(draft: ServiceEnvironmentDraft, paths: list[str]) -> list[FieldViolation]:
    prefix = "service_environment"
    problems: list[FieldViolation] = []
    if "state" in paths and draft.state is None:
        problems.append(FieldViolation(f"{prefix}.state", "required when state is in the update mask"))
    if "version" in paths and len(draft.version) > 128:
        problems.append(FieldViolation(f"{prefix}.version", "at most 128 characters"))
    if "image" in paths and len(draft.image) > 255:
        problems.append(FieldViolation(f"{prefix}.image", "at most 255 characters"))
    if "endpoints" in paths and len(draft.endpoints) > MAX_ENDPOINTS:
        problems.append(FieldViolation(f"{prefix}.endpoints", f"at most {MAX_ENDPOINTS} endpoints"))
    return problems
