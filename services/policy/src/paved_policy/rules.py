"""CEL for policies: compile rules and message placeholders once, evaluate them, report errors clearly.

Built on cel-expr-python, the Python binding of Google's C++ CEL implementation: it type-checks at
compile time (an undeclared variable or unknown function is refused when the policy is created, with its
line and column), keeps runtime errors as values (a missing map key is an error, never a silent false)
and converts inputs lazily, which keeps one evaluation in the low microseconds.

Rules see three variables, each a map: ``resource`` (name, type, tags, properties), ``context`` (team,
environment, requester, service, time, estimated_monthly_cost, currency, attributes) and ``params`` (the
policy's parameters).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from cel_expr_python import cel
from cel_expr_python.ext import ext_bindings, ext_math, ext_optional, ext_strings
from google.protobuf import timestamp_pb2

from paved_policy.domain import EvaluationContext, Resource
from paved_policy.fastpath import (
    Defer,
    as_fast_value,
    compile_fast,
    compile_fast_group,
    compile_fast_template,
    compile_fast_value,
)

VARIABLES = ("resource", "context", "params")
_FAST_VARIABLES = frozenset(VARIABLES)
# The batch program binds each rule's parameters from this list; user rules cannot name it because
# it is undeclared in the environment they are checked against.
_BATCH_PARAMS = "__params"
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_PROBLEM = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
_STATUS_PREFIX = re.compile(r"^[A-Z_]+: ")
_MISSING_KEY = re.compile(r'Key not found in map : "(.*)"')
_NO_OVERLOAD = re.compile(r"No matching overloads found : (.*)")
DEFAULT_CACHE_SIZE = 4096
_NO_GROUP = object()


@dataclass(frozen=True)
class CompileProblem:
    """One compiler complaint about an expression, with its 1-based position."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


