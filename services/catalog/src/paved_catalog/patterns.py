"""Parameter patterns from templates, run with RE2: matching takes linear time whatever the pattern and
the value, so a template's regular expression cannot stall the service on hostile input (ReDoS)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

_OPTIONS = re2.Options()
# Errors come back as exceptions; RE2's own stderr logging would bypass the service's logs.
_OPTIONS.log_errors = False


class PatternError(ValueError):
    """The pattern is not a valid RE2 regular expression."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled pattern; raises :class:`PatternError` with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(str(reason)) from None


def full_match(pattern: str, value: str) -> bool:
    """Whether the whole of ``value`` matches ``pattern`` (which must compile)."""
    return compile_pattern(pattern).fullmatch(value) is not None
