"""The parsed form of a ServiceTemplate document: parameters, resources and workflows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ParameterType = Literal["string", "enum", "int", "bool"]
PARAMETER_TYPES: tuple[ParameterType, ...] = ("string", "enum", "int", "bool")
OBSERVABILITY_SIGNALS: tuple[str, ...] = ("metrics", "logs", "traces", "alerts")


@dataclass(frozen=True)
class ParameterSpec:
    """A typed parameter a user supplies when creating a service from the template."""

    name: str
    type: ParameterType
    required: bool = False
    default: Any = None
    values: tuple[str, ...] = ()
    pattern: str = ""
    min: int | None = None
    max: int | None = None
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not None


@dataclass(frozen=True)
class ResourceSpec:
    """A resource block: a type, a template with ``{{ .name }}`` placeholders and an optional condition."""

    name: str
    type: str
    template: str = ""
    condition: str = ""
    automatic: bool = False
    includes: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkflowSpec:
    """A named, ordered list of steps such as ``deploy`` or ``rollback``."""

    name: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class TemplateSpec:
    """A valid ServiceTemplate document, parsed."""

    name: str
    description: str
    parameters: tuple[ParameterSpec, ...]
    resources: tuple[ResourceSpec, ...]
    workflows: tuple[WorkflowSpec, ...]
    title: str = ""
    tags: tuple[str, ...] = field(default=())

    def parameter(self, name: str) -> ParameterSpec | None:
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None
