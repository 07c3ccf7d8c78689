"""Error interceptor: PavedError → rich status; anything unexpected → a generic INTERNAL, logged in full."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc.aio

from paved_kit.context import current_request_id
from paved_kit.database_busy import is_database_busy
from paved_kit.errors import PavedError, Reason, Unavailable
from paved_kit.grpc_errors import abort_with, internal_error
from paved_kit.interceptors.base import AroundInterceptor, Context
from paved_kit.logging import get_logger

_log = get_logger("paved.rpc")
DATABASE_BUSY = Unavailable("the database is busy; retry shortly", reason=Reason.DATABASE_BUSY)


class ErrorInterceptor(AroundInterceptor):
    """Turns exceptions leaving a handler into statuses; ``domain`` goes into every ErrorInfo."""

    def __init__(self, domain: str) -> None:
        self._domain = domain

    @asynccontextmanager
    async def around(self, context: Context, method: str) -> AsyncIterator[None]:
        try:
            yield
        except grpc.aio.AbortError:
            # The handler chose its status deliberately.
            raise
        except PavedError as err:
            await abort_with(context, err, self._domain)
        except Exception as exc:
            if is_database_busy(exc):
                # Not a bug: another writer held SQLite's lock too long. Callers retry UNAVAILABLE
                # (Paved's channels do so with backoff), and by then the lock is usually free.
                _log.warning("database busy", method=method)
                await abort_with(context, DATABASE_BUSY, self._domain)
            # The traceback stays in our log; the caller only gets the request id to quote.
            _log.exception("unhandled error in handler", method=method)
            await abort_with(context, internal_error(current_request_id()), self._domain)
