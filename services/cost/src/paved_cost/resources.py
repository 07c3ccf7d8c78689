"""Plain representation of a rendered plan resource and typed reads of its shared property vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from paved_kit.errors import FieldViolation


@dataclass(frozen=True)
class PlanResource:
    """One resource of a plan, as catalog renders it (``paved.common.v1.Resource`` without manifests)."""

    name: str
    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class PropertyReader:
    """Reads properties of one resource, collecting a violation per bad value instead of stopping."""

    def __init__(self, resource: PlanResource, path: str, violations: list[FieldViolation]) -> None:
        self._props = resource.properties
        self._path = path
        self._violations = violations

    def _violate(self, key: str, rule: str) -> None:
        self._violations.append(FieldViolation(f"{self._path}.properties.{key}", rule))

    def has(self, key: str) -> bool:
        return self._props.get(key) is not None

    def string(self, key: str, default: str = "") -> str:
        value = self._props.get(key, default)
        # Renderers write "" for a property a template leaves unset.
        if value is None or value == "":
            return default
        if not isinstance(value, str):
            self._violate(key, "must be a string")
            return default
        return value

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self._props.get(key, default)
        if value is None:
            return default
        # Struct numbers arrive as floats; 3.0 is a valid integer, 2.5 is not.
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            self._violate(key, "must be an integer")
            return default
        if value < minimum:
            self._violate(key, f"must be at least {minimum}")
            return default
        return int(value)

    def number(self, key: str, default: Decimal) -> Decimal:
        value = self._props.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool):
            self._violate(key, "must be a number")
            return default
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            self._violate(key, "must be a number")
            return default
        if not number.is_finite() or number < 0:
            self._violate(key, "must be a non-negative number")
            return default
        return number

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._props.get(key, default)
        if value is None:
            return default
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self._violate(key, "must be a boolean")
            return default
        return value