class RuleCompileError(ValueError):
    """An expression that does not compile or does not yield a bool; ``problems`` say where and why."""

    def __init__(self, problems: Sequence[CompileProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


@dataclass(frozen=True)
class RuleError:
    """A rule that could not be evaluated on one input (missing key, type mismatch, bad regex, ...)."""

    message: str


RuleOutcome = bool | RuleError


@dataclass(frozen=True)
class Rule:
    """A compiled rule; ``fast`` answers the common CEL subset natively (see fastpath), None otherwise."""

    expression: str
    program: Any
    fast: Callable[[dict[str, Any]], bool] | None = None


@dataclass(frozen=True)
class Placeholder:
    """A compiled ``{expression}`` of a message, with its fast path when it has one."""

    program: Any
    fast: Callable[[dict[str, Any]], Any] | None


@dataclass(frozen=True)
class MessageTemplate:
    """A violation message with its ``{cel expression}`` placeholders compiled into ``parts``."""

    text: str
    parts: tuple[str | Placeholder, ...]
    fast: Callable[[dict[str, Any]], str] | None = None


@dataclass(frozen=True)
class RuleBatch:
    """Several rules compiled into one program that returns a list of their results, in order."""

    program: Any
    size: int


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _LruCache(Generic[K, V]):
    """A small thread-safe LRU map, so long-running servers keep a bounded number of programs."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, key: K, create: Callable[[], V]) -> V:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
                return value
        value = create()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def _extensions() -> list[Any]:
    return [
        ext_strings.ExtStrings(),
        ext_math.ExtMath(),
        ext_optional.ExtOptional(),
        ext_bindings.ExtBindings(),
    ]


def _compile_problems(error: Exception) -> list[CompileProblem]:
    text = str(error)
    problems = [
        CompileProblem(int(line), int(column), message.strip())
        for line, column, message in _PROBLEM.findall(text)
    ]
    if not problems:
        problems = [CompileProblem(1, 1, _STATUS_PREFIX.sub("", text).split("\n", 1)[0].strip())]
    return problems


def _runtime_message(raw: Any) -> str:
    text = _STATUS_PREFIX.sub("", str(raw)).strip()
    if match := _MISSING_KEY.search(text):
        return f"no such key: {match.group(1)}"
    if match := _NO_OVERLOAD.search(text):
        return f"no matching overload for {match.group(1)}"
    return text


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def resource_binding(resource: Resource) -> dict[str, Any]:
    """``resource`` as rules see it (plain dicts, which both runtimes read)."""
    tags, properties = resource.tags, resource.properties
    return {
        "name": resource.name,
        "type": resource.type,
        "tags": tags if type(tags) is dict else dict(tags),
        "properties": properties if type(properties) is dict else as_fast_value(properties),
    }


def context_binding(context: EvaluationContext) -> dict[str, Any]:
    """``context`` as rules see it; the time is a CEL timestamp."""
    return {
        "team": context.team,
        "environment": context.environment,
        "requester": context.requester,
        "service": context.service,
        "time": _timestamp(context.time),
        "estimated_monthly_cost": float(context.estimated_monthly_cost),
        "currency": context.currency,
        "attributes": context.attributes,
    }


def fast_context_binding(context: EvaluationContext) -> dict[str, Any]:
    """``context`` for the native fast path: the time stays a datetime."""
    return {
        "team": context.team,
        "environment": context.environment,
        "requester": context.requester,
        "service": context.service,
        "time": context.time,
        "estimated_monthly_cost": float(context.estimated_monthly_cost),
        "currency": context.currency,
        "attributes": as_fast_value(context.attributes),
    }


def format_value(value: Any) -> str:
    """A CEL result as a person reads it in a message: 12000.0 → 12000, lists joined by commas."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(item) for item in value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timestamp_pb2.Timestamp):
        return value.ToJsonString()
    return str(value)


class RuleEngine:
    """Compiles rules and message templates once (cached by expression and revision) and evaluates them."""

    def __init__(self, cache_size: int = DEFAULT_CACHE_SIZE, *, fast_path: bool = True) -> None:
        self._fast_path = fast_path
        string_map = cel.Type.Map(cel.Type.STRING, cel.Type.DYN)
        self._env = cel.NewEnv(variables={name: string_map for name in VARIABLES}, extensions=_extensions())
        self._batch_env = cel.NewEnv(
            variables={
                "resource": string_map,
                "context": string_map,
                _BATCH_PARAMS: cel.Type.List(string_map),
            },
            extensions=_extensions(),
        )
        self._rules: _LruCache[tuple[str, int], Rule] = _LruCache(cache_size)
        self._templates: _LruCache[str, MessageTemplate] = _LruCache(cache_size)
        self._batches: _LruCache[tuple[tuple[str, int], ...], RuleBatch] = _LruCache(cache_size)
        self._groups: _LruCache[tuple[tuple[str, int], ...], Any] = _LruCache(cache_size)

    @property
    def cached_rules(self) -> int:
        """How many compiled rules are cached (for tests and metrics)."""
        return len(self._rules)

    def _compile_expression(self, expression: str) -> Any:
        try:
            return self._env.compile(expression)
        except RuntimeError as exc:
            raise RuleCompileError(_compile_problems(exc)) from None

    def compile(self, expression: str, revision: int = 0) -> Rule:
        """The compiled rule; raises RuleCompileError when it does not compile or cannot yield a bool."""

        def build() -> Rule:
            if not expression.strip():
                raise RuleCompileError([CompileProblem(1, 1, "expression is empty")])
            program = self._compile_expression(expression)
            result_type = program.return_type()
            if result_type != cel.Type.BOOL and result_type != cel.Type.DYN:
                raise RuleCompileError(
                    [CompileProblem(1, 1, f"expression must yield a bool, not {result_type.name().lower()}")]
                )
            fast = compile_fast(expression, _FAST_VARIABLES) if self._fast_path else None
            return Rule(expression, program, fast)

        return self._rules.get_or_create((expression, revision), build)

    def compile_message(self, message: str) -> MessageTemplate:
        """The message with its ``{expression}`` placeholders compiled; raises RuleCompileError."""

        def build() -> MessageTemplate:
            parts: list[str | Placeholder] = []
            sources: list[tuple[bool, str]] = []
            position = 0
            for match in _PLACEHOLDER.finditer(message):
                parts.append(message[position : match.start()])
                sources += [(False, message[position : match.start()]), (True, match.group(1))]
                try:
                    program = self._compile_expression(match.group(1))
                    fast = compile_fast_value(match.group(1), _FAST_VARIABLES) if self._fast_path else None
                    parts.append(Placeholder(program, fast))
                except RuleCompileError as exc:
                    raise RuleCompileError(
                        [
                            CompileProblem(
                                p.line, p.column, f"in placeholder {{{match.group(1)}}}: {p.message}"
                            )
                            for p in exc.problems
                        ]
                    ) from None
                position = match.end()
            parts.append(message[position:])
            sources.append((False, message[position:]))
            fast = (
                compile_fast_template([s for s in sources if s[1]], _FAST_VARIABLES, format_value)
                if self._fast_path and len(sources) > 1
                else None
            )
            return MessageTemplate(message, tuple(part for part in parts if part != ""), fast)

        return self._templates.get_or_create(message, build)

    def compile_fast_group(
        self, rules: Sequence[tuple[str, int]]
    ) -> Callable[[dict[str, Any], list[Any]], list[tuple[int, bool | None]]] | None:
        """The fast-path rules of ``rules`` (all must have one) as one function; None when not possible."""
        if not self._fast_path or len(rules) < 2:
            return None
        key = tuple(rules)

        def build() -> Any:
            return compile_fast_group([expression for expression, _ in rules], _FAST_VARIABLES) or _NO_GROUP

        group = self._groups.get_or_create(key, build)
        return None if group is _NO_GROUP else group

    def compile_batch(self, rules: Sequence[tuple[str, int]]) -> RuleBatch:
        """One program evaluating every (expression, revision) of ``rules`` on one resource, in order."""
        key = tuple(rules)

        def build() -> RuleBatch:
            elements = ", ".join(
                f"cel.bind(params, {_BATCH_PARAMS}[{index}], ({expression}))"
                for index, (expression, _) in enumerate(rules)
            )
            return RuleBatch(self._batch_env.compile(f"[{elements}]"), len(rules))

        return self._batches.get_or_create(key, build)

    @staticmethod
    def evaluate(rule: Rule, bindings: Mapping[str, Any]) -> RuleOutcome:
        """True when the resource complies, False when it does not, RuleError when the rule cannot tell."""
        try:
            value = rule.program.eval(data=bindings)
        except Exception as exc:  # a value the runtime cannot convert is the rule's error, not ours
            return RuleError(_runtime_message(exc))
        kind = value.type()
        if kind == cel.Type.BOOL:
            return bool(value.value())
        if kind == cel.Type.ERROR:
            return RuleError(_runtime_message(value.value()))
        return RuleError(f"rule yielded {kind.name().lower()}, not bool")

    @staticmethod
    def evaluate_batch(
        batch: RuleBatch, resource: Mapping[str, Any], context: Mapping[str, Any], params: Sequence[Any]
    ) -> list[bool] | None:
        """Every rule's result when all yield a bool; None when any errs (then evaluate one by one)."""
        try:
            value = batch.program.eval(data={"resource": resource, "context": context, _BATCH_PARAMS: params})
        except Exception:
            return None
        if value.type() == cel.Type.ERROR:
            return None
        results = value.plain_value()
        if not all(type(result) is bool for result in results):
            return None
        return results

    @staticmethod
    def render(
        template: MessageTemplate, bindings: Mapping[str, Any], fast_bindings: dict[str, Any] | None = None
    ) -> str:
        """The message with placeholders replaced; one that errs renders as ``<error: why>``."""
        if template.fast is not None and fast_bindings is not None:
            try:
                return template.fast(fast_bindings)
            except Defer:
                pass
        rendered: list[str] = []
        for part in template.parts:
            if isinstance(part, str):
                rendered.append(part)
                continue
            if part.fast is not None and fast_bindings is not None:
                try:
                    rendered.append(format_value(part.fast(fast_bindings)))
                    continue
                except Defer:
                    pass
            try:
                value = part.program.eval(data=bindings)
            except Exception as exc:
                rendered.append(f"<error: {_runtime_message(exc)}>")
                continue
            if value.type() == cel.Type.ERROR:
                rendered.append(f"<error: {_runtime_message(value.value())}>")
            else:
                rendered.append(format_value(value.plain_value()))
        return "".join(rendered)
