"""AIP-160 list filters: parsing into a small syntax tree, checking fields and values, evaluating.

Supported: restrictions ``field = value`` / ``field != value`` (values bare or "quoted"), ``AND``
(also implicit, by juxtaposition), ``OR`` (binds tighter than AND, as in AIP-160), ``NOT`` / ``-`` and
parentheses. Which fields exist and how their values are normalised is up to the caller's schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput, VisitError
from paved_kit.errors import FieldViolation, InvalidArgument
from paved_kit.validation import string_problem

_GRAMMAR = r"""
?start: expression
?expression: sequence ("AND" sequence)*      -> all_of
?sequence: factor factor*                    -> all_of
?factor: term ("OR" term)*                   -> any_of
?term: "NOT" simple                          -> negate
     | "-" simple                            -> negate
     | simple
?simple: restriction
       | "(" expression ")"
restriction: FIELD COMPARATOR value
?value: ESCAPED_STRING                       -> quoted
      | TEXT                                 -> bare
FIELD: /[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*/
COMPARATOR: "<=" | ">=" | "!=" | "=" | "<" | ">" | ":"
TEXT: /[A-Za-z0-9_][A-Za-z0-9_.\/*-]*/
%import common.ESCAPED_STRING
%import common.WS
%ignore WS
"""


@cache
def _parser() -> Lark:
    """The grammar, built on first use: a process that never parses one does not pay for it at start-up."""
    return Lark(_GRAMMAR, parser="lalr")


MAX_FILTER_LENGTH = 2000


@dataclass(frozen=True)
class Restriction:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    operands: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    operands: tuple[Filter, ...]


@dataclass(frozen=True)
class Negation:
    operand: Filter


Filter = Restriction | AllOf | AnyOf | Negation


@v_args(inline=True)
class _ToAst(Transformer[Token, Filter]):
    def restriction(self, field: Token, op: Token, value: str) -> Restriction:
        return Restriction(str(field), str(op), value)

    def quoted(self, token: Token) -> str:
        try:
            return str(json.loads(token))
        except ValueError:
            # The grammar lets any character follow a backslash; JSON does not (``"\q"``).
            raise _invalid(f"bad string literal {token[:40]} (JSON escapes only)") from None

    def bare(self, token: Token) -> str:
        return str(token)

    def negate(self, operand: Filter) -> Negation:
        return Negation(operand)

    def all_of(self, *operands: Filter) -> Filter:
        # Implicit AND (juxtaposition) inside explicit AND is one conjunction.
        flat = tuple(x for o in operands for x in (o.operands if isinstance(o, AllOf) else (o,)))
        return flat[0] if len(flat) == 1 else AllOf(flat)

    def any_of(self, *operands: Filter) -> Filter:
        return operands[0] if len(operands) == 1 else AnyOf(operands)


@dataclass(frozen=True)
class FieldRule:
    """A filterable field: the comparators it takes and a normaliser that raises ValueError on bad values."""

    operators: tuple[str, ...] = ("=", "!=")
    normalise: Callable[[str], Any] = str


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument(
        f"invalid filter: {description}", [FieldViolation("filter", description)], reason="INVALID_FILTER"
    )


def parse_filter(text: str, schema: Mapping[str, FieldRule]) -> Filter | None:
    """The checked syntax tree of ``text`` (None when empty); raises InvalidArgument on field ``filter``."""
    if not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise _invalid(f"must be at most {MAX_FILTER_LENGTH} characters")
    if (problem := string_problem(text)) is not None:
        raise _invalid(problem)
    try:
        tree = _parser().parse(text)
        return _check(_ToAst().transform(tree), schema)
    except VisitError as exc:
        if isinstance(exc.orig_exc, InvalidArgument):
            raise exc.orig_exc from None
        raise
    except UnexpectedInput as exc:
        raise _invalid(f"syntax error at column {exc.column}") from None
    except LarkError:
        raise _invalid("syntax error") from None


def _check(node: Filter, schema: Mapping[str, FieldRule]) -> Filter:
    if isinstance(node, Restriction):
        rule = schema.get(node.field)
        if rule is None:
            raise _invalid(f"unknown field {node.field!r}; filterable fields: {', '.join(sorted(schema))}")
        if node.op not in rule.operators:
            raise _invalid(f"field {node.field!r} supports {' and '.join(rule.operators)}, not {node.op}")
        try:
            value = rule.normalise(node.value)
        except ValueError as exc:
            raise _invalid(f"{node.field}: {exc}") from None
        return Restriction(node.field, node.op, value)
    if isinstance(node, Negation):
        return Negation(_check(node.operand, schema))
    checked = tuple(_check(operand, schema) for operand in node.operands)
    return AllOf(checked) if isinstance(node, AllOf) else AnyOf(checked)


def matches(node: Filter | None, record: Mapping[str, Any]) -> bool:
    """Whether ``record`` (field → value) satisfies the filter; for lists kept in memory."""
    if node is None:
        return True
    if isinstance(node, Restriction):
        equal = record.get(node.field) == node.value
        return equal if node.op == "=" else not equal
    if isinstance(node, Negation):
        return not matches(node.operand, record)
    if isinstance(node, AllOf):
        return all(matches(operand, record) for operand in node.operands)
    return any(matches(operand, record) for operand in node.operands)


def parse_bool(value: str) -> bool:
    """Filter literal ``true``/``false``."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError("must be true or false")
