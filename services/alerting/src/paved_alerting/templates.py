"""Annotation templates: the subset of Prometheus' Go templates rules may use, rendered as Prometheus does.

Supported: ``{{ $value }}`` and ``{{ $labels.<name> }}``. Keeping to this subset means an annotation
renders identically in our notifications and in a Prometheus that evaluates the exported rule file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_VALUE = re.compile(r"^\s*\$value\s*$")
_LABEL = re.compile(r"^\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*$")


def template_problems(text: str) -> list[str]:
    """What is wrong with ``text`` as an annotation template (empty when it is fine)."""
    problems = []
    for match in _ACTION.finditer(text):
        body = match.group(1)
        if not (_VALUE.match(body) or _LABEL.match(body)):
            problems.append(
                f"unsupported template action {match.group(0)!r}: "
                "use {{ $value }} or {{ $labels.<name> }}"
            )
    stripped = _ACTION.sub("", text)
    if "{{" in stripped or "}}" in stripped:
        problems.append("unbalanced '{{' or '}}'")
    return problems


def render(text: str, labels: Mapping[str, str], value: float | None) -> str:
    """``text`` with its actions replaced; a missing label renders as ``<no value>``, as in Go."""

    def substitute(match: re.Match[str]) -> str:
        body = match.group(1)
        if _VALUE.match(body):
            return format_go_float(value) if value is not None else "<no value>"
        label = _LABEL.match(body)
        if label:
            return labels.get(label.group(1), "<no value>")
        return match.group(0)

    return _ACTION.sub(substitute, text)


def format_go_float(value: float) -> str:
    """``value`` as Go's ``%v`` prints a float64 (what ``{{ $value }}`` shows in Prometheus)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    # Python's repr and Go's strconv both print the shortest digits that round-trip.
    mantissa, _, exp_text = f"{abs(value)!r}".partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    exponent = (int(exp_text) if exp_text else 0) + len(whole.lstrip("0")) - 1
    if not whole.lstrip("0"):
        exponent = (int(exp_text) if exp_text else 0) - (len(fraction) - len(fraction.lstrip("0"))) - 1
    digits = digits.rstrip("0") or "0"
    # strconv's 'g' with shortest precision switches to exponent form outside [1e-4, 1e6).
    if exponent < -4 or exponent >= 6:
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    if len(digits) <= exponent + 1:
        return sign + digits + "0" * (exponent + 1 - len(digits))
    return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
