"""The Makefile a newcomer meets: `make help` lists every target, and every declared target does something."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def rules() -> dict[str, list[str]]:
    """Target name → its recipe lines."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in MAKEFILE.splitlines():
        match = re.match(r"^([a-z][a-z0-9-]*):(?!=)", line)
        if match:
            current = found.setdefault(match.group(1), [])
        elif line.startswith("\t") and current is not None:
            current.append(line)
        elif line.strip() and not line.startswith("#"):
            current = None
    return found


def test_every_phony_target_has_a_rule_and_every_rule_is_phony() -> None:
    phony = {name for line in re.findall(r"^\.PHONY:(.*)$", MAKEFILE, re.M) for name in line.split()}
    assert phony == set(rules())


def test_every_target_does_something() -> None:
    empty = [name for name, recipe in rules().items() if not recipe]
    # A target with prerequisites only is fine when those do the work; none here is an empty placeholder.
    for name in empty:
        line = next(line for line in MAKEFILE.splitlines() if line.startswith(f"{name}:"))
        assert line.split(":", 1)[1].split("##")[0].strip(), f"make {name} does nothing"


def test_make_help_lists_every_target() -> None:
    help_run = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True)
    shown = help_run.stdout
    listed = set(re.findall(r"make ([a-z-]+)", shown))
    assert listed == set(rules()), shown
