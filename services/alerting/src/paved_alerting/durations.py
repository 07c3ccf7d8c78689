"""Prometheus duration syntax (``5m``, ``1h30m``, ``250ms``): parse, format and validate."""

from __future__ import annotations

import re

_UNITS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
)
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> int:
    """Milliseconds of a Prometheus duration such as ``1h30m``; raises ValueError on anything else."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    return sum(
        int(group) * factor for group, (_, factor) in zip(match.groups(), _UNITS, strict=True) if group
    )


def format_duration(milliseconds: int) -> str:
    """The canonical Prometheus text of a duration, as Prometheus prints it (``0s``, ``5m``, ``1h30m``)."""
    if milliseconds < 0:
        raise ValueError("durations are never negative")
    if milliseconds == 0:
        return "0s"
    parts = []
    remaining = milliseconds
    for unit, factor in _UNITS:
        count, remaining = divmod(remaining, factor)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
