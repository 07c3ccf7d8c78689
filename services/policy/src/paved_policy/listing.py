"""What the policy service's list RPCs share: the page size from settings, the filter as a clear
INVALID_ARGUMENT, and cutting one extra row into the next page's token."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_policy.filtering import FilterError, FilterField, Node, parse_filter
from paved_policy.paging import encode_token, page_size
from paved_policy.settings import PolicySettings

Row = TypeVar("Row")


def list_page_size(settings: PolicySettings, requested: int) -> int:
    """The effective page size under the service's default and maximum."""
    return page_size(requested, default=settings.default_page_size, maximum=settings.max_page_size)


def list_filter(filter_text: str, fields: Mapping[str, FilterField]) -> Node | None:
    """The parsed ``filter`` field; a filter the list does not support is INVALID_ARGUMENT on ``filter``."""
    try:
        return parse_filter(filter_text, fields)
    except FilterError as exc:
        raise InvalidArgument("invalid filter", [FieldViolation("filter", str(exc))]) from None


def cut_page(
    rows: Sequence[Row], size: int, position: Callable[[Row], str], query: str
) -> tuple[list[Row], str]:
    """The first ``size`` rows (fetched as ``size + 1``) and the token of the next page ('' on the last)."""
    page = list(rows[:size])
    token = encode_token(position(page[-1]), query) if len(rows) > size and page else ""
    return page, token
