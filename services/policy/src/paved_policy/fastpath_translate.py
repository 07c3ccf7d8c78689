"""Translation of the fast path's CEL subset into Python statements: the parse tree walked node by node,
with CEL's semantics spelled out and every doubtful case left to the runtime (raise _D)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import re2
from celpy.celparser import CELParseError, CELParser
from lark import Token, Tree

from paved_policy.cel_grammar import cel_parser
from paved_policy.fastpath_runtime import Defer, int64

_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_PASS_THROUGH = frozenset(
    {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication", "unary", "member"}
)
_RELATIONS = {
    "relation_lt": "_lt",
    "relation_le": "_le",
    "relation_gt": "_gt",
    "relation_ge": "_ge",
}
_PARSER: CELParser | None = None
# Bindings the rule engine always builds as dicts (see rules.resource_binding and context bindings).
TRUSTED_PATHS: tuple[tuple[str, ...], ...] = (
    ("resource",),
    ("resource", "tags"),
    ("resource", "properties"),
    ("context",),
    ("params",),
)
# Patterns made only of literals, classes, groups, alternation, anchors and counted repetition (no escapes,
# no `(?` extensions, no `{,n}`) mean the same in Python's re and in RE2.
_PLAIN_PATTERN = re.compile(r"^(?!.*\(\?)(?!.*\{,)[A-Za-z0-9 _\-.^$\[\]{}(),|*+?:/@=]*$")


class Unsupported(Exception):
    """The expression uses something outside the fast path's subset."""


def _parser() -> CELParser:
    global _PARSER
    if _PARSER is None:
        _PARSER = cel_parser()
    return _PARSER


def _token(node: Tree | Token) -> Token:
    if not isinstance(node, Token):
        raise Unsupported("expected a token")
    return node


def _tree(node: Tree | Token) -> Tree:
    if not isinstance(node, Tree):
        raise Unsupported("unexpected token")
    return node


def _unwrap(node: Tree | Token) -> Tree:
    """The meaningful node under a chain of one-child precedence levels."""
    tree = _tree(node)
    while (tree.data in _PASS_THROUGH and len(tree.children) == 1) or tree.data in ("primary", "paren_expr"):
        tree = _tree(tree.children[0])
    return tree


def _path(node: Tree | Token) -> tuple[str, ...] | None:
    """``a.b.c`` as ("a", "b", "c"), or None when the node is not a plain selection chain."""
    tree = _unwrap(node)
    if tree.data == "ident":
        return (str(_token(tree.children[0])),)
    if tree.data == "member_dot":
        inner = _path(tree.children[0])
        return None if inner is None else (*inner, str(_token(tree.children[1])))
    return None


def _literal_value(token: Token) -> Any:
    text, kind = str(token), token.type
    if kind == "BOOL_LIT":
        return text == "true"
    if kind == "NULL_LIT":
        return None
    if kind == "INT_LIT":
        if "x" in text.lower():
            raise Unsupported("hex literal")
        return int64(int(text))
    if kind == "FLOAT_LIT":
        return float(text)
    if kind == "STRING_LIT":
        if text[0] in "rR" or "\\" in text:
            raise Unsupported("string escapes")
        return text[1:-1]
    raise Unsupported(f"literal {kind}")


def _regex_search(pattern: str) -> Callable[[str], Any]:
    """RE2 search (CEL's regex engine), or Python's re for plain patterns where both agree (much faster)."""
    try:
        re2.compile(pattern)
    except re2.error:
        raise Unsupported("invalid regular expression") from None
    if _PLAIN_PATTERN.match(pattern):
        try:
            return re.compile(pattern).search
        except re.error:
            pass
    return re2.compile(pattern).search


def _is_string_literal(code: str) -> bool:
    return code[:1] in ("'", '"')


