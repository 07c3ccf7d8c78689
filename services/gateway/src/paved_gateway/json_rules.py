"""What a JSON request body may hold beyond its schema: bounded nesting, finite numbers, integers that
survive the trip through ``google.protobuf.Struct`` (a double) and JavaScript clients unchanged."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import FieldViolation

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER: larger integers change in a double
_MAX_FIELD_CHARS = 200
_NOT_JSON = "body"
_FINITE = "must be a finite number (NaN, Infinity and numbers beyond ±1.8e308 are refused)"


@dataclass(frozen=True)
class _Unrepresentable:
    """A number JSON allows but the platform cannot carry (NaN, Infinity, an integer of many digits)."""

    text: str


def _integer(text: str) -> int:
    # Python refuses to parse integers of more than 4300 digits (and is slow before that); any integer
    # longer than 20 characters is out of range anyway.
    return int(text) if len(text) <= 20 else MAX_SAFE_INTEGER + 1


def violations(body: bytes) -> list[FieldViolation]:
    """Every problem of ``body`` as JSON (syntax is left to the schema validation that follows)."""
    try:
        document = json.loads(body, parse_constant=_Unrepresentable, parse_int=_integer)
    except RecursionError:
        return [
            FieldViolation(_NOT_JSON, f"must not nest objects or arrays more than {MAX_DEPTH} levels deep")
        ]
    except ValueError:
        return []  # not JSON: FastAPI's validation answers 400 with the position of the syntax error
    return list(_walk(document))


def _walk(document: Any) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    # Iterative, so a deep document cannot exhaust the stack here.
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        if isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            found.append(
                FieldViolation(
                    _field(path), f"must not nest objects or arrays more than {MAX_DEPTH} levels deep"
                )
            )
        elif isinstance(value, dict):
            pending.extend((item, (*path, str(key))) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(index))) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, _Unrepresentable) or (isinstance(value, float) and not math.isfinite(value)):
            found.append(FieldViolation(_field(path), _FINITE))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
            found.append(
                FieldViolation(
                    _field(path), f"must be an integer between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}"
                )
            )
    return found


def _field(path: tuple[str, ...]) -> str:
    field = ".".join(path) or _NOT_JSON
    return field if len(field) <= _MAX_FIELD_CHARS else field[:_MAX_FIELD_CHARS] + "…"
