"""AIP-160 filters and opaque keyset page tokens."""

from __future__ import annotations

import pytest
from paved_catalog.filtering import AllOf, AnyOf, Negation, Restriction, matches, parse_filter
from paved_catalog.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decode_token, encode_token, page_size
from paved_catalog.registry import SERVICE_FILTER_FIELDS
from paved_kit.errors import InvalidArgument


def test_and_or_not_and_precedence() -> None:
    parsed = parse_filter('team = "alpha" state = active OR state = FAILED AND NOT environment = production',
                          SERVICE_FILTER_FIELDS)  # fmt: skip
    assert parsed == AllOf(
        (
            Restriction("team", "=", "alpha"),
            AnyOf((Restriction("state", "=", "ACTIVE"), Restriction("state", "=", "FAILED"))),
            Negation(Restriction("environment", "=", "production")),
        )
    )


def test_values_are_normalised() -> None:
    assert parse_filter("template = templates/web-service", SERVICE_FILTER_FIELDS) == Restriction(
        "template", "=", "web-service"
    )
    assert parse_filter("state = STATE_DELETED", SERVICE_FILTER_FIELDS) == Restriction(
        "state", "=", "DELETED"
    )
    assert parse_filter("name = services/shop", SERVICE_FILTER_FIELDS) == Restriction("name", "=", "shop")
    assert parse_filter("   ", SERVICE_FILTER_FIELDS) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("team = ", "syntax error"),
        ("team = a AND", "syntax error"),
        ("(team = a", "syntax error"),
        ("owner = a", "unknown field 'owner'"),
        ("team < a", "supports = and !="),
        ("state = NAPPING", "state: must be one of"),
        ('team = "Not A Label"', "team: must be a DNS-1123 label"),
        ("x" * 3000, "at most 2000 characters"),
        ('team = "a\x00b"', "U+0000"),
        ("team = a\x00", "U+0000"),
        ('team = "\uffff"', "U+FFFF"),
        ('team = "\\q"', "bad string literal"),
        ('team = "a\tb"', "bad string literal"),
    ],
)
def test_bad_filters_name_the_filter_field(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text, SERVICE_FILTER_FIELDS)
    (violation,) = caught.value.field_violations
    assert violation.field == "filter" and expected in violation.description


def test_matches_in_memory() -> None:
    parsed = parse_filter(
        "team = a AND (state = ACTIVE OR NOT environment = production)", SERVICE_FILTER_FIELDS
    )
    assert matches(parsed, {"team": "a", "state": "FAILED", "environment": "staging"})
    assert not matches(parsed, {"team": "a", "state": "FAILED", "environment": "production"})
    assert not matches(parsed, {"team": "b", "state": "ACTIVE", "environment": "staging"})
    assert matches(None, {})


def test_page_tokens_round_trip_and_are_bound_to_the_filter() -> None:
    token = encode_token("svc-042", "team = a")
    assert "svc-042" not in token
    assert decode_token(token, "team = a") == "svc-042"
    assert decode_token("", "team = a") is None
    with pytest.raises(InvalidArgument) as other_filter:
        decode_token(token, "team = b")
    assert other_filter.value.field_violations[0].field == "page_token"
    for garbage in ("x", "!!!", encode_token("k", "")[:-3] + "AAA"):
        with pytest.raises(InvalidArgument):
            decode_token(garbage, "team = a")


def test_page_size_bounds() -> None:
    assert page_size(0) == DEFAULT_PAGE_SIZE
    assert page_size(10_000) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_size(-5)
