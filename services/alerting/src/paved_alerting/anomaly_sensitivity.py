"""How far from normal an anomaly rule's sensitivity lets a metric go: what validating a rule needs of anomaly
detection, without the numerical code (and numpy) that scores the history."""

from __future__ import annotations

SENSITIVITIES: dict[str, float] = {"low": 7.0, "medium": 5.5, "high": 4.0}
"""Score threshold (in robust standard deviations) per rule sensitivity."""