class Translator:
    """Writes Python statements for a parse tree; ``emit`` returns a Python expression for a node's value.

    Generated code raises on anything CEL would not answer the same way; the wrapper turns every such
    exception into Defer. Only fixed helper names, generated temporaries and repr()-quoted literals and
    field names reach the source (user identifiers are mapped, never spliced), so a rule cannot inject code.
    """

    def __init__(self, variables: frozenset[str], prefix: str = "") -> None:
        self.prefix = prefix
        self.variables = variables
        self.lines: list[str] = []
        self.names = itertools.count()
        self.constants: dict[str, Any] = {}
        # Expressions known to yield a bool need no check.
        self.known_bool: set[str] = set()
        # Maps the caller guarantees (the variables, resource.tags, resource.properties) are read once,
        # into locals, with no type checks.
        self.trusted: dict[tuple[str, ...], str] = {
            path: f"v_{'_'.join(path)}" for path in TRUSTED_PATHS if path[0] in variables
        }
        self.used: dict[tuple[str, ...], str] = {}

    def use_trusted(self, path: tuple[str, ...]) -> str:
        if path not in self.used:
            for length in range(1, len(path)):
                self.use_trusted(path[:length])
            self.used[path] = self.trusted[path]
        return self.used[path]

    def known(self, code: str) -> str:
        self.known_bool.add(code)
        return code

    def temp(self) -> str:
        return f"t{next(self.names)}"

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def store(self, value: str, indent: int) -> str:
        if value.isidentifier() or _is_string_literal(value):
            return value
        name = self.temp()
        self.line(indent, f"{name} = {value}")
        return name

    def require(self, name: str, kinds: str, indent: int) -> None:
        if name in self.used.values() and kinds == "dict":
            return
        if _is_string_literal(name) and kinds == "str":
            return
        self.line(indent, f"if type({name}) is not {kinds}: raise _D")

    def emit(self, node: Tree | Token, scope: dict[str, str], indent: int) -> str:
        tree = _unwrap(node)
        method = getattr(self, f"_{tree.data}", None)
        if method is None:
            raise Unsupported(str(tree.data))
        return method(tree, scope, indent)

    def boolean(self, node: Tree | Token, scope: dict[str, str], indent: int) -> str:
        value = self.emit(node, scope, indent)
        known = value in self.known_bool
        name = self.store(value, indent)
        if not known and name not in ("True", "False"):
            self.require(name, "bool", indent)
        return name

    def _literal(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        return repr(_literal_value(_token(tree.children[0])))

    def _ident(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        name = str(_token(tree.children[0]))
        if name in scope:
            return scope[name]
        if name not in self.variables:
            raise Unsupported(f"identifier {name}")
        if (name,) in self.trusted:
            return self.use_trusted((name,))
        return f"env[{name!r}]"

    def _member_dot(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        path = _path(tree)
        if path is not None and path[0] not in scope and path in self.trusted:
            return self.use_trusted(path)
        target = self.store(self.emit(tree.children[0], scope, indent), indent)
        field = str(_token(tree.children[1]))
        # Only maps have fields here; a missing key raises KeyError, which defers.
        self.require(target, "dict", indent)
        return f"{target}[{field!r}]"

    def _member_index(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        target = self.store(self.emit(tree.children[0], scope, indent), indent)
        key = self.store(self.emit(tree.children[1], scope, indent), indent)
        # The common case, a map read with a string key, inlined; a missing key raises KeyError.
        if target in self.used.values():
            return f"({target}[{key}] if type({key}) is str else _index({target}, {key}))"
        return (
            f"({target}[{key}] if type({target}) is dict and type({key}) is str else _index({target}, {key}))"
        )

    def _list_lit(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        if not tree.children:
            return "[]"
        items = [self.emit(child, scope, indent) for child in _tree(tree.children[0]).children]
        return f"[{', '.join(items)}]"

    def _unary(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        operator, operand = tree.children
        if _tree(operator).data == "unary_not":
            return self.known(f"(not {self.boolean(operand, scope, indent)})")
        return f"_neg({self.emit(operand, scope, indent)})"

    def _relation(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        operator = _tree(tree.children[0])
        left = self.store(self.emit(operator.children[0], scope, indent), indent)
        right = self.store(self.emit(tree.children[1], scope, indent), indent)
        kind = operator.data
        if kind in ("relation_eq", "relation_ne"):
            negate = "not " if kind == "relation_ne" else ""
            if right in ("True", "False"):
                inline = f"{left} is {right} if type({left}) is bool else _eq({left}, {right})"
                return self.known(f"({negate}({inline}))")
            if _is_string_literal(right):  # comparing with a string literal: the common case, inlined
                return self.known(
                    f"({negate}({left} == {right} if type({left}) is str else _eq({left}, {right})))"
                )
            inline = (
                f"{left} == {right} if type({left}) is str and type({right}) is str else _eq({left}, {right})"
            )
            return self.known(f"({negate}({inline}))")
        if kind == "relation_in":
            return self.known(f"_in({left}, {right})")
        return self.known(f"{_RELATIONS[kind]}({left}, {right})")

    def _addition(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        operator = _tree(tree.children[0])
        left = self.emit(operator.children[0], scope, indent)
        right = self.emit(tree.children[1], scope, indent)
        helper = "_sub" if operator.data == "addition_sub" else "_add"
        return f"{helper}({left}, {right})"

    def _multiplication(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        operator = _tree(tree.children[0])
        if operator.data != "multiplication_mul":
            raise Unsupported("division and modulo")
        left = self.emit(operator.children[0], scope, indent)
        right = self.emit(tree.children[1], scope, indent)
        return f"_mul({left}, {right})"

    def _logic(self, tree: Tree, scope: dict[str, str], indent: int, *, conjunction: bool) -> str:
        # CEL's && and || are commutative over errors: a decisive side wins even if the other errs.
        decisive = "False" if conjunction else "True"
        left, result = self.temp(), self.temp()
        self.line(indent, "try:")
        value = self.boolean(tree.children[0], scope, indent + 1)
        self.line(indent + 1, f"{left} = {value}")
        self.line(indent, "except Exception:")
        self.line(indent + 1, f"{left} = None")
        self.line(indent, f"if {left} is {decisive}:")
        self.line(indent + 1, f"{result} = {decisive}")
        self.line(indent, "else:")
        right = self.boolean(tree.children[1], scope, indent + 1)
        self.line(indent + 1, f"if {left} is None and {right} is not {decisive}: raise _D")
        self.line(indent + 1, f"{result} = {right}")
        return self.known(result)

    def _conditionaland(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        return self._logic(tree, scope, indent, conjunction=True)

    def _conditionalor(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        return self._logic(tree, scope, indent, conjunction=False)

    def _expr(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        condition = self.boolean(tree.children[0], scope, indent)
        result = self.temp()
        self.line(indent, f"if {condition}:")
        self.line(indent + 1, f"{result} = {self.emit(tree.children[1], scope, indent + 1)}")
        self.line(indent, "else:")
        self.line(indent + 1, f"{result} = {self.emit(tree.children[2], scope, indent + 1)}")
        return result

    def _arguments(self, node: Tree | Token | None) -> list[Tree | Token]:
        if node is None:
            return []
        tree = _tree(node)
        if tree.data != "exprlist":
            raise Unsupported("arguments")
        return list(tree.children)

    def _ident_arg(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        name = str(_token(tree.children[0]))
        arguments = self._arguments(tree.children[1] if len(tree.children) > 1 else None)
        if len(arguments) != 1:
            raise Unsupported(f"{name}() with {len(arguments)} arguments")
        if name == "has":
            selection = _unwrap(arguments[0])
            if selection.data != "member_dot":
                raise Unsupported("has() of a non-selection")
            target = self.store(self.emit(selection.children[0], scope, indent), indent)
            self.require(target, "dict", indent)
            return self.known(f"({str(_token(selection.children[1]))!r} in {target})")
        if name == "double":
            value = self.store(self.emit(arguments[0], scope, indent), indent)
            return f"({value} if type({value}) is float else _to_double({value}))"
        helper = {"size": "_size", "int": "_to_int", "dyn": ""}.get(name)
        if helper is None:
            raise Unsupported(f"function {name}")
        return f"{helper}({self.emit(arguments[0], scope, indent)})"

    def _member_dot_arg(self, tree: Tree, scope: dict[str, str], indent: int) -> str:
        method = str(_token(tree.children[1]))
        arguments = self._arguments(tree.children[2] if len(tree.children) > 2 else None)
        if method in _MACROS:
            return self._macro(method, tree.children[0], arguments, scope, indent)
        target = self.store(self.emit(tree.children[0], scope, indent), indent)
        if method == "size" and not arguments:
            return f"_size({target})"
        if method in ("lowerAscii", "upperAscii") and not arguments:
            change = "upper" if method == "upperAscii" else "lower"
            fallback = f"_case({target}, {method == 'upperAscii'})"
            return f"({target}.{change}() if type({target}) is str and {target}.isascii() else {fallback})"
        if method == "join" and len(arguments) <= 1:
            glue = self.emit(arguments[0], scope, indent) if arguments else "''"
            return f"_join({target}, {glue})"
        if len(arguments) != 1:
            raise Unsupported(f"method {method}")
        self.require(target, "str", indent)
        if method == "matches":
            literal = _unwrap(arguments[0])
            if (
                literal.data != "literal"
                or type(pattern := _literal_value(_token(literal.children[0]))) is not str
            ):
                raise Unsupported("a regular expression that is not a string literal")
            name = f"_re{self.prefix}{len(self.constants)}"
            self.constants[name] = _regex_search(pattern)
            if _PLAIN_PATTERN.match(pattern):
                # Python's re agrees with RE2 on these patterns except where `$` meets a final newline.
                self.line(indent, f"if '\\n' in {target}: raise _D")
            return self.known(f"({name}({target}) is not None)")
        python = {"startsWith": "startswith", "endsWith": "endswith", "contains": "__contains__"}.get(method)
        if python is None:
            raise Unsupported(f"method {method}")
        argument = self.store(self.emit(arguments[0], scope, indent), indent)
        self.require(argument, "str", indent)
        return self.known(f"{target}.{python}({argument})")

    def _macro(
        self,
        name: str,
        target_tree: Tree | Token,
        arguments: list[Tree | Token],
        scope: dict[str, str],
        indent: int,
    ) -> str:
        if len(arguments) != 2:
            raise Unsupported(f"{name} with other than two arguments")
        variable_tree = _unwrap(arguments[0])
        if variable_tree.data != "ident":
            raise Unsupported("macro variable")
        items = self.temp()
        self.line(indent, f"{items} = _iterable({self.emit(target_tree, scope, indent)})")
        element, result = self.temp(), self.temp()
        inner = {**scope, str(_token(variable_tree.children[0])): element}
        body = arguments[1]
        if name in ("map", "filter"):
            self.line(indent, f"{result} = []")
            self.line(indent, f"for {element} in {items}:")
            if name == "map":
                self.line(indent + 1, f"{result}.append({self.emit(body, inner, indent + 1)})")
            else:
                kept = self.boolean(body, inner, indent + 1)
                self.line(indent + 1, f"if {kept}: {result}.append({element})")
            return result
        if name == "exists_one":
            self.line(indent, f"{result} = 0")
            self.line(indent, f"for {element} in {items}:")
            value = self.boolean(body, inner, indent + 1)
            self.line(indent + 1, f"if {value}: {result} += 1")
            return self.known(f"({result} == 1)")
        # all/exists: like && and ||, a decisive element wins over an error elsewhere.
        decisive = "True" if name == "exists" else "False"
        erred = self.temp()
        self.line(indent, f"{result} = {'False' if decisive == 'True' else 'True'}")
        self.line(indent, f"{erred} = False")
        self.line(indent, f"for {element} in {items}:")
        self.line(indent + 1, "try:")
        value = self.boolean(body, inner, indent + 2)
        self.line(indent + 1, "except Exception:")
        self.line(indent + 2, f"{erred} = True")
        self.line(indent + 2, "continue")
        self.line(indent + 1, f"if {value} is {decisive}:")
        self.line(indent + 2, f"{result} = {decisive}")
        self.line(indent + 2, "break")
        self.line(indent, f"if {erred} and {result} is not {decisive}: raise _D")
        return self.known(result)


def translate_body(
    expression: str, variables: frozenset[str], *, boolean: bool, prefix: str = ""
) -> tuple[Translator, str] | None:
    """The translator holding the statements for ``expression`` and the Python expression of its value."""
    try:
        tree = _parser().parse(expression)
        translator = Translator(variables, prefix)
        value = translator.store(translator.emit(tree, {}, 2), 2)
        if boolean and value not in ("True", "False"):
            translator.require(value, "bool", 2)
    except (CELParseError, Unsupported, RecursionError, ValueError, Defer):
        return None
    return translator, value
