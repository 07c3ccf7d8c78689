"""Checking user parameters against a template's typed parameters, every violation at once."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from paved_catalog.patterns import full_match
from paved_catalog.render_context import is_dns_label
from paved_catalog.spec import ParameterSpec, TemplateSpec

#: Parameters that become Kubernetes object names and so must be DNS labels.
DNS_LABEL_PARAMETERS = frozenset({"service_name"})
MAX_STRING_LENGTH = 1024


@dataclass(frozen=True)
class ParameterViolation:
    """A parameter that does not fit; ``rule``: UNKNOWN, MISSING, TYPE, ENUM, PATTERN, RANGE, DNS_LABEL."""

    field: str
    rule: str
    description: str


@dataclass(frozen=True)
class ParameterCheck:
    """The violations found and, when there are none, the values with defaults filled in."""

    violations: tuple[ParameterViolation, ...]
    resolved: dict[str, Any]

    @property
    def valid(self) -> bool:
        return not self.violations


def check_value(
    ptype: str,
    value: Any,
    values: list[str] | tuple[str, ...],
    pattern: str,
    low: int | None,
    high: int | None,
) -> str | None:
    """Why ``value`` does not fit a parameter of this shape, or None. Used for defaults and user values."""
    violation = _violation(ptype, value, values, pattern, low, high)
    return violation[1] if violation else None


def _violation(
    ptype: str,
    value: Any,
    values: list[str] | tuple[str, ...],
    pattern: str,
    low: int | None,
    high: int | None,
) -> tuple[str, str] | None:
    if ptype in ("string", "enum"):
        if not isinstance(value, str):
            return "TYPE", "must be a string"
        if len(value) > MAX_STRING_LENGTH:
            return "RANGE", f"must be at most {MAX_STRING_LENGTH} characters"
        if ptype == "enum" and value not in values:
            return "ENUM", f"must be one of: {', '.join(values)}"
        if pattern and not full_match(pattern, value):
            return "PATTERN", f"must match the pattern {pattern}"
        return None
    if ptype == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "TYPE", "must be an integer"
        if low is not None and value < low:
            return "RANGE", f"must be at least {low}"
        if high is not None and value > high:
            return "RANGE", f"must be at most {high}"
        return None
    if not isinstance(value, bool):
        return "TYPE", "must be true or false"
    return None


def _normalise(parameter: ParameterSpec, value: Any) -> Any:
    # google.protobuf.Struct carries every number as a double: 3.0 means the integer 3.
    if (
        parameter.type == "int"
        and isinstance(value, float)
        and math.isfinite(value)
        and value.is_integer()
        and abs(value) < 2**53
    ):
        return int(value)
    return value


def check_parameters(spec: TemplateSpec, parameters: Mapping[str, Any]) -> ParameterCheck:
    """Check ``parameters`` against ``spec``: unknown, missing, type, enum, pattern, range, DNS label."""
    violations: list[ParameterViolation] = []
    resolved: dict[str, Any] = {}
    declared = {p.name: p for p in spec.parameters}
    for name in sorted(parameters):
        if name not in declared:
            violations.append(
                ParameterViolation(
                    name,
                    "UNKNOWN",
                    f"unknown parameter: template {spec.name} has no {name!r}; "
                    f"its parameters: {', '.join(p.name for p in spec.parameters)}",
                )
            )
    for parameter in spec.parameters:
        value = parameters.get(parameter.name)
        if value is None:
            if parameter.has_default:
                resolved[parameter.name] = parameter.default
            elif parameter.required:
                violations.append(ParameterViolation(parameter.name, "MISSING", "required"))
            continue
        value = _normalise(parameter, value)
        problem = _violation(
            parameter.type, value, parameter.values, parameter.pattern, parameter.min, parameter.max
        )
        if problem:
            violations.append(ParameterViolation(parameter.name, *problem))
            continue
        if parameter.name in DNS_LABEL_PARAMETERS and not is_dns_label(value):
            violations.append(
                ParameterViolation(
                    parameter.name,
                    "DNS_LABEL",
                    "must be a DNS-1123 label: lowercase letters, digits and '-', starting with a letter, "
                    "ending with a letter or digit, at most 63 characters",
                )
            )
            continue
        resolved[parameter.name] = value
    if not violations:
        low, high = resolved.get("min_instances"), resolved.get("max_instances")
        if isinstance(low, int) and isinstance(high, int) and high < low:
            violations.append(
                ParameterViolation("max_instances", "RANGE", "must not be less than min_instances")
            )
    return ParameterCheck(tuple(violations), resolved if not violations else {})
