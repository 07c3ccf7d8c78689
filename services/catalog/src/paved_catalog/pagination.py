"""Opaque keyset page tokens and page sizes for List calls (AIP-158).

A token carries the last key returned and a fingerprint of the filter, so a token cannot be replayed
with a different filter. Keyset paging (``WHERE key > :last ORDER BY key``) never repeats or skips a row
that existed when the listing started, however many rows are inserted meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
import json

from paved_kit.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
_VERSION = 1


def page_size(requested: int) -> int:
    """The effective page size: default when 0, capped at the maximum; negative is an error."""
    if requested < 0:
        raise InvalidArgument(
            "page_size must not be negative", [FieldViolation("page_size", "must be zero or positive")]
        )
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def _fingerprint(filter_text: str) -> str:
    return hashlib.sha256(filter_text.strip().encode()).hexdigest()[:16]


def encode_token(last_key: str, filter_text: str) -> str:
    """A token resuming after ``last_key`` under ``filter_text``."""
    payload = json.dumps(
        {"v": _VERSION, "k": last_key, "f": _fingerprint(filter_text)}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_token(token: str, filter_text: str) -> str | None:
    """The key to resume after (None for an empty token); raises InvalidArgument on field ``page_token``."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        key = payload["k"]
        valid = payload.get("v") == _VERSION and isinstance(key, str)
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidArgument(
            "invalid page token", [FieldViolation("page_token", "is not a token from a previous response")]
        )
    if payload.get("f") != _fingerprint(filter_text):
        raise InvalidArgument(
            "page token does not match the filter",
            [FieldViolation("page_token", "was issued for a different filter; start again without a token")],
        )
    return str(key)
