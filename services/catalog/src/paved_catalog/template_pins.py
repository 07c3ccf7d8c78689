"""Template pins: a service environment held at a template revision, with a reason and an expiry, so fleet
upgrades skip it until then; and the use cases that set and clear one (one transaction each)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from paved_kit.errors import FieldViolation, InvalidArgument
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import store
from paved_catalog.conflicts import etag_mismatch, utc_now
from paved_catalog.environment_registry import EnvironmentRegistry
from paved_catalog.models import ServiceEnvironmentRow
from paved_catalog.template_library import TemplateLibrary

MAX_REASON = 1000
MAX_PIN = timedelta(days=366)


@dataclass(frozen=True)
class Pin:
    revision: int
    reason: str
    expire_time: datetime
    pinned_by: str
    create_time: datetime | None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utc_now().tzinfo)


def active_pin(row: ServiceEnvironmentRow, now: datetime) -> Pin | None:
    """The environment's pin while it holds (an expired pin holds nothing)."""
    expires = _aware(row.pin_expire_time)
    if not row.pin_revision or expires is None or expires <= now:
        return None
    return Pin(row.pin_revision, row.pin_reason, expires, row.pinned_by, _aware(row.pin_create_time))


def pin_violations(reason: str, expire_time: datetime | None, now: datetime) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    if not reason.strip():
        problems.append(FieldViolation("reason", "required: say why the revision is held"))
    elif len(reason) > MAX_REASON:
        problems.append(FieldViolation("reason", f"at most {MAX_REASON} characters"))
    if expire_time is None:
        problems.append(FieldViolation("expire_time", "required: when the pin stops holding"))
    elif expire_time <= now:
        problems.append(FieldViolation("expire_time", "must be in the future"))
    elif expire_time - now > MAX_PIN:
        problems.append(FieldViolation("expire_time", f"at most {MAX_PIN.days} days away"))
    return problems


class TemplatePins:
    """Pins of service environments over the catalog's database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateLibrary,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._clock = clock

    async def pin(
        self,
        service: str,
        environment: str,
        revision: int,
        reason: str,
        expire_time: datetime | None,
        author: str,
    ) -> ServiceEnvironmentRow:
        now = self._clock()
        problems = pin_violations(reason, expire_time, now)
        if revision < 0:
            problems.append(FieldViolation("revision", "must be zero (the revision it is on) or a revision"))
        if problems:
            raise InvalidArgument("the pin is invalid", problems)
        async with self._sessions() as session:
            row = await self._row(session, service, environment)
            parent = await store.get_service(session=session, name=service)
            assert parent is not None
        chosen = revision or row.template_revision
        # An unknown revision is NOT_FOUND naming it, before anything changes.
        await self._templates.get_template(parent.template, chosen)
        return await self._write(
            service,
            environment,
            {
                "pin_revision": chosen,
                "pin_reason": reason.strip(),
                "pin_expire_time": expire_time,
                "pinned_by": author[:255],
                "pin_create_time": now,
            },
        )

    async def unpin(self, service: str, environment: str) -> ServiceEnvironmentRow:
        return await self._write(
            service,
            environment,
            {
                "pin_revision": 0,
                "pin_reason": "",
                "pin_expire_time": None,
                "pinned_by": "",
                "pin_create_time": None,
            },
        )

    async def _write(
        self, service: str, environment: str, values: dict[str, object]
    ) -> ServiceEnvironmentRow:
        async with self._sessions() as session, session.begin():
            row = await self._row(session, service, environment)
            values = {**values, "etag": f'"{uuid.uuid4().hex[:20]}"', "update_time": self._clock()}
            if not await store.update_service_environment(
                session=session,
                service=service,
                environment=environment,
                expected_etag=row.etag,
                values=values,
            ):
                raise etag_mismatch("services", f"{service}/environments/{environment}")
            await session.refresh(row)
        return row

    @staticmethod
    async def _row(session: AsyncSession, service: str, environment: str) -> ServiceEnvironmentRow:
        row = await store.get_service_environment(session=session, service=service, environment=environment)
        if row is None:
            await EnvironmentRegistry._explain_missing(session, service, environment)
        assert row is not None
        return row
