"""Injection-proof rendering of resource templates with ``{{ .name }}`` placeholders.

A template is compiled once: every placeholder is swapped for an inert token, the text is parsed as
YAML, and each scalar holding tokens becomes a :class:`Slot`. Rendering walks that parsed structure and
fills the slots with values. Values are never parsed as YAML, so a value holding newlines, ``:``,
``{{``, quotes, anchors or document markers stays one string and cannot change the document's shape.

A placeholder that is a whole plain (unquoted) scalar takes the value's type (so ``replicas: {{ .n }}``
stays an integer); anywhere else, and for every string value, the result is a string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

PLACEHOLDER = re.compile(r"\{\{-?\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_TOKEN = re.compile(r"__paved_ph_(\d+)__")
_TOKEN_MARK = "__paved_ph_"
# libyaml parses 10-15x faster than the pure-Python loader and gives the same nodes and marks.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def first_shared_node(root: yaml.Node) -> yaml.Node | None:
    """The first node reachable twice from ``root`` (a YAML alias of an anchored node), or None.

    Composing an alias shares the anchored node, so the graph stays linear in the text; anything that
    walks it as a tree expands aliases of aliases exponentially ("billion laughs"). Linear in nodes.
    """
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return node
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
    return None


class TemplateSyntaxError(ValueError):
    """The template text is not valid; ``line``/``column`` are 0-based within the template when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class MissingValues(LookupError):
    """Placeholders without a value at render time."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class Slot:
    """A scalar of the template that holds placeholders: literal text and placeholder names in order."""

    parts: tuple[str | int, ...]  # str: literal text; int: index into CompiledTemplate.names
    typed: bool  # a whole plain scalar: takes the value's own type

    def render(self, names: tuple[str, ...], values: Mapping[str, Any]) -> Any:
        if self.typed:
            value = values[names[self.parts[0]]]  # type: ignore[index]
            return value if isinstance(value, bool | int | float) else str(value)
        return "".join(part if isinstance(part, str) else _text(values[names[part]]) for part in self.parts)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class CompiledTemplate:
    """A resource template parsed once, ready to render many times."""

    documents: tuple[Any, ...]
    names: tuple[str, ...]

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(self.names)

    def literals(self) -> list[Any]:
        """The documents with each placeholder left as its text: the literal values a template fixes."""
        return [_fill_text(document, self.names) for document in self.documents]

    def render(self, values: Mapping[str, Any]) -> list[Any]:
        """The documents with every placeholder filled; raises :class:`MissingValues`."""
        missing = sorted({name for name in self.names if name not in values})
        if missing:
            raise MissingValues(missing)
        return [_fill(document, self.names, values) for document in self.documents]


def _fill(node: Any, names: tuple[str, ...], values: Mapping[str, Any]) -> Any:
    if isinstance(node, Slot):
        return node.render(names, values)
    if isinstance(node, dict):
        return {_fill(k, names, values): _fill(v, names, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(item, names, values) for item in node]
    return node


def _fill_text(node: Any, names: tuple[str, ...]) -> Any:
    if isinstance(node, Slot):
        return "".join(p if isinstance(p, str) else f"{{{{ .{names[p]} }}}}" for p in node.parts)
    if isinstance(node, dict):
        return {_fill_text(k, names): _fill_text(v, names) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_text(item, names) for item in node]
    return node


def compile_template(text: str) -> CompiledTemplate:
    """Parse ``text`` (one or more YAML documents) into a :class:`CompiledTemplate`.

    Raises :class:`TemplateSyntaxError` for template actions other than ``{{ .name }}`` and for YAML
    errors (with the position within ``text``).
    """
    if _TOKEN_MARK in text:
        raise TemplateSyntaxError(f"the text {_TOKEN_MARK!r} is reserved")
    names: list[str] = []

    def swap(match: re.Match[str]) -> str:
        placeholder = PLACEHOLDER.fullmatch(match.group(0))
        if placeholder is None:
            line = text.count("\n", 0, match.start())
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1)
            raise TemplateSyntaxError(
                f"unsupported template expression {match.group(0)[:40]!r}: only {{{{ .name }}}} placeholders "
                "are allowed",
                line,
                column,
            )
        names.append(placeholder.group(1))
        return f"{_TOKEN_MARK}{len(names) - 1}__"

    tokenised = _ACTION.sub(swap, text)
    if "{{" in tokenised or "}}" in tokenised:
        index = tokenised.find("{{") if "{{" in tokenised else tokenised.find("}}")
        line = tokenised.count("\n", 0, index)
        raise TemplateSyntaxError(
            "unbalanced '{{' or '}}'", line, index - (tokenised.rfind("\n", 0, index) + 1)
        )

    typed: set[int] = set()
    documents: list[Any] = []
    try:
        loader = SafeLoader(tokenised)
    except yaml.YAMLError as exc:  # non-printable characters are refused before parsing
        raise TemplateSyntaxError(f"invalid YAML: {exc}") from None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            shared = first_shared_node(node)
            if shared is not None:
                raise TemplateSyntaxError(
                    "YAML anchors and aliases are not allowed in templates",
                    shared.start_mark.line,
                    shared.start_mark.column,
                )
            _find_typed(node, typed)
            documents.append(_slots(loader.construct_document(node), typed))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise TemplateSyntaxError(
            f"invalid YAML: {problem}", mark.line if mark else None, mark.column if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise TemplateSyntaxError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return CompiledTemplate(tuple(d for d in documents if d is not None), tuple(names))


@lru_cache(maxsize=256)
def compiled(text: str) -> CompiledTemplate:
    """Compiled templates, shared by validation and by every render of the same template text."""
    return compile_template(text)


def _find_typed(node: yaml.Node, typed: set[int]) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.ScalarNode):
            if current.style in (None, "") and (match := _TOKEN.fullmatch(current.value)):
                typed.add(int(match.group(1)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))


def _slots(data: Any, typed: set[int]) -> Any:
    if isinstance(data, str):
        if _TOKEN_MARK not in data:
            return data
        parts: list[str | int] = []
        position = 0
        for match in _TOKEN.finditer(data):
            if match.start() > position:
                parts.append(data[position : match.start()])
            parts.append(int(match.group(1)))
            position = match.end()
        if position < len(data):
            parts.append(data[position:])
        whole = len(parts) == 1 and isinstance(parts[0], int) and parts[0] in typed
        return Slot(tuple(parts), whole)
    if isinstance(data, dict):
        return {_slots(k, set()): _slots(v, typed) for k, v in data.items()}
    if isinstance(data, list):
        return [_slots(item, typed) for item in data]
    return data
