"""Injection-proof rendering: a value can never change the document's structure (property tests)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from paved_catalog.placeholders import MissingValues, TemplateSyntaxError, compile_template

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  annotations:
    plain: {{ .text }}
    quoted: "prefix {{ .text }} suffix"
    single: '{{ .text }}'
data:
  {{ .text }}: as-a-key
  list:
    - {{ .text }}
    - literal
  count: {{ .count }}
  count_text: "{{ .count }}"
---
kind: Second
value: x-{{ .text }}-y
"""

NASTY = [
    "a\nb: c",
    "value\n---\nkind: Secret\ndata: {token: x}",
    "{{ .name }}",
    "{{ .missing }}",
    "*anchor",
    "&anchor x",
    "!!python/object/apply:os.system ['id']",
    "'",
    '"',
    "key: value",
    "- item",
    "# comment",
    "[a, b]",
    "{a: b}",
    "|\n  block",
    "__paved_ph_0__",
    "",
    " ",
    "null",
    "true",
    "3",
]


def _expected(text: str, name: str = "svc", count: int = 2) -> list[object]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "annotations": {
                    "plain": text,
                    "quoted": f"prefix {text} suffix",
                    "single": text,
                },
            },
            "data": {
                text: "as-a-key",
                "list": [text, "literal"],
                "count": count,
                "count_text": str(count),
            },
        },
        {"kind": "Second", "value": f"x-{text}-y"},
    ]


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(NASTY), st.text()))
@example("\n".join(NASTY))
def test_a_value_ends_up_as_one_string_wherever_it_is_placed(text: str) -> None:
    compiled = compile_template(TEMPLATE)
    rendered = compiled.render({"name": "svc", "text": text, "count": 2})
    if text in ("list", "count", "count_text"):
        # The value collides with a sibling key; the template's own key wins, as in YAML.
        return
    assert rendered == _expected(text)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_strings_that_look_like_numbers_or_bools_stay_strings(text: str) -> None:
    rendered = compile_template("a: {{ .v }}\n").render({"v": text})
    assert rendered == [{"a": text}]


def test_whole_plain_placeholder_keeps_int_and_bool_types() -> None:
    compiled = compile_template("n: {{ .n }}\nb: {{ .b }}\nq: '{{ .n }}'\nmixed: {{ .n }}x\n")
    assert compiled.render({"n": 3, "b": False}) == [{"n": 3, "b": False, "q": "3", "mixed": "3x"}]


def test_missing_values_are_an_error_not_an_empty_string() -> None:
    compiled = compile_template("a: {{ .one }}\nb: {{ .two }}\n")
    with pytest.raises(MissingValues) as caught:
        compiled.render({"one": "x"})
    assert caught.value.names == ["two"]


@pytest.mark.parametrize(
    "text",
    ["a: {{ .x | quote }}", "a: {{ range .items }}", "a: {{ x }}", "a: {{", "a: }}", "a: __paved_ph_1__"],
)
def test_only_simple_placeholders_are_accepted(text: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        compile_template(text)


def test_yaml_errors_have_positions() -> None:
    with pytest.raises(TemplateSyntaxError) as caught:
        compile_template("a: 1\nb: [unclosed\n")
    assert caught.value.line == 2
