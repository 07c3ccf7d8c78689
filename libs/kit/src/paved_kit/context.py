"""Per-request context (request id, RPC, service, caller) carried through contextvars on every hop."""

from __future__ import annotations

import contextvars
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import structlog

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("paved_request_id", default=None)
rpc: contextvars.ContextVar[str | None] = contextvars.ContextVar("paved_rpc", default=None)
service: contextvars.ContextVar[str | None] = contextvars.ContextVar("paved_service", default=None)
caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("paved_caller", default=None)

# Request ids arrive from the network and end up in every log line: accept only short, plain tokens.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/@+=-]{1,128}$")


def current_request_id() -> str | None:
    """The request id of the request being handled, if any."""
    return request_id.get()


def current_caller() -> str | None:
    """The authenticated principal of the request being handled, if any."""
    return caller.get()


def new_request_id() -> str:
    """A fresh, unique request id."""
    return uuid.uuid4().hex


def is_valid_request_id(value: str) -> bool:
    """Whether ``value`` is safe to adopt as a request id (short, no spaces or control characters)."""
    return bool(_VALID_REQUEST_ID.match(value))


@contextmanager
def bind_request(
    *,
    request_id: str | None = None,
    rpc: str | None = None,
    service: str | None = None,
    caller: str | None = None,
) -> Iterator[str]:
    """Bind a request's context for the duration of the block; yields the request id in effect.

    A missing ``request_id`` keeps the current one or, outside any request, generates one. The values
    are bound in structlog's contextvars too, so every log line in the block carries them.
    """
    rid = request_id or current_request_id() or new_request_id()
    values = {"request_id": rid, "rpc": rpc, "service": service, "caller": caller}
    tokens: list[tuple[contextvars.ContextVar[str | None], contextvars.Token[str | None]]] = []
    bound: dict[str, str] = {}
    for name, value in values.items():
        if value is None:
            continue
        var = _VARS[name]
        tokens.append((var, var.set(value)))
        bound[name] = value
    log_tokens = structlog.contextvars.bind_contextvars(**bound)
    try:
        yield rid
    finally:
        # A generator finalised from another task runs in another Context, where the tokens are
        # meaningless; that task's context is then discarded anyway, so nothing is left to undo.
        with suppress(ValueError):
            structlog.contextvars.reset_contextvars(**log_tokens)
            for var, token in reversed(tokens):
                var.reset(token)


_VARS: dict[str, contextvars.ContextVar[str | None]] = {
    "request_id": request_id,
    "rpc": rpc,
    "service": service,
    "caller": caller,
}
