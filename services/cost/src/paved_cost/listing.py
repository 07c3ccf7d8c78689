"""The AIP-160 filter subset recommendations accept, and opaque page tokens."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from paved_kit.errors import FieldViolation, InvalidArgument

T = TypeVar("T")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

_TERM = re.compile(r'\s*(\w+)\s*(=|!=)\s*("(?:[^"\\]|\\.)*"|[\w.\-/]+)\s*')
_AND = re.compile(r"\s+AND\s+")


def parse_filter(text: str, fields: Sequence[str]) -> list[tuple[str, str, str]]:
    """``team = "payments" AND kind = RIGHTSIZE`` → ``[(field, op, value), ...]``.

    Only (in)equalities joined by AND: all a recommendation list needs.
    """
    if not text.strip():
        return []
    terms = []
    for part in _AND.split(text.strip()):
        match = _TERM.fullmatch(part)
        if match is None:
            raise InvalidArgument(
                "invalid filter",
                [FieldViolation("filter", f"cannot parse {part!r}: use field = value terms joined by AND")],
            )
        name, op, value = match.groups()
        if name not in fields:
            raise InvalidArgument(
                "invalid filter",
                [FieldViolation("filter", f"unknown field {name!r}; filterable: {', '.join(fields)}")],
            )
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        terms.append((name, op, value))
    return terms


def matches(terms: Sequence[tuple[str, str, str]], value_of: Callable[[str], str]) -> bool:
    return all((value_of(name) == value) == (op == "=") for name, op, value in terms)


def page(items: Sequence[T], page_size: int, page_token: str) -> tuple[list[T], str]:
    """One page of ``items`` and the token of the next (empty at the end)."""
    if page_size < 0:
        raise InvalidArgument("invalid page size", [FieldViolation("page_size", "must not be negative")])
    size = min(page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = 0
    if page_token:
        try:
            offset = int(base64.urlsafe_b64decode(page_token.encode()).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError):
            raise InvalidArgument(
                "invalid page token", [FieldViolation("page_token", "not a token from a previous response")]
            ) from None
        if offset < 0:
            raise InvalidArgument(
                "invalid page token", [FieldViolation("page_token", "not a token from a previous response")]
            )
    chunk = list(items[offset : offset + size])
    end = offset + size
    token = base64.urlsafe_b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return chunk, token
