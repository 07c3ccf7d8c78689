"""AIP-160 list filters (the subset lists need): comparisons joined by AND, OR, NOT and parentheses.

``parse_filter`` turns the text into a small tree with values already converted to the field's kind, or
raises FilterError naming the problem; the store translates the tree into SQL.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, VisitError
from paved_kit.validation import string_problem

_GRAMMAR = r"""
?start: expression
?expression: sequence (_AND sequence)*        -> and_
?sequence: factor+                            -> and_
?factor: term (_OR term)*                     -> or_
?term: _NOT term                              -> not_
     | "-" term                               -> not_
     | "(" expression ")"
     | comparison
comparison: FIELD OP value
?value: ESCAPED_STRING                        -> string
      | SIGNED_NUMBER                         -> number
      | NAME                                  -> bare
_AND.2: "AND"
_OR.2: "OR"
_NOT.2: "NOT"
OP: "<=" | ">=" | "!=" | "=" | "<" | ">"
FIELD.1: /[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*/
NAME: /[A-Za-z_][A-Za-z0-9_.:-]*/
%import common.ESCAPED_STRING
%import common.SIGNED_NUMBER
%import common.WS
%ignore WS
"""


@cache
def _parser() -> Lark:
    """The grammar, built on first use: a process that never parses one does not pay for it at start-up."""
    return Lark(_GRAMMAR, parser="earley", maybe_placeholders=False)


MAX_FILTER_LENGTH = 2048


class FilterError(ValueError):
    """A filter that does not parse, names an unknown field, or compares a field with a wrong value."""


class FieldKind(enum.Enum):
    """How a filterable field's values are written and compared."""

    STRING = "string"
    BOOL = "bool"
    INT = "int"
    TIMESTAMP = "timestamp"
    ENUM = "enum"


@dataclass(frozen=True)
class FilterField:
    """A filterable field; ``values`` maps accepted spellings of an enum to the stored value."""

    kind: FieldKind
    values: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Comparison:
    """``field op value`` with the value converted to the field's kind."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class And:
    """All must hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """One must hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """Must not hold."""

    item: Node


Node = Comparison | And | Or | Not


@dataclass(frozen=True)
class _Literal:
    text: str
    quoted: bool


def _convert(name: str, spec: FilterField, op: str, literal: _Literal) -> Any:
    text = literal.text
    if spec.kind is FieldKind.STRING:
        return text
    if op not in ("=", "!=") and spec.kind in (FieldKind.BOOL, FieldKind.ENUM):
        raise FilterError(f"{name} supports only = and !=")
    if spec.kind is FieldKind.BOOL:
        if text.lower() not in ("true", "false"):
            raise FilterError(f"{name} must be compared with true or false")
        return text.lower() == "true"
    if spec.kind is FieldKind.INT:
        try:
            return int(text)
        except ValueError:
            raise FilterError(f"{name} must be compared with an integer") from None
    if spec.kind is FieldKind.TIMESTAMP:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FilterError(
                f'{name} must be compared with an RFC 3339 time, e.g. "2026-01-31T00:00:00Z"'
            ) from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    assert spec.values is not None
    stored = spec.values.get(text) or spec.values.get(text.upper())
    if stored is None:
        choices = sorted({value for value in spec.values.values()})
        raise FilterError(f"{name} must be one of {', '.join(choices)}")
    return stored


def parse_filter(text: str, fields: Mapping[str, FilterField]) -> Node | None:
    """The filter as a tree, or None when it is empty; raises FilterError with a readable reason."""
    if not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"must be at most {MAX_FILTER_LENGTH} characters")
    if (problem := string_problem(text)) is not None:
        # NUL cannot even be stored in a PostgreSQL text column.
        raise FilterError(problem)
    try:
        tree = _parser().parse(text)
    except LarkError as exc:
        position = getattr(exc, "column", None)
        where = f" at column {position}" if isinstance(position, int) and position > 0 else ""
        raise FilterError(
            f"cannot parse the filter{where}: expected `field = value` terms joined by AND/OR"
        ) from None

    @v_args(inline=True)
    class _Build(Transformer[Token, Node]):
        def string(self, token: Token) -> _Literal:
            return _Literal(str(token)[1:-1].replace('\\"', '"'), True)

        def number(self, token: Token) -> _Literal:
            return _Literal(str(token), False)

        def bare(self, token: Token) -> _Literal:
            return _Literal(str(token), False)

        def comparison(self, field: Token, op: Token, literal: _Literal) -> Comparison:
            name = str(field)
            spec = fields.get(name)
            if spec is None:
                raise FilterError(f"unknown field {name!r}; filterable fields: {', '.join(sorted(fields))}")
            return Comparison(name, str(op), _convert(name, spec, str(op), literal))

        def and_(self, *items: Node) -> Node:
            return items[0] if len(items) == 1 else And(tuple(items))

        def or_(self, *items: Node) -> Node:
            return items[0] if len(items) == 1 else Or(tuple(items))

        def not_(self, item: Node) -> Node:
            return Not(item)

    try:
        result: Node = _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, FilterError):
            raise exc.orig_exc from None
        raise
    return result


def enum_values(values: Mapping[str, str], prefix: str = "") -> dict[str, str]:
    """Accepted spellings of an enum's values: stored value, its upper-case name and the proto name."""
    accepted: dict[str, str] = {}
    for name, stored in values.items():
        accepted[stored] = stored
        accepted[name] = stored
        if prefix:
            accepted[prefix + name] = stored
    return accepted
