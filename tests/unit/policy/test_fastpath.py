"""The native fast path against the C++ CEL runtime: whenever the fast path answers, it answers the same."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paved_policy.fastpath import Defer, compile_fast, compile_fast_value
from paved_policy.rules import RuleEngine, RuleError, format_value

ENGINE = RuleEngine(fast_path=False)
VARIABLES = frozenset({"resource", "context", "params"})
NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)

# Expressions within the subset, chosen to hit type mismatches, missing keys and error absorption.
EXPRESSIONS = [
    "has(resource.properties.a) && resource.properties.a == true",
    "resource.properties.a == 1",
    "resource.properties.a != 'x'",
    "resource.properties.a == null",
    "resource.properties.a < 2",
    "resource.properties.a >= 1.5",
    "resource.properties.a > resource.properties.b",
    "resource.properties.a in [1, 'x', true, null, 2.5]",
    "'a' in resource.properties",
    "resource.properties.a in resource.properties.l",
    "resource.properties.s in resource.properties.m",
    "resource.properties.l.all(x, x > 0)",
    "resource.properties.l.exists(x, x == 'a')",
    "resource.properties.l.exists_one(x, x == 1)",
    "size(resource.properties.l.filter(x, x != null)) >= 1",
    "resource.properties.l.map(x, x == 1).exists(y, y)",
    "resource.properties.m.all(k, k.startsWith('o'))",
    "resource.tags.all(k, resource.tags[k].lowerAscii() == resource.tags[k])",
    "params.tags.all(t, t in resource.tags && resource.tags[t] != '')",
    "resource.name.matches('^[a-z]+-[0-9]+$')",
    "resource.properties.s.matches('b.c')",
    "resource.properties.s.matches('^(x|y)*$')",
    "resource.properties.a + 1 == 2",
    "resource.properties.a + resource.properties.b > 0",
    "resource.properties.s + 'x' == 'abcx'",
    "resource.properties.l + [1] == [1]",
    "resource.properties.a * 2.0 > 3.0",
    "resource.properties.a - 1.0 < 0.0",
    "-resource.properties.a < 0",
    "int(resource.properties.a) == 1",
    "double(resource.properties.a) > 0.5",
    "resource.properties.s.lowerAscii() == 'abc'",
    "resource.properties.s.upperAscii().startsWith('A')",
    "resource.properties.s.contains('b') || resource.properties.s.endsWith('z')",
    "resource.properties.a > 1 ? resource.properties.b == true : false",
    "!resource.properties.a",
    "resource.properties.l[0] == 1",
    "resource.properties.m['x'] == 1",
    "resource.properties.m.x == 1",
    "has(resource.properties.m.x)",
    "resource.properties.l.join(',') == 'a,b'",
    "size(resource.properties.s) > 2",
    "resource.properties.s.size() == 3",
    "resource.properties.a == resource.properties.b",
    "resource.properties.l == [1, 2]",
    "resource.properties.m == resource.properties.m",
    "resource.properties.missing || true",
    "true && resource.properties.missing",
    "resource.properties.missing && false",
    "resource.properties.l.exists(x, x == 1 || resource.properties.missing)",
    "resource.properties.l.all(x, x != 1 && resource.properties.missing)",
    "context.estimated_monthly_cost <= params.max",
    "context.time > context.time",
    "dyn(resource.properties.a) == 1",
    "(resource.properties.a == 1) == (resource.properties.b == 1)",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 1.5, 2.0, -1.0]),
    st.text(alphabet="abcxyzAB-0123 \né", max_size=6),
    st.sampled_from(["a", "abc", "ABC", "b.c", "o", "x-1", "owner"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["x", "o", "a", "k"]), inner, max_size=3)
    ),
    max_leaves=8,
)
properties = st.dictionaries(st.sampled_from(["a", "b", "s", "l", "m"]), values, max_size=5)
tags = st.dictionaries(
    st.sampled_from(["owner", "team", "cost_center", "environment"]),
    st.sampled_from(["", "a", "A", "é", "x"]),
)


def bindings(
    props: dict[str, Any], resource_tags: dict[str, str], name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    from google.protobuf import timestamp_pb2

    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(NOW)
    resource = {"name": name, "type": "compute", "tags": resource_tags, "properties": props}
    params = {"tags": ["owner", "cost_center"], "max": 100.0}
    context = {"estimated_monthly_cost": 12.5, "team": "t"}
    return (
        {"resource": resource, "context": {**context, "time": stamp}, "params": params},
        {"resource": resource, "context": {**context, "time": NOW}, "params": params},
    )


FAST = {expression: compile_fast(expression, VARIABLES) for expression in EXPRESSIONS}
RULES = {expression: ENGINE.compile(expression) for expression in EXPRESSIONS}
ANSWERED: dict[str, int] = dict.fromkeys(EXPRESSIONS, 0)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_subset_gets_a_fast_path(expression: str) -> None:
    assert FAST[expression] is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    props=properties,
    resource_tags=tags,
    name=st.sampled_from(["web-1", "Web-1", "db", "a-1\n"]),
)
def test_fast_path_agrees_with_the_cel_runtime(
    props: dict[str, Any], resource_tags: dict[str, str], name: str
) -> None:
    reference_bindings, fast_bindings = bindings(props, resource_tags, name)
    for expression in EXPRESSIONS:
        fast = FAST[expression]
        assert fast is not None
        try:
            answer = fast(fast_bindings)
        except Defer:
            continue
        reference = ENGINE.evaluate(RULES[expression], reference_bindings)
        assert not isinstance(reference, RuleError), (expression, props, reference)
        assert answer is reference, (expression, props, resource_tags, answer, reference)
        ANSWERED[expression] += 1


def test_fast_path_answers_typical_resources() -> None:
    reference_bindings, fast_bindings = bindings(
        {"a": 1.0, "b": 2.0, "s": "abc", "l": [1.0, 2.0], "m": {"x": 1.0}},
        {"owner": "a", "cost_center": "x", "team": "a"},
        "web-1",
    )
    answered = 0
    for expression in EXPRESSIONS:
        fast = FAST[expression]
        assert fast is not None
        try:
            answer = fast(fast_bindings)
        except Defer:
            continue
        answered += 1
        assert answer is ENGINE.evaluate(RULES[expression], reference_bindings), expression
    assert answered >= len(EXPRESSIONS) - 8


@pytest.mark.parametrize(
    "expression",
    [
        "resource.name.split('-')[0] == 'a'",
        "cel.bind(x, 1, x == 1)",
        "resource.tags.?owner.orValue('') == ''",
        "context.time.getFullYear() == 2026",
        "timestamp('2026-01-01T00:00:00Z') < context.time",
        "resource.properties.a / 2 == 1",
        "resource.properties.a % 2 == 1",
        "type(resource.name) == string",
        "resource.name.matches(resource.properties.s)",
        'resource.name == "a\\nb"',
        "1u == 1u",
        "{'a': 1}.a == 1",
        "unknown == 1",
    ],
)
def test_outside_the_subset_has_no_fast_path(expression: str) -> None:
    assert compile_fast(expression, VARIABLES) is None


@pytest.mark.parametrize(
    "placeholder",
    [
        "resource.name",
        "params.tags.filter(t, !(t in resource.tags)).join(', ')",
        "resource.properties.a",
        "resource.properties.l",
        "context.estimated_monthly_cost",
        "size(resource.tags)",
        "resource.properties.missing",
    ],
)
def test_placeholders_render_the_same(placeholder: str) -> None:
    reference_bindings, fast_bindings = bindings({"a": 3.0, "l": ["x", 2.5, True]}, {"owner": "a"}, "web-1")
    fast = compile_fast_value(placeholder, VARIABLES)
    assert fast is not None
    template = ENGINE.compile_message("{" + placeholder + "}")
    expected = ENGINE.render(template, reference_bindings)
    try:
        assert format_value(fast(fast_bindings)) == expected
    except Defer:
        assert expected.startswith("<error:")


@pytest.mark.parametrize(
    "message",
    [
        "{resource.name} is missing: {params.tags.filter(t, !(t in resource.tags)).join(', ')}",
        "{resource.name} ({resource.type}) costs {context.estimated_monthly_cost} > {params.max}",
        "{resource.properties.a} and {resource.properties.missing}",
        "no placeholders at all",
        "{resource.name}",
    ],
)
def test_whole_messages_render_the_same(message: str) -> None:
    reference_bindings, fast_bindings = bindings({"a": 3.0}, {"owner": "a"}, "web-1")
    fast_engine = RuleEngine()
    expected = ENGINE.render(ENGINE.compile_message(message), reference_bindings)
    rendered = fast_engine.render(fast_engine.compile_message(message), reference_bindings, fast_bindings)
    assert rendered == expected


@pytest.mark.parametrize(
    "expression",
    [
        "resource.name == \"x'); import os; ('\"",
        'resource.name == \'x""" + __import__("os").name + "\'',
        "resource.properties.a.all(__import__, true)",
        "resource.name.startsWith('\\u0027')",
    ],
)
def test_rule_text_never_becomes_code(expression: str) -> None:
    fast = compile_fast(expression, VARIABLES)
    if fast is None:
        return  # outside the subset: nothing generated
    reference_bindings, fast_bindings = bindings({"a": [1.0]}, {}, "x")
    try:
        answer = fast(fast_bindings)
    except Defer:
        return
    assert answer is ENGINE.evaluate(ENGINE.compile(expression), reference_bindings)
