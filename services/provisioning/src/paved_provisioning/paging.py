"""Paging and filtering of the provisioning API's lists: page tokens, page sizes and AIP-160 filters."""

from __future__ import annotations

import base64
import re

from paved_kit.errors import FieldViolation, InvalidArgument

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
_FILTER_TERM = re.compile(r'^\s*([a-z_]+)\s*=\s*("([^"]*)"|[A-Za-z0-9_]+)\s*$')


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_page_token(field: str, token: str) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("o:"):
            raise ValueError
        return max(int(text[2:]), 0)
    except ValueError:
        raise InvalidArgument(
            "invalid page token", [FieldViolation(field, "is not a token this service issued")]
        ) from None


def parse_filter(field: str, text: str, allowed: set[str]) -> dict[str, str]:
    """A conjunction of ``key = "value"`` terms (the AIP-160 subset these lists support)."""
    terms: dict[str, str] = {}
    if not text.strip():
        return terms
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = _FILTER_TERM.match(part)
        if not match or match.group(1) not in allowed:
            raise InvalidArgument(
                "unsupported filter",
                [
                    FieldViolation(
                        field,
                        f'must be key = "value" terms joined by AND; keys: {", ".join(sorted(allowed))}',
                    )
                ],
            )
        terms[match.group(1)] = match.group(3) if match.group(3) is not None else match.group(2)
    return terms


def page_size(field: str, size: int) -> int:
    if size < 0:
        raise InvalidArgument("invalid page size", [FieldViolation(field, "must not be negative")])
    return min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
