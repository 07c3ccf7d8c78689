"""The evaluator: enforcement levels, overrides, waivers, scope, rule errors and the built-ins."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from paved_policy.builtins import builtin_policies
from paved_policy.domain import (
    EnforcementLevel,
    EvaluationContext,
    Outcome,
    Override,
    Policy,
    PolicyException,
    Resource,
    Scope,
    Severity,
)
from paved_policy.evaluator import Evaluator, decide
from paved_policy.rules import RuleEngine

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CONTEXT = EvaluationContext(time=NOW, team="payments", environment="production", requester="alice")
TAGS = {"owner": "payments", "team": "payments", "cost_center": "cc-42", "environment": "production"}


def policy(
    policy_id: str,
    expression: str,
    level: EnforcementLevel = EnforcementLevel.HARD_MANDATORY,
    **kwargs: object,
) -> Policy:
    return Policy(
        policy_id=policy_id,
        expression=expression,
        severity=Severity.ERROR,
        enforcement_level=level,
        **kwargs,  # type: ignore[arg-type]
    )


def compute(name: str = "compute", **properties: object) -> Resource:
    return Resource(name, "compute", TAGS, {"instance_type": "m5.large", "replicas": 2.0, **properties})


@pytest.fixture(params=["grouped", "rule-by-rule", "cel-cpp-batched", "cel-cpp-one-by-one"])
def evaluator(request: pytest.FixtureRequest) -> Evaluator:
    return make_evaluator(request.param)


def make_evaluator(mode: str) -> Evaluator:
    """The same evaluation through each path: fast path grouped or not, the C++ runtime batched or not."""
    if mode == "grouped":
        return Evaluator(RuleEngine())
    if mode == "rule-by-rule":
        return Evaluator(RuleEngine(), group_rules=False, batch_rules=False)
    return Evaluator(RuleEngine(fast_path=False), batch_rules=mode == "cel-cpp-batched")


def test_everything_compliant_allows(evaluator: Evaluator) -> None:
    result = evaluator.evaluate([compute()], CONTEXT, [policy("small", "resource.properties.replicas <= 4")])
    assert result.outcome is Outcome.ALLOW
    assert result.results[0].policies_evaluated == 1
    assert result.results[0].violations == ()


@pytest.mark.parametrize(
    ("level", "outcome"),
    [
        (EnforcementLevel.ADVISORY, Outcome.ALLOW_WITH_WARNINGS),
        (EnforcementLevel.SOFT_MANDATORY, Outcome.NEEDS_OVERRIDE),
        (EnforcementLevel.HARD_MANDATORY, Outcome.DENY),
    ],
)
def test_each_level_decides_as_sentinel(
    evaluator: Evaluator, level: EnforcementLevel, outcome: Outcome
) -> None:
    result = evaluator.evaluate(
        [compute(replicas=10.0)], CONTEXT, [policy("small", "resource.properties.replicas <= 4", level)]
    )
    assert result.outcome is outcome
    [violation] = result.results[0].violations
    assert violation.policy == "policies/small"
    assert violation.enforcement_level is level
    assert violation.resource == "compute"


def test_override_passes_soft_mandatory_only_when_it_names_who_and_why(evaluator: Evaluator) -> None:
    soft = [policy("small", "resource.properties.replicas <= 4", EnforcementLevel.SOFT_MANDATORY)]
    big = [compute(replicas=10.0)]
    granted = evaluator.evaluate(big, CONTEXT, soft, override=Override("bob", "launch week"))
    assert (granted.outcome, granted.override_applied) == (Outcome.ALLOW_WITH_WARNINGS, True)
    for incomplete in (Override("", "launch week"), Override("bob", "  ")):
        refused = evaluator.evaluate(big, CONTEXT, soft, override=incomplete)
        assert (refused.outcome, refused.override_applied) == (Outcome.NEEDS_OVERRIDE, False)


def test_override_never_passes_hard_mandatory(evaluator: Evaluator) -> None:
    policies = [
        policy("small", "resource.properties.replicas <= 4", EnforcementLevel.SOFT_MANDATORY),
        policy("typed", "resource.properties.instance_type.startsWith('c5')"),
    ]
    result = evaluator.evaluate([compute(replicas=10.0)], CONTEXT, policies, override=Override("bob", "why"))
    assert (result.outcome, result.override_applied) == (Outcome.DENY, False)


def test_override_not_needed_is_not_applied(evaluator: Evaluator) -> None:
    result = evaluator.evaluate(
        [compute()],
        CONTEXT,
        [policy("small", "resource.properties.replicas <= 4")],
        override=Override("b", "r"),
    )
    assert (result.outcome, result.override_applied) == (Outcome.ALLOW, False)


@pytest.mark.parametrize(
    ("level", "outcome"),
    [
        (EnforcementLevel.ADVISORY, Outcome.ALLOW_WITH_WARNINGS),
        (EnforcementLevel.SOFT_MANDATORY, Outcome.NEEDS_OVERRIDE),
        (EnforcementLevel.HARD_MANDATORY, Outcome.DENY),
    ],
)
def test_runtime_error_is_never_a_pass(
    evaluator: Evaluator, level: EnforcementLevel, outcome: Outcome
) -> None:
    policies = [
        policy("encrypted", "resource.properties.encrypted == true", level),
        policy("small", "resource.properties.replicas <= 4"),
    ]
    result = evaluator.evaluate([compute()], CONTEXT, policies)
    assert result.outcome is outcome
    [error] = result.results[0].errors
    assert error.policy == "policies/encrypted"
    assert error.resource == "compute"
    assert error.message == "no such key: encrypted"
    assert error.enforcement_level is level
    assert result.results[0].violations == ()


def test_scope_by_resource_type_team_and_environment(evaluator: Evaluator) -> None:
    never = "false"
    policies = [
        policy("db-only", never, scope=Scope(resource_types=("database",))),
        policy("payments-only", never, scope=Scope(teams=("payments",))),
        policy("search-only", never, scope=Scope(teams=("search",))),
        policy("staging-only", never, scope=Scope(environments=("staging",))),
        policy("prod-compute", never, scope=Scope(resource_types=("compute",), environments=("production",))),
    ]
    result = evaluator.evaluate([compute()], CONTEXT, policies)
    assert sorted(v.policy for v in result.results[0].violations) == [
        "policies/payments-only",
        "policies/prod-compute",
    ]
    assert result.results[0].policies_evaluated == 2


def test_scope_falls_back_to_resource_tags_without_context_team() -> None:
    evaluator = Evaluator(RuleEngine())
    context = EvaluationContext(time=NOW)
    scoped = [policy("payments-only", "false", scope=Scope(teams=("payments",)))]
    other = Resource("x", "compute", {**TAGS, "team": "search"}, {})
    result = evaluator.evaluate([compute(), other], context, scoped)
    assert [r.policies_evaluated for r in result.results] == [1, 0]


def exception(**kwargs: object) -> PolicyException:
    values: dict[str, object] = {
        "name": "policies/small/exceptions/e1",
        "policy": "policies/small",
        "approved_by": "carol",
        "reason": "migration",
        "expire_time": NOW + timedelta(days=1),
    }
    values.update(kwargs)
    return PolicyException(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("waiver", "waived"),
    [
        (exception(), True),
        (exception(resource_pattern="comp*"), True),
        (exception(resource_pattern="db-*"), False),
        (exception(team="payments"), True),
        (exception(team="search"), False),
        (exception(policy="policies/other"), False),
        (exception(expire_time=NOW - timedelta(seconds=1)), False),
        (exception(expire_time=NOW), False),
    ],
)
def test_exceptions_waive_matching_violations_until_they_expire(
    evaluator: Evaluator, waiver: PolicyException, waived: bool
) -> None:
    result = evaluator.evaluate(
        [compute(replicas=10.0)],
        CONTEXT,
        [policy("small", "resource.properties.replicas <= 4")],
        [waiver],
        now=NOW,
    )
    if waived:
        assert result.outcome is Outcome.ALLOW
        [item] = result.results[0].waived
        assert item.exception == waiver.name
        assert item.violation.policy == "policies/small"
        assert result.results[0].violations == ()
    else:
        assert result.outcome is Outcome.DENY
        assert result.results[0].waived == ()


def test_messages_interpolate_resource_fields(evaluator: Evaluator) -> None:
    policies = [
        policy(
            "small",
            "resource.properties.replicas <= params.max",
            message="{resource.name} asks for {resource.properties.replicas} replicas; at most {params.max}",
            parameters={"max": 4.0},
        ),
        policy("silent", "false"),
    ]
    result = evaluator.evaluate([compute(replicas=10.0)], CONTEXT, policies)
    messages = sorted(v.message for v in result.results[0].violations)
    assert messages == [
        "compute asks for 10 replicas; at most 4",
        "compute does not comply with policies/silent",
    ]


def test_every_evaluation_path_agrees_on_random_inputs() -> None:
    rng = random.Random(7)
    policies = [
        *builtin_policies(max_monthly_cost=500.0, currency="USD"),
        policy("replicas", "resource.properties.replicas <= 3", EnforcementLevel.SOFT_MANDATORY),
        policy("raw", "resource.properties.encrypted", EnforcementLevel.ADVISORY),
        policy("spot", "!resource.properties.spot || resource.tags.environment != 'production'"),
        policy(
            "names", "resource.name.matches('^r[0-4][0-9]*$')", message="{resource.name}: {resource.type}"
        ),
        policy("split", "resource.name.split('1').size() == 1"),  # outside the fast path's subset
        policy("lower", "resource.tags.all(k, resource.tags[k].lowerAscii() == resource.tags[k])"),
        policy(
            "gb",
            "resource.properties.encrypted && resource.properties.replicas > 2",
            EnforcementLevel.ADVISORY,
        ),
    ]
    resources = []
    for index in range(200):
        tags = {k: v for k, v in TAGS.items() if rng.random() > 0.1}
        properties: dict[str, object] = {"replicas": float(rng.randint(1, 5))}
        if rng.random() > 0.3:
            properties["encrypted"] = rng.random() > 0.3
        if rng.random() > 0.5:
            properties["spot"] = rng.random() > 0.5
        if rng.random() > 0.5:
            properties["estimated_monthly_cost"] = float(rng.randint(100, 900))
        kind = rng.choice(["compute", "database", "storage", "networking"])
        resources.append(Resource(f"r{index}", kind, tags, properties))
    reference = make_evaluator("cel-cpp-one-by-one").evaluate(resources, CONTEXT, policies)
    for mode in ("grouped", "rule-by-rule", "cel-cpp-batched"):
        assert make_evaluator(mode).evaluate(resources, CONTEXT, policies) == reference, mode
    assert any(r.errors for r in reference.results) and any(r.violations for r in reference.results)


def test_policy_revisions_are_reported() -> None:
    policies = [policy("a", "true", revision=3), policy("b", "true", revision=1)]
    result = Evaluator(RuleEngine()).evaluate([compute()], CONTEXT, policies)
    assert result.policy_revisions == {"policies/a": 3, "policies/b": 1}


def test_decide_without_results_allows() -> None:
    assert decide([], None) == (Outcome.ALLOW, False)


class TestBuiltins:
    """The source design's three policies, written in CEL."""

    evaluator = Evaluator(RuleEngine())
    policies = builtin_policies(max_monthly_cost=10000.0, currency="USD")

    def run(self, resource: Resource, cost: float = 100.0) -> list[tuple[str, str]]:
        context = EvaluationContext(time=NOW, estimated_monthly_cost=cost, currency="USD")
        result = self.evaluator.evaluate([resource], context, self.policies)
        assert result.results[0].errors == ()
        return [(v.policy, v.message) for v in result.results[0].violations]

    def test_compliant_resources_pass(self) -> None:
        assert self.run(Resource("db", "database", TAGS, {"encrypted": True})) == []
        assert self.run(compute()) == []

    def test_required_tags_names_the_missing_ones(self) -> None:
        tags = {"owner": "payments", "cost_center": ""}
        assert self.run(Resource("web", "compute", tags, {})) == [
            ("policies/required_tags", "web is missing required tag(s): cost_center, environment")
        ]

    @pytest.mark.parametrize("properties", [{}, {"encrypted": False}, {"encrypted": "yes"}])
    def test_encryption_for_data_stores(self, properties: dict[str, object]) -> None:
        for kind in ("database", "storage"):
            assert self.run(Resource("store", kind, TAGS, properties)) == [
                (
                    "policies/enforce_encryption",
                    f"{kind} store must be encrypted at rest (set encrypted: true)",
                )
            ]
        assert self.run(Resource("web", "compute", TAGS, properties)) == []

    def test_cost_limit_warns_on_the_plan_or_the_resource_estimate(self) -> None:
        assert self.run(compute(), cost=12000.0) == [
            (
                "policies/cost_limit",
                "compute: estimated monthly cost 12000 USD exceeds the limit of 10000 USD",
            )
        ]
        assert self.run(compute(estimated_monthly_cost=20000.0), cost=10.0)[0][0] == "policies/cost_limit"
        assert self.run(compute(estimated_monthly_cost=10000.0), cost=99999.0) == []

    def test_levels(self) -> None:
        levels = {p.policy_id: (p.severity, p.enforcement_level) for p in self.policies}
        assert levels == {
            "required_tags": (Severity.ERROR, EnforcementLevel.HARD_MANDATORY),
            "enforce_encryption": (Severity.ERROR, EnforcementLevel.HARD_MANDATORY),
            "cost_limit": (Severity.WARNING, EnforcementLevel.ADVISORY),
        }


