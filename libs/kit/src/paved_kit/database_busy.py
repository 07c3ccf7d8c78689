"""Recognising SQLite's "database is locked"/busy in an exception chain, without importing SQLAlchemy (the
error interceptor of every server uses it, the gateway's included, which has no database)."""

from __future__ import annotations

import sqlite3

_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def is_database_busy(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is SQLite's "database is locked"/busy: another writer held the
    lock past the busy timeout, or a read transaction could not be upgraded; retrying may succeed."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError) and any(
            message in str(current).lower() for message in _BUSY_MESSAGES
        ):
            return True
        # SQLAlchemy's DBAPIError keeps the driver's exception as ``orig``.
        original = getattr(current, "orig", None)
        if isinstance(original, BaseException) and is_database_busy(original):
            return True
        current = current.__cause__ or current.__context__
    return False
