"""Measures of the platform only people can give (developer NPS from a survey, support ticket volume):
which exist, their valid ranges, and how a recorded one looks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from paved_kit.errors import FieldViolation

COLLECTION = "platformInputs"
# Input id → (lowest, highest, whole numbers only, what it is).
INPUTS: dict[str, tuple[float, float, bool, str]] = {
    "developer-nps": (-100.0, 100.0, False, "developer Net Promoter Score from the latest survey"),
    "support-tickets": (0.0, 1e9, True, "platform support tickets per month"),
}
MAX_NOTE = 500
MAX_SET_BY = 200


@dataclass(frozen=True)
class PlatformInput:
    input_id: str
    value: float
    set_time: datetime
    set_by: str
    note: str

    def to_fact(self) -> dict[str, object]:
        return {
            "value": self.value,
            "set_time": self.set_time.isoformat(),
            "set_by": self.set_by,
            "note": self.note,
        }

    @classmethod
    def from_fact(cls, input_id: str, fact: dict[str, object]) -> PlatformInput:
        return cls(
            input_id,
            float(fact["value"]),  # type: ignore[arg-type]
            datetime.fromisoformat(str(fact["set_time"])),
            str(fact.get("set_by", "")),
            str(fact.get("note", "")),
        )


def input_violations(name: str, value: float, set_by: str, note: str) -> tuple[str, list[FieldViolation]]:
    """The input id named by ``name`` and every problem with the request (field paths in the message)."""
    problems: list[FieldViolation] = []
    input_id = name.removeprefix(f"{COLLECTION}/")
    known = ", ".join(f"{COLLECTION}/{i}" for i in INPUTS)
    if input_id not in INPUTS:
        problems.append(FieldViolation("platform_input.name", f"must be one of: {known}"))
    else:
        low, high, whole, _ = INPUTS[input_id]
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(FieldViolation("platform_input.value", f"must be between {low:g} and {high:g}"))
        elif whole and value != int(value):
            problems.append(FieldViolation("platform_input.value", "must be a whole number"))
    if not set_by.strip():
        problems.append(FieldViolation("platform_input.set_by", "required: who set the value"))
    elif len(set_by) > MAX_SET_BY:
        problems.append(FieldViolation("platform_input.set_by", f"at most {MAX_SET_BY} characters"))
    if len(note) > MAX_NOTE:
        problems.append(FieldViolation("platform_input.note", f"at most {MAX_NOTE} characters"))
    return input_id, problems