def test_large_audits_pause_the_cyclic_collector_and_restore_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import paved_policy.evaluator as evaluator_module

    monkeypatch.setattr(evaluator_module, "PAUSE_COLLECTOR_AT", 3)
    seen: list[bool] = []
    real = evaluator_module.Evaluator._evaluate

    def spy(self: Evaluator, *args: object) -> object:
        seen.append(gc.isenabled())
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluator_module.Evaluator, "_evaluate", spy)
    evaluator = Evaluator(RuleEngine())
    evaluator.evaluate([compute("a")], CONTEXT, [policy("t", "true")])
    evaluator.evaluate([compute("a"), compute("b"), compute("c")], CONTEXT, [policy("t", "true")])
    assert seen == [True, False]
    assert gc.isenabled()


def test_a_stored_rule_that_no_longer_compiles_fails_instead_of_passing() -> None:
    broken = policy("broken", "resource.(", EnforcementLevel.SOFT_MANDATORY)
    fine = policy("fine", "true")
    result = Evaluator(RuleEngine()).evaluate([compute("a"), compute("b")], CONTEXT, [fine, broken])
    assert result.outcome is Outcome.NEEDS_OVERRIDE
    for item in result.results:
        [error] = item.errors
        assert error.policy == "policies/broken"
        assert error.message.startswith("the rule does not compile: line 1, column")
