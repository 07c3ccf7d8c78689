"""Kubernetes objects read the way the API server decodes them: Go's ``encoding/json`` refuses a number
written with a fraction (``2.0``) for an integer field ("cannot unmarshal number 2.0 into Go struct field
... of type int32"), although JSON Schema counts 2.0 as an integer. The fields come from the Kubernetes
OpenAPI schema that kubernetes-validate ships, so every ``integer`` (and int-or-string) field is covered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

# jsonschema and the schemas load on the first float found: most templates never pay for them.
if TYPE_CHECKING:
    import jsonschema


def _is_go_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@cache
def go_json_validator_class() -> Any:
    """JSON Schema 2020-12 with Go's notion of an integer: a float is never one, whatever its value."""
    import jsonschema

    return jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_go_integer),
    )


@cache
def kubernetes_version() -> str:
    import kubernetes_validate

    return str(kubernetes_validate.latest_version())


@dataclass(frozen=True)
class DecodeError:
    """A value Kubernetes would refuse to decode: where it is and why."""

    path: str
    message: str


def _schema_dir() -> Any:
    return (
        resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / f"v{kubernetes_version()}-local-strict"
    )


@lru_cache(maxsize=1)
def _definitions() -> Any:
    from referencing import Resource

    return Resource.from_contents(json.loads((_schema_dir() / "_definitions.json").read_text()))


@lru_cache(maxsize=128)
def _builtin_validator(kind: str, api_version: str) -> Any:
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = _schema_dir() / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        return None
    from referencing import Registry, Resource

    schema = json.loads(path.read_text())
    registry: Registry[Any] = Resource.from_contents(schema) @ (_definitions() @ Registry())
    return go_json_validator_class()(schema, registry=registry)


def validator_for(schema: Mapping[str, Any]) -> Any:
    """A Go-JSON validator for a schema that is not built in (e.g. a CRD's openAPIV3Schema)."""
    return go_json_validator_class()(dict(schema))


def _declares_integer(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return False
    types = schema.get("type")
    return types == "integer" or (isinstance(types, list) and "integer" in types)


def _is_integer_error(error: jsonschema.ValidationError) -> bool:
    if not isinstance(error.instance, float):
        return False
    if error.validator == "type":
        return _declares_integer(error.schema)
    # int-or-string fields: a float is neither branch of the oneOf.
    return error.validator in ("oneOf", "anyOf") and any(
        sub.validator == "type" and _declares_integer(sub.schema) for sub in error.context or ()
    )


def _path(error: jsonschema.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def integer_decode_errors(obj: Mapping[str, Any], validator: Any = None) -> list[DecodeError]:
    """Every float at a field the schema types as integer (or int-or-string), in ``obj``.

    Built-in kinds use the Kubernetes schema; pass ``validator`` for other kinds. Objects of kinds with
    no known schema yield no errors (nothing to decode them against).
    """
    if validator is None:
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if not (isinstance(kind, str) and isinstance(api_version, str)):
            return []
        validator = _builtin_validator(kind, api_version)
        if validator is None:
            return []
    found: list[DecodeError] = []
    for error in validator.iter_errors(obj):
        if _is_integer_error(error):
            value = error.instance
            found.append(
                DecodeError(
                    _path(error),
                    f"{value!r} is not an integer: Kubernetes decodes this field as an integer with Go's "
                    f"JSON rules, which refuse a number with a fraction; write {int(value)}"
                    if float(value).is_integer()
                    else f"{value!r} is not an integer: this field takes whole numbers only",
                )
            )
    return found


def has_float(node: Any) -> bool:
    """Whether any number in ``node`` is a float (the cheap test before decoding against a schema)."""
    if isinstance(node, float):
        return True
    if isinstance(node, dict):
        return any(has_float(v) for v in node.values())
    if isinstance(node, list):
        return any(has_float(v) for v in node)
    return False
