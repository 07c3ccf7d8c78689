"""Opaque page tokens (AIP-158): the position to resume after, bound to the query that produced it."""

from __future__ import annotations

import base64
import hashlib
import json

from paved_kit.errors import FieldViolation, InvalidArgument


def _fingerprint(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode_token(position: str, query: str) -> str:
    """A token resuming after ``position`` for the same ``query`` (filter, parent, ...)."""
    payload = json.dumps({"p": position, "q": _fingerprint(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str, query: str) -> str | None:
    """The position a token resumes after, or None for the first page; refuses foreign tokens."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position, fingerprint = data["p"], data["q"]
    except (ValueError, KeyError, TypeError):
        raise InvalidArgument(
            "invalid page token", [FieldViolation("page_token", "is not a token this list returned")]
        ) from None
    if fingerprint != _fingerprint(query) or not isinstance(position, str):
        raise InvalidArgument(
            "page token does not match the request",
            [
                FieldViolation(
                    "page_token", "was returned for a different filter or parent; start again without it"
                )
            ],
        )
    return position


def page_size(requested: int, *, default: int, maximum: int) -> int:
    """The effective page size: the default for 0, capped at ``maximum``; negative is refused."""
    if requested < 0:
        raise InvalidArgument("invalid page size", [FieldViolation("page_size", "must be >= 0")])
    return min(requested or default, maximum)
