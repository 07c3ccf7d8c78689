"""How a fleet upgrade splits its targets into waves: each wave is a count (``1``), a share of all targets
(``"10%"``, rounded up, at least one) or ``"rest"`` (what is left; only last). Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from paved_kit.errors import FieldViolation

from paved_gateway.errors import ApiError, invalid

DEFAULT_WAVES: tuple[int | str, ...] = (1, "10%", "rest")
MAX_WAVES = 20
_PERCENT = re.compile(r"^(\d{1,3})%$")


def _invalid(index: int, rule: str) -> ApiError:
    return invalid(f"waves[{index}] {rule}", [FieldViolation(f"waves[{index}]", rule)])


def wave_sizes(spec: Sequence[int | str], total: int) -> list[int]:
    """The size of each wave for ``total`` targets; waves left empty are dropped, targets a spec without
    ``rest`` leaves over go into a last wave of their own."""
    if not spec:
        raise invalid("waves must list at least one wave", [FieldViolation("waves", "at least one wave")])
    if len(spec) > MAX_WAVES:
        raise invalid(f"at most {MAX_WAVES} waves", [FieldViolation("waves", f"at most {MAX_WAVES} waves")])
    sizes: list[int] = []
    left = total
    for index, item in enumerate(spec):
        if isinstance(item, bool):
            raise _invalid(index, "must be a count, a percentage such as '10%', or 'rest'")
        if isinstance(item, int):
            if item < 1:
                raise _invalid(index, "a count must be at least 1")
            size = item
        elif item == "rest":
            if index != len(spec) - 1:
                raise _invalid(index, "'rest' can only be the last wave")
            size = left
        elif (match := _PERCENT.match(item)) is not None and 1 <= int(match.group(1)) <= 100:
            size = max(1, math.ceil(total * int(match.group(1)) / 100))
        else:
            raise _invalid(index, "must be a count, a percentage from 1% to 100%, or 'rest'")
        size = min(size, left)
        if size:
            sizes.append(size)
        left -= size
    if left:
        sizes.append(left)
    return sizes
