"""Rule validation, expressions, durations, defaults and update masks."""

from __future__ import annotations

import pytest
from paved_alerting.durations import format_duration, parse_duration
from paved_alerting.rules import (
    Operator,
    RuleDraft,
    RuleKind,
    Severity,
    apply_mask,
    build_rule,
    default_rule_drafts,
    draft_of,
    parse_expression,
)
from paved_kit.errors import InvalidArgument


def draft(**changes: object) -> RuleDraft:
    values: dict[str, object] = {
        "service": "checkout",
        "team": "payments",
        "display_name": "Too Many Errors",
        "expression": "error_rate > 0.05",
        "for_ms": 120_000,
        "severity": Severity.WARNING,
    }
    values.update(changes)
    return RuleDraft(**values)  # type: ignore[arg-type]


def violations(error: pytest.ExceptionInfo[InvalidArgument]) -> dict[str, str]:
    return {v.field: v.description for v in error.value.field_violations}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("error_rate > 0.01", ("error_rate", Operator.GREATER_THAN, 0.01)),
        ("up == 0", ("up", Operator.EQUAL, 0.0)),
        ("  latency_p99>=1e3 ", ("latency_p99", Operator.GREATER_THAN_OR_EQUAL, 1000.0)),
        ("cpu != -1.5", ("cpu", Operator.NOT_EQUAL, -1.5)),
        ("memory <= .5", ("memory", Operator.LESS_THAN_OR_EQUAL, 0.5)),
        ("requests_per_second < 10", ("requests_per_second", Operator.LESS_THAN, 10.0)),
    ],
)
def test_expressions_parse(text: str, expected: tuple[str, Operator, float]) -> None:
    assert parse_expression(text) == expected


@pytest.mark.parametrize(
    "text", ["error_rate", "error_rate >", "> 1", "error_rate => 1", "a > b", "x > 1 or y"]
)
def test_malformed_expressions_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="operator"):
        parse_expression(text)


def test_a_valid_rule_gets_labels_and_default_annotations() -> None:
    rule = build_rule("checkout-errors", draft(labels={"runbook": "x"}))
    assert rule.condition.expression == "error_rate > 0.05"
    assert rule.alertname == "TooManyErrors"
    assert rule.alert_labels() == {
        "alertname": "TooManyErrors",
        "service": "checkout",
        "environment": "development",
        "team": "payments",
        "severity": "warning",
        "runbook": "x",
    }
    assert "{{ $labels.service }}" in rule.annotations["summary"]
    assert "{{ $value }}" in rule.annotations["description"]


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(InvalidArgument) as error:
        build_rule(
            "x",
            draft(
                service="Bad_Service",
                team="",
                display_name="  ",
                expression="rps > 3",
                for_ms=-1,
                severity=None,
                labels={"severity": "page", "bad-key": "v"},
                annotations={"summary": "{{ .Value }}"},
            ),
        )
    found = violations(error)
    assert set(found) == {
        "alert_rule.service",
        "alert_rule.team",
        "alert_rule.display_name",
        "alert_rule.expression",
        "alert_rule.for_duration",
        "alert_rule.severity",
        "alert_rule.labels[severity]",
        "alert_rule.labels[bad-key]",
        "alert_rule.annotations[summary]",
    }
    assert "unknown metric 'rps'" in found["alert_rule.expression"]
    assert "error_rate" in found["alert_rule.expression"]


def test_a_structured_condition_works_and_must_agree_with_an_expression() -> None:
    structured = draft(expression="", metric="up", operator=Operator.EQUAL, threshold=0.0)
    assert build_rule("a", structured).condition.expression == "up == 0"
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(metric="up", operator=Operator.EQUAL, threshold=0.0))
    assert "disagrees" in violations(error)["alert_rule.expression"]
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(expression="", metric="up", operator=None, threshold=0.0))
    assert "alert_rule.condition.operator" in violations(error)
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(expression=""))
    assert "alert_rule.condition" in violations(error)


def test_the_defaults_are_the_seed_s_three_and_anomaly_detection() -> None:
    rules = [
        build_rule(rule_id, d, default_rule=True) for rule_id, d in default_rule_drafts("checkout", "pay")
    ]
    summary = [(r.rule_id, r.display_name, r.condition.expression, r.for_ms, r.severity) for r in rules]
    assert summary == [
        ("checkout-high-error-rate", "High Error Rate", "error_rate > 0.01", 300_000, Severity.WARNING),
        ("checkout-service-down", "Service Down", "up == 0", 60_000, Severity.CRITICAL),
        ("checkout-high-latency", "High Latency", "latency_p99 > 1000", 600_000, Severity.WARNING),
        ("checkout-anomalies", "Anomaly Detected", "anomaly_score > 5.5", 0, Severity.WARNING),
    ]
    assert all(rule.default_rule for rule in rules)
    assert [(r.kind.value, r.sensitivity) for r in rules][-1] == ("anomaly", "medium")


def test_an_anomaly_rule_has_a_sensitivity_and_no_condition() -> None:
    high = build_rule("a", draft(expression="", kind=RuleKind.ANOMALY, sensitivity="high"))
    assert (high.condition.expression, high.kind) == ("anomaly_score > 4", RuleKind.ANOMALY)
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(expression="", kind=RuleKind.ANOMALY, sensitivity="extreme"))
    assert list(violations(error)) == ["alert_rule.anomaly.sensitivity"]
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(kind=RuleKind.ANOMALY))
    assert list(violations(error)) == ["alert_rule.condition"]
    with pytest.raises(InvalidArgument) as error:
        build_rule("a", draft(sensitivity="high"))
    assert list(violations(error)) == ["alert_rule.anomaly.sensitivity"]
    lowered = build_rule(
        "a", apply_mask(draft_of(high), RuleDraft(sensitivity="low"), ["anomaly.sensitivity"])
    )
    assert lowered.condition.threshold == 7.0 and lowered.sensitivity == "low"


def test_an_update_mask_changes_only_what_it_names_and_default_annotations_follow() -> None:
    rule = build_rule("a", draft(annotations={"runbook_url": "https://runbooks/x"}))
    incoming = RuleDraft(expression="error_rate > 0.2", team="ignored", display_name="ignored")
    updated = build_rule("a", apply_mask(draft_of(rule), incoming, ["expression"]))
    assert updated.condition.expression == "error_rate > 0.2"
    assert updated.team == "payments"
    assert "error_rate > 0.2" in updated.annotations["description"]
    assert updated.annotations["runbook_url"] == "https://runbooks/x"


@pytest.mark.parametrize(("paths", "bad"), [([], "update_mask"), (["service"], "update_mask")])
def test_update_masks_are_checked(paths: list[str], bad: str) -> None:
    rule = build_rule("a", draft())
    with pytest.raises(InvalidArgument) as error:
        apply_mask(draft_of(rule), RuleDraft(), paths)
    assert bad in violations(error)


@pytest.mark.parametrize(
    ("text", "ms"), [("5m", 300_000), ("1h30m", 5_400_000), ("250ms", 250), ("1d", 86_400_000), ("0s", 0)]
)
def test_prometheus_durations_round_trip(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
    assert format_duration(ms) == text


@pytest.mark.parametrize("text", ["", "5", "m5", "5m1h", "1.5h", "-1m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="Prometheus duration"):
        parse_duration(text)
