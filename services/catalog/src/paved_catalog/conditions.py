"""Resource conditions such as ``.database != "none"``: parsing, the names they use, evaluation.

Grammar: comparisons ``.name == literal`` / ``!=`` (literals: "strings", integers, true, false), a bare
``.name`` (true when the value is truthy), ``!``, ``&&``, ``||`` and parentheses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput

_GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr ("||" and_expr)*   -> any_of
?and_expr: not_expr ("&&" not_expr)*  -> all_of
?not_expr: "!" not_expr               -> negate
         | atom
?atom: operand COMPARATOR operand     -> compare
     | ref                            -> truthy
     | "(" or_expr ")"
?operand: ref | literal
ref: "." NAME
literal: ESCAPED_STRING -> string
       | SIGNED_INT     -> integer
       | "true"         -> true
       | "false"        -> false
COMPARATOR: "==" | "!="
NAME: /[A-Za-z_][A-Za-z0-9_]*/
%import common.ESCAPED_STRING
%import common.SIGNED_INT
%import common.WS
%ignore WS
"""


@cache
def _parser() -> Lark:
    """The grammar, built on first use: a process that never parses one does not pay for it at start-up."""
    return Lark(_GRAMMAR, parser="lalr")


class ConditionError(ValueError):
    """The condition does not parse; ``column`` is 1-based when known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Ref:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class Compare:
    left: Ref | Literal
    op: str
    right: Ref | Literal


@dataclass(frozen=True)
class Truthy:
    ref: Ref


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class AllOf:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    operands: tuple[Expr, ...]


Expr = Compare | Truthy | Not | AllOf | AnyOf


@v_args(inline=True)
class _ToAst(Transformer[Token, Expr]):
    def ref(self, name: Token) -> Ref:
        return Ref(str(name))

    def string(self, token: Token) -> Literal:
        return Literal(json.loads(token))

    def integer(self, token: Token) -> Literal:
        return Literal(int(token))

    def true(self) -> Literal:
        return Literal(True)

    def false(self) -> Literal:
        return Literal(False)

    def compare(self, left: Ref | Literal, op: Token, right: Ref | Literal) -> Compare:
        return Compare(left, str(op), right)

    def truthy(self, ref: Ref) -> Truthy:
        return Truthy(ref)

    def negate(self, operand: Expr) -> Not:
        return Not(operand)

    def all_of(self, *operands: Expr) -> Expr:
        return operands[0] if len(operands) == 1 else AllOf(operands)

    def any_of(self, *operands: Expr) -> Expr:
        return operands[0] if len(operands) == 1 else AnyOf(operands)


@lru_cache(maxsize=512)
def parse_condition(text: str) -> Expr:
    """The condition's syntax tree; raises :class:`ConditionError`."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise ConditionError(f"invalid condition at column {exc.column}", exc.column) from None
    except LarkError:
        raise ConditionError("invalid condition") from None
    return _ToAst().transform(tree)


def referenced_names(expr: Expr) -> list[str]:
    """Names the condition reads."""
    if isinstance(expr, Compare):
        return [side.name for side in (expr.left, expr.right) if isinstance(side, Ref)]
    if isinstance(expr, Truthy):
        return [expr.ref.name]
    if isinstance(expr, Not):
        return referenced_names(expr.operand)
    return [name for operand in expr.operands for name in referenced_names(operand)]


def compared_literals(expr: Expr) -> list[tuple[str, Any]]:
    """(name, literal) pairs of comparisons, to check literals against enum values."""
    if isinstance(expr, Compare):
        if isinstance(expr.left, Ref) and isinstance(expr.right, Literal):
            return [(expr.left.name, expr.right.value)]
        if isinstance(expr.right, Ref) and isinstance(expr.left, Literal):
            return [(expr.right.name, expr.left.value)]
        return []
    if isinstance(expr, Truthy):
        return []
    if isinstance(expr, Not):
        return compared_literals(expr.operand)
    return [pair for operand in expr.operands for pair in compared_literals(operand)]


def evaluate(expr: Expr, values: Mapping[str, Any]) -> bool:
    """The condition's truth for ``values``; a name without a value reads as null."""
    if isinstance(expr, Compare):
        left, right = _value(expr.left, values), _value(expr.right, values)
        equal = left == right and type(left) is type(right)
        return equal if expr.op == "==" else not equal
    if isinstance(expr, Truthy):
        return bool(values.get(expr.ref.name))
    if isinstance(expr, Not):
        return not evaluate(expr.operand, values)
    if isinstance(expr, AllOf):
        return all(evaluate(operand, values) for operand in expr.operands)
    return any(evaluate(operand, values) for operand in expr.operands)


def _value(side: Ref | Literal, values: Mapping[str, Any]) -> Any:
    return values.get(side.name) if isinstance(side, Ref) else side.value
