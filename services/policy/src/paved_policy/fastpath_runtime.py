"""CEL's value semantics in plain Python, for the functions the fast path generates: equality, ordering,
int64 arithmetic, indexing, conversions and string helpers. Each raises Defer wherever CEL would answer
otherwise (an error, an overflow, an unexpected type), so the C++ runtime decides those cases."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Defer(Exception):
    """The fast path cannot answer with certainty; evaluate with the CEL runtime instead."""


_D = Defer()


_KNOWN = frozenset({str, bool, int, float, list, dict, type(None), datetime})


def cel_equals(left: Any, right: Any) -> bool:
    """CEL heterogeneous equality: numbers compare across int/double, other differing types are unequal."""
    lt, rt = type(left), type(right)
    if lt is rt:
        if lt is list:
            return len(left) == len(right) and all(cel_equals(a, b) for a, b in zip(left, right, strict=True))
        if lt is dict:
            return left.keys() == right.keys() and all(cel_equals(left[k], right[k]) for k in left)
        if lt in _KNOWN:
            return bool(left == right)
        raise _D
    if (lt is int or lt is float) and (rt is int or rt is float):
        return bool(left == right)
    if lt in _KNOWN and rt in _KNOWN:
        return False
    raise _D


def _order(left: Any, right: Any) -> int:
    lt, rt = type(left), type(right)
    if (lt is int or lt is float) and (rt is int or rt is float):
        if (lt is float and math.isnan(left)) or (rt is float and math.isnan(right)):
            raise _D
    elif not (lt is rt and lt in (str, bool, datetime)):
        raise _D
    return -1 if left < right else (1 if left > right else 0)


def _lt(a: Any, b: Any) -> bool:
    return _order(a, b) < 0


def _le(a: Any, b: Any) -> bool:
    return _order(a, b) <= 0


def _gt(a: Any, b: Any) -> bool:
    return _order(a, b) > 0


def _ge(a: Any, b: Any) -> bool:
    return _order(a, b) >= 0


def _in(item: Any, container: Any) -> bool:
    kind = type(container)
    if kind is dict:
        if type(item) is str:
            return item in container
        raise _D
    if kind is list:
        if type(item) is str:
            # A string equals only an equal string (JSON-shaped data has no other string-like types).
            return item in container
        return any(cel_equals(item, element) for element in container)
    raise _D


def int64(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise _D
    return value


def _add(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is not type(b) or kind not in (int, float, str, list):
        raise _D
    return int64(a + b) if kind is int else a + b


def _sub(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is not type(b) or kind not in (int, float):
        raise _D
    return int64(a - b) if kind is int else a - b


def _mul(a: Any, b: Any) -> Any:
    kind = type(a)
    if kind is not type(b) or kind not in (int, float):
        raise _D
    return int64(a * b) if kind is int else a * b


def _neg(a: Any) -> Any:
    kind = type(a)
    if kind is int:
        return int64(-a)
    if kind is float:
        return -a
    raise _D


def _index(container: Any, key: Any) -> Any:
    kind = type(container)
    if kind is dict and type(key) is str:
        return container[key]
    if kind is list and type(key) is int and 0 <= key < len(container):
        return container[key]
    raise _D


def _size(value: Any) -> int:
    if type(value) in (str, list, dict):
        return len(value)
    raise _D


def _to_int(value: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return int64(int(value))
    raise _D


def _to_double(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise _D


def _case(value: Any, upper: bool) -> str:
    if type(value) is not str or not value.isascii():
        raise _D
    return value.upper() if upper else value.lower()


def _join(items: Any, glue: Any) -> str:
    if type(items) is not list or type(glue) is not str or any(type(i) is not str for i in items):
        raise _D
    return str(glue.join(items))


def _iterable(value: Any) -> list[Any]:
    kind = type(value)
    if kind is list:
        return value
    if kind is dict:
        return list(value)
    raise _D


#: The names generated code calls, bound in the namespace it runs in.
HELPERS: dict[str, Any] = {
    "_D": _D,
    "Defer": Defer,
    "_eq": cel_equals,
    "_lt": _lt,
    "_le": _le,
    "_gt": _gt,
    "_ge": _ge,
    "_in": _in,
    "_add": _add,
    "_sub": _sub,
    "_mul": _mul,
    "_neg": _neg,
    "_index": _index,
    "_size": _size,
    "_to_int": _to_int,
    "_to_double": _to_double,
    "_case": _case,
    "_join": _join,
    "_iterable": _iterable,
}
