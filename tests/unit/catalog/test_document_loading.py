"""Loading a template document is safe whatever the text: no alias expansion, no unprintable text."""

from __future__ import annotations

import time

import pytest
from paved_catalog.document import parse_template_document

HEADER = "apiVersion: platform.dev/v1\nkind: ServiceTemplate\nmetadata:\n  name: laughs\nspec:\n"


def billion_laughs(levels: int = 6, fan_out: int = 10) -> str:
    lines = ["  a: &a [" + ", ".join(['"lol"'] * fan_out) + "]"]
    previous = "a"
    for name in "bcdefghij"[:levels]:
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * fan_out) + "]")
        previous = name
    return HEADER + "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_fast_with_its_position() -> None:
    document = billion_laughs()
    started = time.perf_counter()
    parsed = parse_template_document(document)
    elapsed = time.perf_counter() - started

    assert elapsed < 0.1
    assert not parsed.valid
    [violation] = parsed.violations
    assert violation.message == "YAML anchors and aliases are not allowed in template documents"
    assert 6 <= violation.line <= 12 and violation.column > 0


def test_a_recursive_alias_is_refused() -> None:
    parsed = parse_template_document(HEADER + "  parameters: &loop [*loop]\n")
    [violation] = parsed.violations
    assert "anchors and aliases are not allowed" in violation.message


def test_aliases_inside_a_resource_template_are_refused_fast() -> None:
    template = billion_laughs().split("spec:\n", 1)[1].replace("\n  ", "\n").strip()
    document = HEADER + "  resources:\n    - name: laughs\n      type: compute\n      template: |\n"
    document += "".join(f"        {line}\n" for line in template.splitlines())
    started = time.perf_counter()
    parsed = parse_template_document(document)
    assert time.perf_counter() - started < 0.1
    assert any("anchors and aliases are not allowed" in v.message for v in parsed.violations)


@pytest.mark.parametrize(("text", "code"), [("\x00", "U+0000"), ("\uffff", "U+FFFF"), ("\x07", "U+0007")])
def test_unprintable_characters_are_a_violation_not_a_crash(text: str, code: str) -> None:
    parsed = parse_template_document(HEADER + f"  parameters: [{text}]\n")
    [violation] = parsed.violations
    assert f"non-printable character {code}" in violation.message
