"""Webhook receivers: create, list, delete."""

from __future__ import annotations

from paved_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_alerting import store
from paved_alerting.clock import Clock
from paved_alerting.filters import decode_token, encode_token, page_size
from paved_alerting.models import ReceiverRow
from paved_alerting.receivers import Receiver, validate_receiver


class ReceiverAdmin:
    """The receivers RPCs."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self.clock = clock

    async def create_receiver(self, receiver_id: str, team: str, url: str, send_resolved: bool) -> Receiver:
        """Create a webhook receiver."""
        validate_receiver(receiver_id, team, url)
        row = ReceiverRow(
            receiver_id=receiver_id,
            team=team,
            url=url,
            send_resolved=send_resolved,
            create_time=self.clock.now(),
        )
        try:
            async with self._sessions() as session, session.begin():
                if await store.get_receiver(session=session, receiver_id=receiver_id) is not None:
                    raise AlreadyExists(
                        f"receiver receivers/{receiver_id} already exists",
                        metadata={"receiver": f"receivers/{receiver_id}"},
                    )
                await store.add_receiver(session=session, row=row)
        except IntegrityError:
            raise AlreadyExists(
                f"receiver receivers/{receiver_id} already exists",
                metadata={"receiver": f"receivers/{receiver_id}"},
            ) from None
        return _receiver(row)

    async def list_receivers(self, size: int, token: str) -> tuple[list[Receiver], str]:
        """A page of receivers."""
        limit = page_size(size)
        after = decode_token(token, "")
        async with self._sessions() as session:
            rows = await store.list_receivers(session=session, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return [_receiver(row) for row in rows], (
            encode_token(rows[-1].receiver_id, "") if more and rows else ""
        )

    async def delete_receiver(self, name: str) -> None:
        """Delete a receiver."""
        receiver_id = name.removeprefix("receivers/")
        if not name.startswith("receivers/") or not receiver_id:
            raise InvalidArgument("name is invalid", [FieldViolation("name", "must be receivers/{receiver}")])
        async with self._sessions() as session, session.begin():
            if not await store.delete_receiver(session=session, receiver_id=receiver_id):
                raise NotFound(f"receiver {name} not found", metadata={"receiver": name})


def _receiver(row: ReceiverRow) -> Receiver:
    return Receiver(row.receiver_id, row.team, row.url, row.send_resolved, row.create_time)
