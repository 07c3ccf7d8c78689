"""Use cases of the platform view: record and list the inputs only people can give.

They are kept with the reported facts, under a subject no service can be named (service names are DNS
labels), so they need no table of their own and never show up as a service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from paved_kit.errors import InvalidArgument
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog import store
from paved_catalog.conflicts import utc_now
from paved_catalog.models import ServiceFactRow
from paved_catalog.platform_inputs import INPUTS, PlatformInput, input_violations

SUBJECT = "@platform"
SOURCE = "people"


class PlatformView:
    """Platform inputs over one database."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    async def set_input(self, name: str, value: float, set_by: str, note: str) -> PlatformInput:
        input_id, problems = input_violations(name, value, set_by, note)
        if problems:
            raise InvalidArgument("the platform input is invalid", problems)
        recorded = PlatformInput(input_id, value, self._clock(), set_by.strip(), note.strip())
        for attempt in range(2):
            try:
                async with self._sessions() as session, session.begin():
                    row = await store.get_facts(session=session, service=SUBJECT, source=SOURCE)
                    if row is None:
                        store.add_facts(
                            session=session,
                            row=ServiceFactRow(
                                service=SUBJECT,
                                source=SOURCE,
                                facts={input_id: recorded.to_fact()},
                                update_time=recorded.set_time,
                            ),
                        )
                    else:
                        row.facts = {**row.facts, input_id: recorded.to_fact()}
                        row.update_time = recorded.set_time
                return recorded
            except IntegrityError:
                # Two first inputs raced; the second merges into the first.
                if attempt:
                    raise
        return recorded

    async def list_inputs(self) -> list[PlatformInput]:
        async with self._sessions() as session:
            row = await store.get_facts(session=session, service=SUBJECT, source=SOURCE)
        facts = dict(row.facts) if row is not None else {}
        return [PlatformInput.from_fact(i, facts[i]) for i in INPUTS if i in facts]
