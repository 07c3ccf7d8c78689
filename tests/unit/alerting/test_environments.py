"""Rules and samples per environment: a rule sees only its environment's series, a sample or rule that
names none belongs to the default environment, and each environment gets its own default rules."""

from __future__ import annotations

import pytest
from paved_alerting.evaluator import AlertState, Evaluator
from paved_alerting.export import promql
from paved_alerting.rules import (
    DEFAULT_ENVIRONMENT,
    RULE_ID,
    RuleDraft,
    Severity,
    build_rule,
    default_rule_drafts,
)
from paved_alerting.samples import SampleStore
from paved_kit.errors import InvalidArgument

T0 = 1_800_000_000.0


def rule(rule_id: str, environment: str = ""):  # type: ignore[no-untyped-def]
    return build_rule(
        rule_id,
        RuleDraft(
            service="checkout",
            environment=environment,
            team="payments",
            display_name="Service Down",
            expression="up == 0",
            severity=Severity.CRITICAL,
        ),
    )


def test_a_rule_sees_only_the_samples_of_its_environment() -> None:
    evaluator = Evaluator(SampleStore(window=8, lookback_seconds=300))
    evaluator.load([rule("down-staging", "staging"), rule("down-production", "production")])
    evaluator.samples.ingest(
        [("checkout", "up", 0.0, T0, "staging"), ("checkout", "up", 1.0, T0, "production")]
    )
    evaluator.evaluate(T0)
    assert evaluator.status("down-staging").state is AlertState.FIRING  # type: ignore[union-attr]
    assert evaluator.status("down-production").state is AlertState.INACTIVE  # type: ignore[union-attr]
    assert [r.rule_id for r in evaluator.rules_of("checkout", "staging")] == ["down-staging"]


def test_no_environment_means_the_default_one_for_rules_and_samples() -> None:
    default = rule("down")
    assert default.environment == DEFAULT_ENVIRONMENT
    assert default.alert_labels()["environment"] == DEFAULT_ENVIRONMENT
    evaluator = Evaluator(SampleStore(window=8, lookback_seconds=300))
    evaluator.load([default])
    evaluator.samples.ingest([("checkout", "up", 0.0, T0)])
    evaluator.evaluate(T0)
    assert evaluator.status("down").state is AlertState.FIRING  # type: ignore[union-attr]
    assert evaluator.samples.value_at("checkout", "up", T0, "") == 0.0
    assert evaluator.samples.value_at("checkout", "up", T0, "staging") is None


def test_each_environment_has_its_own_default_rules_and_development_keeps_the_old_ids() -> None:
    development = [rule_id for rule_id, _ in default_rule_drafts("checkout", "payments")]
    staging = default_rule_drafts("checkout", "payments", "staging")
    assert development == [
        "checkout-high-error-rate",
        "checkout-service-down",
        "checkout-high-latency",
        "checkout-anomalies",
    ]
    assert staging[0][0] == "checkout-staging-high-error-rate"
    assert {draft.environment for _, draft in staging} == {"staging"}
    longest = default_rule_drafts("s" * 63, "payments", "e" * 63)
    assert all(RULE_ID.match(rule_id) for rule_id, _ in longest)
    assert len({rule_id for rule_id, _ in longest}) == 4


def test_a_bad_environment_is_named() -> None:
    with pytest.raises(InvalidArgument) as raised:
        rule("down", "Not A Label")
    assert [v.field for v in raised.value.field_violations] == ["alert_rule.environment"]


def test_exported_promql_selects_the_environment_except_for_the_default_one() -> None:
    assert 'environment="staging"' in promql(rule("down-staging", "staging"))
    assert "environment" not in promql(rule("down"))
