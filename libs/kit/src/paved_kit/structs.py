"""``google.protobuf.Struct`` values back as the numbers they were: Struct carries every number as a
double, so the integer 3 arrives as 3.0. The platform's documents have no float-typed parameters, and a
whole number is what every consumer of the committed files means (Kubernetes decodes integer fields with
Go's JSON rules and refuses 3.0), so whole doubles become ints again at the boundary.
"""

from __future__ import annotations

import math
from typing import Any

# Beyond 2**53 a double no longer holds every integer; such a value was never an exact integer.
_EXACT = 2**53


def integral(value: Any) -> Any:
    """``value`` (a Struct as a dict, a list or a scalar) with every whole, finite float made an int."""
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < _EXACT:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value
