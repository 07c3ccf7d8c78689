"""Parsing and validating ServiceTemplate documents, reporting every problem with its path and position.

The shape is the platform's ``ServiceTemplate`` (``apiVersion: platform.dev/v1``): ``metadata`` (name,
description), ``spec.parameters`` (typed), ``spec.resources`` (templates with ``{{ .name }}``
placeholders and conditions; observability may be ``automatic`` with ``includes``) and ``spec.workflows``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from paved_catalog import conditions
from paved_catalog.kubernetes_decoding import has_float, integer_decode_errors
from paved_catalog.parameters import check_value
from paved_catalog.patterns import PatternError, compile_pattern
from paved_catalog.placeholders import SafeLoader, TemplateSyntaxError, compiled, first_shared_node
from paved_catalog.render_context import CONTEXT_KEYS, is_dns_label
from paved_catalog.spec import (
    OBSERVABILITY_SIGNALS,
    PARAMETER_TYPES,
    ParameterSpec,
    ParameterType,
    ResourceSpec,
    TemplateSpec,
    WorkflowSpec,
)

API_VERSION = "platform.dev/v1"
KIND = "ServiceTemplate"
MAX_DOCUMENT_CHARS = 256 * 1024
KUBERNETES_TYPES = frozenset({"compute", "networking"})

_PARAMETER_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_STEP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

_TOP_KEYS = ("apiVersion", "kind", "metadata", "spec")
_METADATA_KEYS = ("name", "description", "title", "tags")
_SPEC_KEYS = ("parameters", "resources", "workflows")
_PARAMETER_KEYS = ("name", "type", "required", "default", "values", "pattern", "min", "max", "description")
_RESOURCE_KEYS = ("name", "type", "template", "condition", "automatic", "includes")
_WORKFLOW_KEYS = ("name", "steps")
#: Resource types whose template may be only comments: the platform's managed data store of that type.
MANAGED_TYPES = frozenset({"database", "storage"})


@dataclass(frozen=True)
class DocumentViolation:
    """One problem in a document: a path such as ``spec.parameters[2].values``, and a 1-based position."""

    path: str
    message: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class ParsedDocument:
    """The outcome of parsing: the spec when there were no violations."""

    spec: TemplateSpec | None
    violations: tuple[DocumentViolation, ...]

    @property
    def valid(self) -> bool:
        return self.spec is not None and not self.violations


def parse_template_document(text: str) -> ParsedDocument:
    """Parse and validate a ServiceTemplate document; every problem is reported, not just the first."""
    if len(text) > MAX_DOCUMENT_CHARS:
        return _fail(DocumentViolation("", f"document is larger than {MAX_DOCUMENT_CHARS} characters"))
    if not text.strip():
        return _fail(DocumentViolation("", "document is empty"))
    try:
        # The reader refuses NUL, U+FFFF and other non-printable characters before parsing.
        loader = SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        return _fail(_unprintable(exc))
    try:
        node = loader.get_single_node()
        shared = first_shared_node(node) if node is not None else None
        if shared is not None:
            # Composing shares an aliased node (linear); walking the document would expand it.
            return _fail(
                DocumentViolation(
                    "",
                    "YAML anchors and aliases are not allowed in template documents",
                    shared.start_mark.line + 1,
                    shared.start_mark.column + 1,
                )
            )
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        return _fail(_unprintable(exc))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return _fail(
            DocumentViolation(
                "",
                "YAML syntax error: "
                + (" ".join(filter(None, (exc.context, exc.problem))) or "invalid document"),
                mark.line + 1 if mark else 0,
                mark.column + 1 if mark else 0,
            )
        )
    except yaml.YAMLError as exc:
        return _fail(DocumentViolation("", f"YAML error: {type(exc).__name__}"))
    finally:
        loader.dispose()
    if node is None:
        return _fail(DocumentViolation("", "document is empty"))
    validator = _Validator(text, node)
    spec = validator.validate(data)
    violations = tuple(validator.violations)
    return ParsedDocument(None if violations else spec, violations)


def _unprintable(exc: yaml.reader.ReaderError) -> DocumentViolation:
    character = exc.character if isinstance(exc.character, int) else 0
    return DocumentViolation(
        "", f"document contains the non-printable character U+{character:04X} at character {exc.position + 1}"
    )


def _fail(violation: DocumentViolation) -> ParsedDocument:
    return ParsedDocument(None, (violation,))


class _Validator:
    def __init__(self, text: str, root: yaml.Node) -> None:
        self.lines = text.splitlines()
        self.violations: list[DocumentViolation] = []
        self.value_marks: dict[str, yaml.Mark] = {}
        self.key_marks: dict[str, yaml.Mark] = {}
        self.nodes: dict[str, yaml.Node] = {}
        # Names of parameters that were declared, valid or not, so one bad parameter does not also
        # make every placeholder using it "unknown".
        self.declared: set[str] = set()
        self._index(root, "")

    # -- positions -------------------------------------------------------------------------------

    def _index(self, node: yaml.Node, path: str) -> None:
        self.value_marks[path] = node.start_mark
        self.nodes[path] = node
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                child = f"{path}.{name}" if path else name
                if name in seen:
                    self._add_at(child, "duplicate key", key.start_mark)
                seen.add(name)
                self.key_marks[child] = key.start_mark
                self._index(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, f"{path}[{i}]")

    def _mark(self, path: str, key: bool) -> yaml.Mark | None:
        if key and path in self.key_marks:
            return self.key_marks[path]
        while path:
            if path in self.value_marks:
                return self.value_marks[path]
            path = path.rsplit(".", 1)[0] if "." in path else path.rsplit("[", 1)[0] if "[" in path else ""
        return self.value_marks.get("")

    def _add_at(self, path: str, message: str, mark: yaml.Mark | None) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        self.violations.append(DocumentViolation(path, message, line, column))

    def add(self, path: str, message: str, *, key: bool = False) -> None:
        self._add_at(path, message, self._mark(path, key))

    def unknown_keys(self, data: dict[Any, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                child = f"{path}.{key}" if path else str(key)
                self.add(child, f"unknown field; expected one of: {', '.join(allowed)}", key=True)

    def require(self, data: dict[Any, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
        child = f"{path}.{key}" if path else key
        if key not in data or data[key] is None:
            self.add(child, "required")
            return None
        value = data[key]
        if not _is_a(value, kind):
            self.add(child, f"must be {_describe(kind)}")
            return None
        return value

    def optional(self, data: dict[Any, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
        if key not in data or data[key] is None:
            return None
        return self.require(data, key, kind, path)

    # -- the document ----------------------------------------------------------------------------

    def validate(self, data: Any) -> TemplateSpec | None:
        if not isinstance(data, dict):
            self.add("", "document must be a mapping with apiVersion, kind, metadata and spec")
            return None
        self.unknown_keys(data, _TOP_KEYS, "")
        api_version = self.require(data, "apiVersion", str, "")
        if api_version is not None and api_version != API_VERSION:
            self.add("apiVersion", f"must be {API_VERSION}")
        kind = self.require(data, "kind", str, "")
        if kind is not None and kind != KIND:
            self.add("kind", f"must be {KIND}")
        metadata = self.require(data, "metadata", dict, "") or {}
        name, description, title, tags = self.metadata(metadata)
        spec = self.require(data, "spec", dict, "") or {}
        self.unknown_keys(spec, _SPEC_KEYS, "spec")
        parameters = self.parameters(spec)
        resources = self.resources(spec, parameters)
        workflows = self.workflows(spec)
        if self.violations or name is None:
            return None
        return TemplateSpec(name, description, parameters, resources, workflows, title, tags)

    def metadata(self, metadata: dict[Any, Any]) -> tuple[str | None, str, str, tuple[str, ...]]:
        self.unknown_keys(metadata, _METADATA_KEYS, "metadata")
        name = self.require(metadata, "name", str, "metadata")
        if name is not None and not is_dns_label(name):
            self.add(
                "metadata.name",
                "must be a DNS-1123 label: lowercase letters, digits and '-', starting with a letter, "
                "at most 63 characters",
            )
            name = None
        description = self.optional(metadata, "description", str, "metadata") or ""
        title = self.optional(metadata, "title", str, "metadata") or ""
        tags = self.optional(metadata, "tags", list, "metadata") or []
        for i, tag in enumerate(tags):
            if not isinstance(tag, str) or not re.fullmatch(r"[a-z0-9:+#]+(-[a-z0-9:+#]+)*", tag):
                self.add(f"metadata.tags[{i}]", "must be lowercase letters, digits and '-' (a Backstage tag)")
        return name, description, title, tuple(t for t in tags if isinstance(t, str))

    # -- parameters --------------------------------------------------------------------------------

    def parameters(self, spec: dict[Any, Any]) -> tuple[ParameterSpec, ...]:
        items = self.optional(spec, "parameters", list, "spec") or []
        result: list[ParameterSpec] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            path = f"spec.parameters[{i}]"
            if not isinstance(item, dict):
                self.add(path, "must be a mapping with name and type")
                continue
            parameter = self.parameter(item, path)
            if parameter is None:
                continue
            if parameter.name in seen:
                self.add(f"{path}.name", f"duplicate parameter {parameter.name!r}")
                continue
            seen.add(parameter.name)
            result.append(parameter)
        return tuple(result)

    def parameter(self, item: dict[Any, Any], path: str) -> ParameterSpec | None:
        self.unknown_keys(item, _PARAMETER_KEYS, path)
        name = self.require(item, "name", str, path)
        if name is not None and not _PARAMETER_NAME.match(name):
            self.add(
                f"{path}.name", "must be lowercase letters, digits and '_', starting with a letter or '_'"
            )
            name = None
        if name is not None:
            self.declared.add(name)
        ptype = self.require(item, "type", str, path)
        if ptype is not None and ptype not in PARAMETER_TYPES:
            self.add(f"{path}.type", f"must be one of: {', '.join(PARAMETER_TYPES)}")
            ptype = None
        required = self.optional(item, "required", bool, path) or False
        description = self.optional(item, "description", str, path) or ""
        ok = True

        values: list[str] = []
        if ptype == "enum":
            raw_values = self.require(item, "values", list, path)
            if raw_values is None:
                ok = False
                if "values" not in item:
                    self.violations[-1] = DocumentViolation(
                        f"{path}.values", "required for enum", *self._position(path)
                    )
            else:
                if not raw_values:
                    self.add(f"{path}.values", "must list at least one value")
                    ok = False
                for j, value in enumerate(raw_values):
                    if not isinstance(value, str):
                        self.add(f"{path}.values[{j}]", "must be a string")
                        ok = False
                    elif value in values:
                        self.add(f"{path}.values[{j}]", f"duplicate value {value!r}")
                        ok = False
                    else:
                        values.append(value)
        elif "values" in item and ptype is not None:
            self.add(f"{path}.values", "only allowed for enum")
            ok = False

        pattern = ""
        if "pattern" in item:
            if ptype not in ("string", None):
                self.add(f"{path}.pattern", "only allowed for string")
                ok = False
            else:
                pattern = self.require(item, "pattern", str, path) or ""
                try:
                    compile_pattern(pattern)
                except PatternError as exc:
                    self.add(f"{path}.pattern", f"invalid regular expression (RE2 syntax): {exc}")
                    ok = False

        bounds: dict[str, int | None] = {"min": None, "max": None}
        for bound in ("min", "max"):
            if bound not in item:
                continue
            if ptype not in ("int", None):
                self.add(f"{path}.{bound}", "only allowed for int")
                ok = False
                continue
            value = item[bound]
            if not isinstance(value, int) or isinstance(value, bool):
                self.add(f"{path}.{bound}", "must be an integer")
                ok = False
            else:
                bounds[bound] = value
        low, high = bounds["min"], bounds["max"]
        if low is not None and high is not None and low > high:
            self.add(f"{path}.min", "must not be greater than max")
            ok = False

        default = item.get("default")
        if default is not None and ptype is not None and ok:
            problem = check_value(ptype, default, values, pattern, low, high)
            if problem:
                self.add(f"{path}.default", problem)
                ok = False
        if name is None or ptype is None or not ok:
            return None
        typed: ParameterType = ptype
        return ParameterSpec(
            name, typed, required, default, tuple(values), pattern, low, high, description.strip()
        )

    def _position(self, path: str) -> tuple[int, int]:
        mark = self._mark(path, False)
        return (mark.line + 1, mark.column + 1) if mark else (0, 0)

    # -- resources ---------------------------------------------------------------------------------

    def resources(
        self, spec: dict[Any, Any], parameters: tuple[ParameterSpec, ...]
    ) -> tuple[ResourceSpec, ...]:
        items = self.require(spec, "resources", list, "spec")
        if items is None:
            return ()
        if not items:
            self.add("spec.resources", "must list at least one resource")
        known = {p.name for p in parameters} | self.declared | set(CONTEXT_KEYS)
        enums = {p.name: p.values for p in parameters if p.type == "enum"}
        result: list[ResourceSpec] = []
        names: set[str] = set()
        for i, item in enumerate(items):
            path = f"spec.resources[{i}]"
            if not isinstance(item, dict):
                self.add(path, "must be a mapping with type and template")
                continue
            resource = self.resource(item, path, known, enums)
            if resource is None:
                continue
            if resource.name in names:
                self.add(
                    f"{path}.name" if "name" in item else f"{path}.type",
                    f"duplicate resource name {resource.name!r}; give each resource of the same type a name",
                )
                continue
            names.add(resource.name)
            result.append(resource)
        return tuple(result)

    def resource(
        self, item: dict[Any, Any], path: str, known: set[str], enums: dict[str, tuple[str, ...]]
    ) -> ResourceSpec | None:
        self.unknown_keys(item, _RESOURCE_KEYS, path)
        rtype = self.require(item, "type", str, path)
        if rtype is not None and not _RESOURCE_NAME.match(rtype):
            self.add(f"{path}.type", "must be lowercase letters, digits, '_' or '-', starting with a letter")
            rtype = None
        name = self.optional(item, "name", str, path)
        if name is not None and not _RESOURCE_NAME.match(name):
            self.add(f"{path}.name", "must be lowercase letters, digits, '_' or '-', starting with a letter")
            name = None
        automatic = self.optional(item, "automatic", bool, path) or False
        if automatic and rtype not in ("observability", None):
            self.add(f"{path}.automatic", "only allowed for observability")
        includes_raw = self.optional(item, "includes", list, path) or []
        includes: list[str] = []
        if includes_raw and rtype not in ("observability", None):
            self.add(f"{path}.includes", "only allowed for observability")
        for j, signal in enumerate(includes_raw):
            if signal not in OBSERVABILITY_SIGNALS:
                self.add(f"{path}.includes[{j}]", f"must be one of: {', '.join(OBSERVABILITY_SIGNALS)}")
            elif signal in includes:
                self.add(f"{path}.includes[{j}]", f"duplicate {signal!r}")
            else:
                includes.append(signal)
        if automatic and "includes" not in item:
            includes = list(OBSERVABILITY_SIGNALS)

        template = ""
        if "template" in item or not (automatic and rtype == "observability"):
            template = self.require(item, "template", str, path) or ""
            if template:
                self.template(template, f"{path}.template", rtype or "", known)

        condition = self.optional(item, "condition", str, path) or ""
        if condition:
            self.condition(condition, f"{path}.condition", known, enums)
        if rtype is None:
            return None
        return ResourceSpec(name or rtype, rtype, template, condition.strip(), automatic, tuple(includes))

    def template(self, text: str, path: str, rtype: str, known: set[str]) -> None:
        try:
            template = compiled(text)
        except TemplateSyntaxError as exc:
            line, column = self._template_position(path, exc.line, exc.column)
            self.violations.append(DocumentViolation(path, exc.message, line, column))
            return
        for placeholder in sorted(template.placeholders - known):
            self.add(
                path,
                f"unknown placeholder {{{{ .{placeholder} }}}}: not a parameter of this template nor a "
                f"platform value ({', '.join(CONTEXT_KEYS)})",
            )
        if not template.documents and rtype not in MANAGED_TYPES:
            self.add(path, "must contain at least one YAML document")
        for k, document in enumerate(template.documents):
            if not isinstance(document, dict):
                self.add(path, f"document {k + 1} must be a mapping")
            elif rtype in KUBERNETES_TYPES and not (
                isinstance(document.get("apiVersion"), str) and isinstance(document.get("kind"), str)
            ):
                self.add(path, f"document {k + 1} must be a Kubernetes object with apiVersion and kind")
        # Placeholders are never floats, so only a template with a literal float is decoded.
        if rtype in KUBERNETES_TYPES and any(has_float(document) for document in template.documents):
            self.kubernetes_integers(template.literals(), path)

    def kubernetes_integers(self, documents: list[Any], path: str) -> None:
        """Literal floats where Kubernetes decodes an integer (``replicas: 2.0``): the API server refuses
        them although JSON Schema would let them pass."""
        for k, document in enumerate(documents):
            if isinstance(document, dict) and has_float(document):
                for error in integer_decode_errors(document):
                    self.add(path, f"document {k + 1} ({document.get('kind')}) {error.path}: {error.message}")

    def _template_position(self, path: str, line: int | None, column: int | None) -> tuple[int, int]:
        node = self.nodes.get(path)
        if node is None or line is None:
            return self._position(path)
        # A block scalar's text starts on the line after its indicator.
        first = node.start_mark.line + (
            1 if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">") else 0
        )
        doc_line = first + line
        indent = 0
        if 0 <= doc_line < len(self.lines):
            text = self.lines[doc_line]
            indent = len(text) - len(text.lstrip(" "))
        if getattr(node, "style", None) not in ("|", ">"):
            indent = node.start_mark.column if line == 0 else indent
        return doc_line + 1, indent + (column or 0) + 1

    def condition(self, text: str, path: str, known: set[str], enums: dict[str, tuple[str, ...]]) -> None:
        try:
            expr = conditions.parse_condition(text)
        except conditions.ConditionError as exc:
            self.add(path, exc.message)
            return
        for name in conditions.referenced_names(expr):
            if name not in known:
                self.add(path, f"unknown name .{name}: not a parameter of this template nor a platform value")
        for name, literal in conditions.compared_literals(expr):
            if name in enums and literal not in enums[name]:
                self.add(path, f"{literal!r} is not a value of enum parameter {name!r}")

    # -- workflows ---------------------------------------------------------------------------------

    def workflows(self, spec: dict[Any, Any]) -> tuple[WorkflowSpec, ...]:
        """``name: [steps]`` (a mapping) or ``- name: ..., steps: [...]`` (a list, as the source design
        writes them); both give the same workflows."""
        raw = self.optional(spec, "workflows", (dict, list), "spec")
        entries: list[tuple[Any, Any, str]] = []
        if isinstance(raw, dict):
            entries = [(name, steps, f"spec.workflows.{name}") for name, steps in raw.items()]
        elif isinstance(raw, list):
            for i, item in enumerate(raw):
                path = f"spec.workflows[{i}]"
                if not isinstance(item, dict):
                    self.add(path, "must be a mapping with name and steps")
                    continue
                self.unknown_keys(item, _WORKFLOW_KEYS, path)
                name = self.require(item, "name", str, path)
                if name is not None:
                    entries.append((name, item.get("steps"), f"{path}.steps"))
        result: list[WorkflowSpec] = []
        names: set[str] = set()
        for name, steps, path in entries:
            if not isinstance(name, str) or not _STEP_NAME.match(name):
                self.add(path, "workflow names must be lowercase letters, digits and '_'", key=True)
                continue
            if name in names:
                self.add(path, f"duplicate workflow {name!r}")
                continue
            names.add(name)
            if not isinstance(steps, list) or not steps:
                self.add(path, "must be a non-empty list of step names")
                continue
            seen: list[str] = []
            for j, step in enumerate(steps):
                if not isinstance(step, str) or not _STEP_NAME.match(step):
                    self.add(f"{path}[{j}]", "must be a step name: lowercase letters, digits and '_'")
                elif step in seen:
                    self.add(f"{path}[{j}]", f"duplicate step {step!r}")
                else:
                    seen.append(step)
            result.append(WorkflowSpec(name, tuple(seen)))
        return tuple(result)


def _is_a(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "a mapping"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)
