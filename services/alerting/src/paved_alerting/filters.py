"""AIP-160 filters of the list RPCs: equality terms, ORs of them (in parentheses or not) joined by AND,
e.g. ``(team = "a" OR team = "b") AND state = FIRING``. As in AIP-160, OR binds tighter than AND."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping

from paved_kit.errors import FieldViolation, InvalidArgument

_TOKEN = re.compile(
    r'\s*(?:(?P<paren>[()])|(?P<eq>=)|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<word>[A-Za-z0-9_.\-]+))'
)

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

# A filter in conjunctive normal form: every clause must hold; a clause holds when any of its terms does.
Term = tuple[str, str]
Clauses = list[list[Term]]


def parse_filter(text: str, fields: Mapping[str, Callable[[str], str]], *, path: str = "filter") -> Clauses:
    """The filter as AND-ed clauses of OR-ed ``(field, value)`` terms; ``fields`` maps each allowed field
    to a normaliser that raises ValueError on a bad value."""
    tokens = _tokens(text, path)
    clauses: Clauses = []
    position = 0

    def fail(description: str) -> InvalidArgument:
        return InvalidArgument("the filter is invalid", [FieldViolation(path, description)])

    def term() -> Term:
        nonlocal position
        if position + 3 > len(tokens):
            raise fail('incomplete term: use `field = "value"`')
        (kind_name, name), (kind_eq, _), (kind_value, value) = tokens[position : position + 3]
        if kind_name != "word" or kind_eq != "eq" or kind_value not in ("word", "quoted"):
            raise fail(f'cannot parse near {name!r}: use `field = "value"` terms joined by AND / OR')
        position += 3
        if name not in fields:
            raise fail(f"unknown field {name!r}; filterable: {', '.join(sorted(fields))}")
        try:
            return name, fields[name](value)
        except ValueError as exc:
            raise fail(f"{name}: {exc}") from None

    def disjunction() -> list[Term]:
        nonlocal position
        grouped = position < len(tokens) and tokens[position] == ("paren", "(")
        position += grouped
        terms = [term()]
        while position < len(tokens) and tokens[position] == ("word", "OR"):
            position += 1
            terms.append(term())
        if grouped:
            if position >= len(tokens) or tokens[position] != ("paren", ")"):
                raise fail("missing ')'; parentheses may only group OR-ed terms")
            position += 1
        return terms

    if not tokens:
        return clauses
    clauses.append(disjunction())
    while position < len(tokens):
        if tokens[position] != ("word", "AND"):
            raise fail(f"expected AND or OR near {tokens[position][1]!r}")
        position += 1
        clauses.append(disjunction())
    return clauses


def _tokens(text: str, path: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise InvalidArgument(
                "the filter is invalid", [FieldViolation(path, f"unexpected character at {position}")]
            )
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "quoted":
            value = value.replace('\\"', '"').replace("\\\\", "\\")
        tokens.append((kind, value))
    return tokens


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
