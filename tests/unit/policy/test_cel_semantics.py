"""CEL semantics policies rely on, table-driven: has(), missing keys, macros, strings, numbers, errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from paved_policy.domain import EvaluationContext, Resource
from paved_policy.rules import RuleEngine, RuleError, context_binding, resource_binding

ENGINE = RuleEngine()

RESOURCE = Resource(
    name="payments-db",
    type="database",
    tags={"owner": "payments", "team": "payments", "environment": "production"},
    # Struct numbers arrive as doubles: rules must compare them with int literals naturally.
    properties={
        "engine": "postgres",
        "encrypted": True,
        "storage_gb": 100.0,
        "replicas": 3.0,
        "ratio": 0.5,
        "zones": ["eu-west-1a", "eu-west-1b"],
        "limits": {"cpu": "500m"},
        "nothing": None,
    },
)
CONTEXT = EvaluationContext(
    time=datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC),
    team="payments",
    environment="production",
    requester="alice@example.com",
    estimated_monthly_cost=1234.5,
    currency="USD",
    attributes={"ticket": "CHG-1"},
)
BINDINGS = {
    "resource": resource_binding(RESOURCE),
    "context": context_binding(CONTEXT),
    "params": {"tags": ["owner", "cost_center"], "max": 5000.0, "count": 3},
}


def evaluate(expression: str) -> bool | RuleError:
    return ENGINE.evaluate(ENGINE.compile(expression), BINDINGS)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # has(): presence test on map keys, never an error
        ("has(resource.properties.encrypted)", True),
        ("has(resource.properties.missing)", False),
        ("has(resource.tags.owner)", True),
        ("has(resource.tags.cost_center)", False),
        ("has(resource.properties.limits.cpu)", True),
        ("has(resource.properties.nothing)", True),
        ("has(context.attributes.ticket)", True),
        # `in` on maps tests keys
        ("'owner' in resource.tags", True),
        ("'cost_center' in resource.tags", False),
        # comprehension macros over lists
        ("params.tags.all(t, t in resource.tags)", False),
        ("params.tags.exists(t, t in resource.tags)", True),
        ("params.tags.exists_one(t, t in resource.tags)", True),
        ("resource.properties.zones.all(z, z.startsWith('eu-'))", True),
        ("resource.properties.zones.exists(z, z.endsWith('1c'))", False),
        ("[].all(x, x > 0)", True),
        ("[].exists(x, x > 0)", False),
        ("size(resource.properties.zones.filter(z, z.contains('1a'))) == 1", True),
        ("resource.properties.zones.map(z, z.size()).all(n, n == 10)", True),
        # comprehension over a map iterates its keys
        ("resource.tags.all(k, k.lowerAscii() == k)", True),
        # string functions
        ("resource.name.startsWith('payments-')", True),
        ("resource.name.endsWith('-db')", True),
        ("resource.name.contains('ments')", True),
        ("resource.name.matches('^[a-z]+-[a-z]+$')", True),
        ("size(resource.name) == 11", True),
        ("resource.name.upperAscii() == 'PAYMENTS-DB'", True),
        ("resource.name.split('-')[1] == 'db'", True),
        ("resource.properties.zones.join(',') == 'eu-west-1a,eu-west-1b'", True),
        ("resource.name.replace('-db', '') == 'payments'", True),
        ("resource.name.indexOf('-') == 8", True),
        ("resource.properties.engine in ['postgres', 'mysql']", True),
        # numbers: doubles from Struct against int literals, across int/double at runtime
        ("resource.properties.storage_gb >= 100", True),
        ("resource.properties.storage_gb == 100", True),
        ("resource.properties.replicas > 2", True),
        ("resource.properties.replicas < 3.5", True),
        ("resource.properties.ratio < 1", True),
        ("context.estimated_monthly_cost <= params.max", True),
        ("params.count == 3.0", True),
        ("int(resource.properties.storage_gb) == 100", True),
        ("double(params.count) / 2.0 == 1.5", True),
        ("dyn(1) == 1.0", True),
        ("dyn(2) > 1.5", True),
        # time
        ("context.time.getFullYear() == 2026", True),
        ("context.time > timestamp('2026-01-01T00:00:00Z')", True),
        ("context.time.getDayOfWeek() == 6", True),
        # logical operators absorb errors when the other side decides (commutative && and ||)
        ("has(resource.properties.missing) && resource.properties.missing == 1", False),
        ("resource.properties.missing == 1 || true", True),
        ("false && resource.properties.missing", False),
        ("!has(resource.properties.missing) || resource.properties.missing > 0", True),
        ("resource.type == 'database' ? resource.properties.encrypted : false", True),
        # optional values
        ("resource.tags.?cost_center.orValue('none') == 'none'", True),
        ("resource.tags.?owner.orValue('none') == 'payments'", True),
        # null
        ("resource.properties.nothing == null", True),
        # bindings
        ("cel.bind(g, resource.properties.storage_gb, g > 10 && g < 1000)", True),
    ],
)
def test_expression_results(expression: str, expected: bool) -> None:
    assert evaluate(expression) is expected


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        # a missing map key is an error, never a silent false
        ("resource.properties.missing == true", "no such key: missing"),
        ("resource.tags.cost_center == 'x'", "no such key: cost_center"),
        ("context.attributes.nope == 1", "no such key: nope"),
        ("resource.properties.missing", "no such key: missing"),
        ("true && resource.properties.missing", "no such key: missing"),
        # wrong types meet at runtime: no implicit conversions
        ("resource.properties.storage_gb > 'big'", "no matching overload"),
        ("resource.name + 1 > 0", "no matching overload"),
        ("resource.properties.storage_gb + 1 > 100", "no matching overload"),
        # arithmetic and indexing errors
        ("params.count / 0 == 1", "divide by zero"),
        ("resource.properties.zones[5] == 'x'", "index"),
        ("resource.name.matches('[')", "regular expression"),
        # a rule must yield a bool
        ("resource.name", "not bool"),
        ("resource.properties.storage_gb", "not bool"),
        ("params.tags.all(t, resource.tags[t] != '')", "no such key: cost_center"),
    ],
)
def test_runtime_errors_are_reported(expression: str, fragment: str) -> None:
    outcome = evaluate(expression)
    assert isinstance(outcome, RuleError), outcome
    assert fragment in outcome.message


@pytest.mark.parametrize(
    ("expression", "line", "column", "fragment"),
    [
        ("resource.name ==", 1, 17, "Syntax error"),
        ("resource.name == 'x' &&& true", 1, 24, "Syntax error"),
        ("nope == 1", 1, 1, "undeclared reference to 'nope'"),
        ("resource.name.nosuch()", 1, 21, "undeclared reference to 'nosuch'"),
        ("1 + 2", 1, 1, "must yield a bool"),
        ("'text'", 1, 1, "must yield a bool"),
        ("resource.name == 'a'\n  && resource.type ==", 2, 22, "Syntax error"),
        ("   ", 1, 1, "expression is empty"),
        ("1 < 1.5", 1, 3, "no matching overload"),
    ],
)
def test_compile_errors_carry_position(expression: str, line: int, column: int, fragment: str) -> None:
    from paved_policy.rules import RuleCompileError

    with pytest.raises(RuleCompileError) as caught:
        ENGINE.compile(expression)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.message
    assert f"line {line}, column {column}" in str(caught.value)


def test_compiled_programs_are_cached_by_expression_and_revision() -> None:
    engine = RuleEngine()
    first = engine.compile("resource.type == 'database'", 1)
    assert engine.compile("resource.type == 'database'", 1) is first
    assert engine.compile("resource.type == 'database'", 2) is not first
    assert engine.cached_rules == 2


def test_cache_is_bounded() -> None:
    engine = RuleEngine(cache_size=16)
    for index in range(40):
        engine.compile(f"resource.name == 'r{index}'")
    assert engine.cached_rules == 16


def test_batch_matches_single_evaluation_and_defers_on_error() -> None:
    rules = [("params.tags.exists(t, t in resource.tags)", 1), ("resource.properties.storage_gb > 10", 1)]
    batch = ENGINE.compile_batch(rules)
    params = [BINDINGS["params"], {}]
    assert ENGINE.evaluate_batch(batch, BINDINGS["resource"], BINDINGS["context"], params) == [True, True]
    failing = ENGINE.compile_batch([*rules, ("resource.properties.missing", 1)])
    assert ENGINE.evaluate_batch(failing, BINDINGS["resource"], BINDINGS["context"], [*params, {}]) is None


def test_batch_keeps_each_rules_params_apart() -> None:
    batch = ENGINE.compile_batch([("params.limit > 10", 1), ("params.limit > 10", 2)])
    assert ENGINE.evaluate_batch(batch, {}, {}, [{"limit": 20}, {"limit": 5}]) == [True, False]


def test_user_rules_cannot_reach_the_batch_parameter_list() -> None:
    from paved_policy.rules import RuleCompileError

    with pytest.raises(RuleCompileError):
        ENGINE.compile("size(__params) > 0")


@pytest.mark.parametrize(
    ("message", "rendered"),
    [
        ("{resource.name} lacks encryption", "payments-db lacks encryption"),
        ("cost {context.estimated_monthly_cost} > {params.max}", "cost 1234.5 > 5000"),
        ("missing: {params.tags.filter(t, !(t in resource.tags)).join(', ')}", "missing: cost_center"),
        ("zones {resource.properties.zones}", "zones eu-west-1a, eu-west-1b"),
        ("enc={resource.properties.encrypted} n={params.count}", "enc=true n=3"),
        ("{resource.properties.missing}!", "<error: no such key: missing>!"),
        ("no placeholders", "no placeholders"),
    ],
)
def test_messages_interpolate_cel_placeholders(message: str, rendered: str) -> None:
    assert ENGINE.render(ENGINE.compile_message(message), BINDINGS) == rendered


def test_bad_placeholder_is_a_compile_error() -> None:
    from paved_policy.rules import RuleCompileError

    with pytest.raises(RuleCompileError, match="placeholder"):
        ENGINE.compile_message("bad {resource.}")
