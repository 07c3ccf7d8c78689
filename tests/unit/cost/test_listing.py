"""The recommendation filter subset and page tokens."""

from __future__ import annotations

import pytest
from paved_cost.listing import matches, page, parse_filter
from paved_kit.errors import InvalidArgument


def test_filter_terms() -> None:
    terms = parse_filter('team = "pay ments" AND kind != SPOT', ["team", "kind"])
    assert terms == [("team", "=", "pay ments"), ("kind", "!=", "SPOT")]
    assert matches(terms, {"team": "pay ments", "kind": "RIGHTSIZE"}.__getitem__)
    assert not matches(terms, {"team": "pay ments", "kind": "SPOT"}.__getitem__)


@pytest.mark.parametrize("text", ["colour = red", "team ~ x", "team = "])
def test_bad_filters_name_the_field(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text, ["team"])
    assert caught.value.field_violations[0].field == "filter"


def test_pages_cover_everything_once() -> None:
    items = list(range(7))
    seen, token = [], ""
    while True:
        chunk, token = page(items, 3, token)
        seen += chunk
        if not token:
            break
    assert seen == items
    with pytest.raises(InvalidArgument):
        page(items, 3, "garbage!")
