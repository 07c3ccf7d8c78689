"""AIP-160 filters of the list RPCs: equality terms joined by AND (``service = "x" AND state = FIRING``)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping

from paved_kit.errors import FieldViolation, InvalidArgument

_TERM = re.compile(r'^\s*([a-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.\-]+))\s*$')
_AND = re.compile(r"\s+AND\s+")

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def parse_filter(
    text: str, fields: Mapping[str, Callable[[str], str]], *, path: str = "filter"
) -> dict[str, str]:
    """``field = value`` terms joined by AND; ``fields`` maps each allowed field to a normaliser that
    raises ValueError on a bad value."""
    if not text.strip():
        return {}
    terms: dict[str, str] = {}
    for part in _AND.split(text.strip()):
        match = _TERM.match(part)
        if match is None:
            raise InvalidArgument(
                "the filter is invalid",
                [
                    FieldViolation(
                        path, f'cannot parse {part.strip()!r}: use `field = "value"` terms joined by AND'
                    )
                ],
            )
        name, quoted, bare = match.groups()
        value = quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted is not None else bare
        if name not in fields:
            raise InvalidArgument(
                "the filter is invalid",
                [FieldViolation(path, f"unknown field {name!r}; filterable: {', '.join(sorted(fields))}")],
            )
        if name in terms:
            raise InvalidArgument("the filter is invalid", [FieldViolation(path, f"{name!r} given twice")])
        try:
            terms[name] = fields[name](value)
        except ValueError as exc:
            raise InvalidArgument("the filter is invalid", [FieldViolation(path, f"{name}: {exc}")]) from None
    return terms


def as_is(value: str) -> str:
    """Accept the value unchanged."""
    return value


def enum_value(prefix: str, allowed: tuple[str, ...]) -> Callable[[str], str]:
    """A normaliser accepting ``FIRING``, ``firing`` or ``ALERT_STATE_FIRING`` for ``allowed`` (lowercase)."""

    def normalise(value: str) -> str:
        key = value.lower().removeprefix(prefix.lower())
        if key not in allowed:
            raise ValueError(f"must be one of {', '.join(word.upper() for word in allowed)}")
        return key

    return normalise


def page_size(requested: int, *, path: str = "page_size") -> int:
    """The page size to use: the default for 0, capped at the maximum; negative is an error."""
    if requested < 0:
        raise InvalidArgument("page_size is invalid", [FieldViolation(path, "must not be negative")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(after: str, filter_text: str) -> str:
    """An opaque page token: the last key seen, bound to the filter it was issued for."""
    raw = json.dumps({"a": after, "f": filter_text}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, filter_text: str, *, path: str = "page_token") -> str | None:
    """The last key a page token carries; None for no token. Refuses tokens of another filter."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after, issued_for = data["a"], data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgument(
            "page_token is invalid", [FieldViolation(path, "not a token this service issued")]
        ) from None
    if issued_for != filter_text or not isinstance(after, str):
        raise InvalidArgument(
            "page_token is invalid", [FieldViolation(path, "was issued for a different filter")]
        )
    return after
