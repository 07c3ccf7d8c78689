"""A native fast path for the common subset of CEL: rules translated into Python functions.

Calling the C++ CEL runtime from Python costs microseconds per variable access (every access converts
Python values), which caps audits far below what plain Python reaches. Most policy rules use a small,
well-defined subset of CEL (field selection, has(), comparisons, `in`, logic, string predicates, list
macros), so the rule engine translates that subset into Python source with CEL's semantics, compiled once.

The fast path only ever answers when it is certain CEL would answer the same; anything else (an error,
an unexpected type, an overflow) raises Defer, and the caller asks the C++ runtime, which stays the
reference for every result and every error message. Expressions using anything outside the subset get
no fast path at all. Differential tests compare both runtimes on random inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paved_policy.fastpath_runtime import HELPERS, Defer
from paved_policy.fastpath_translate import translate_body

__all__ = [
    "Defer",
    "Env",
    "as_fast_value",
    "compile_fast",
    "compile_fast_group",
    "compile_fast_template",
    "compile_fast_value",
]

Env = dict[str, Any]


def _prologue(used: Mapping[tuple[str, ...], str], indent: str) -> list[str]:
    """Statements reading each trusted path once into its local, parents first."""
    lines = []
    for path, name in sorted(used.items(), key=lambda item: len(item[0])):
        source = f"env[{path[0]!r}]" if len(path) == 1 else f"{used[path[:-1]]}[{path[-1]!r}]"
        lines.append(f"{indent}{name} = {source}")
    return lines


def _define(source: str, name: str, constants: dict[str, Any], label: str) -> Callable[..., Any] | None:
    namespace: dict[str, Any] = {**HELPERS, **constants}
    try:
        exec(compile(source, f"<cel fast path: {label[:60]}>", "exec"), namespace)
    except (SyntaxError, RecursionError, MemoryError):
        return None
    function: Callable[..., Any] = namespace[name]
    return function


def _translate(expression: str, variables: frozenset[str], *, boolean: bool) -> Callable[[Env], Any] | None:
    translated = translate_body(expression, variables, boolean=boolean)
    if translated is None:
        return None
    translator, value = translated
    body = "\n".join([*_prologue(translator.used, "        "), *translator.lines])
    source = (
        "def rule(env):\n"
        "    try:\n"
        f"{body}\n"
        f"        return {value}\n"
        "    except Defer:\n"
        "        raise\n"
        "    except Exception:\n"
        # Anything the subset did not foresee (a key or type error) is the runtime's to judge.
        "        raise _D from None\n"
    )
    return _define(source, "rule", translator.constants, expression)


def compile_fast_group(
    expressions: list[str], variables: frozenset[str]
) -> Callable[[Env, list[Any]], list[tuple[int, bool | None]]] | None:
    """One function running several bool rules in turn on one environment (saving a call and a dict
    update per rule). ``group(env, params_list)`` returns (index, False) for each rule that fails and
    (index, None) for each the fast path cannot answer; rules that pass are not listed. Every expression
    must be within the subset (see compile_fast), else None.
    """
    blocks: list[str] = []
    constants: dict[str, Any] = {}
    shared: dict[tuple[str, ...], str] = {}
    for index, expression in enumerate(expressions):
        translated = translate_body(expression, variables, boolean=True, prefix=f"g{index}_")
        if translated is None:
            return None
        translator, value = translated
        constants.update(translator.constants)
        for path, name in translator.used.items():
            if path != ("params",):
                shared[path] = name
        block = [
            f"    v_params = params[{index}]",
            "    try:",
            *translator.lines,
            f"        if {value} is not True: failed.append(({index}, False))",
            "    except Exception:",
            f"        failed.append(({index}, None))",
        ]
        blocks.append("\n".join(block))
    prologue = _prologue(shared, "    ")
    source = (
        "def group(env, params):\n    failed = []\n"
        + "\n".join([*prologue, *blocks])
        + "\n    return failed\n"
    )
    return _define(source, "group", constants, " & ".join(expressions))


def compile_fast_template(
    parts: list[tuple[bool, str]], variables: frozenset[str], formatter: Callable[[Any], str]
) -> Callable[[Env], str] | None:
    """A message as one function: ``parts`` are (is_expression, text); expressions are formatted with
    ``formatter``. Raises Defer when any placeholder cannot be answered; None outside the subset."""
    lines: list[str] = []
    constants: dict[str, Any] = {"_fmt": formatter}
    pieces: list[str] = []
    prologue: dict[tuple[str, ...], str] = {}
    for index, (is_expression, text) in enumerate(parts):
        if not is_expression:
            pieces.append(repr(text))
            continue
        translated = translate_body(text, variables, boolean=False, prefix=f"m{index}_")
        if translated is None:
            return None
        translator, value = translated
        constants.update(translator.constants)
        prologue.update(translator.used)
        lines += translator.lines
        lines.append(f"        p{index} = _fmt({value})")
        pieces.append(f"p{index}")
    head = _prologue(prologue, "        ")
    body = "\n".join([*head, *lines]) or "        pass"
    source = (
        "def render(env):\n"
        "    try:\n"
        f"{body}\n"
        "    except Exception:\n"
        "        raise _D from None\n"
        f"    return ''.join(({', '.join(pieces)},))\n"
    )
    return _define(source, "render", constants, "message")


def compile_fast(expression: str, variables: frozenset[str]) -> Callable[[Env], bool] | None:
    """A function answering a bool rule for an environment (or raising Defer), or None outside the subset."""
    return _translate(expression, variables, boolean=True)


def compile_fast_value(expression: str, variables: frozenset[str]) -> Callable[[Env], Any] | None:
    """Like compile_fast for any value (message placeholders)."""
    return _translate(expression, variables, boolean=False)


def as_fast_value(value: Any) -> Any:
    """Values as the fast path reads them: mappings become dicts, tuples lists (recursively)."""
    if isinstance(value, Mapping):
        return {k: as_fast_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_fast_value(v) for v in value]
    return value
