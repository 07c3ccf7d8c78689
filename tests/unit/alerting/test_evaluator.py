"""Prometheus alert semantics: pending, firing after the whole `for`, resolved, no data, flapping."""

from __future__ import annotations

from paved_alerting.evaluator import AlertState, Evaluator
from paved_alerting.rules import RuleDraft, Severity, build_rule
from paved_alerting.samples import SampleStore

T0 = 1_800_000_000.0


def make(expression: str = "error_rate > 0.01", for_ms: int = 300_000, enabled: bool = True) -> Evaluator:
    rule = build_rule(
        "checkout-errors",
        RuleDraft(
            service="checkout",
            team="payments",
            display_name="High Error Rate",
            expression=expression,
            for_ms=for_ms,
            severity=Severity.WARNING,
            enabled=enabled,
        ),
    )
    evaluator = Evaluator(SampleStore(window=8, lookback_seconds=300))
    evaluator.load([rule])
    return evaluator


def feed(evaluator: Evaluator, at: float, value: float, metric: str = "error_rate") -> list[AlertState]:
    evaluator.samples.add("checkout", metric, value, at)
    return [t.status.state for t in evaluator.evaluate(at)]


def state(evaluator: Evaluator) -> AlertState:
    status = evaluator.status("checkout-errors")
    assert status is not None
    return status.state


def test_pending_then_firing_exactly_after_for_then_resolved() -> None:
    evaluator = make()
    assert feed(evaluator, T0, 0.05) == [AlertState.PENDING]
    assert feed(evaluator, T0 + 60, 0.05) == []
    assert feed(evaluator, T0 + 299, 0.05) == []
    assert state(evaluator) is AlertState.PENDING
    assert feed(evaluator, T0 + 300, 0.05) == [AlertState.FIRING]
    status = evaluator.status("checkout-errors")
    assert status is not None and status.active_at == T0 and status.fired_at == T0 + 300
    assert feed(evaluator, T0 + 360, 0.05) == []
    assert feed(evaluator, T0 + 420, 0.001) == [AlertState.RESOLVED]
    assert status.resolved_at == T0 + 420


def test_flapping_below_for_never_fires() -> None:
    evaluator = make()
    for minute in range(0, 60, 4):
        at = T0 + minute * 60
        feed(evaluator, at, 0.05)
        feed(evaluator, at + 180, 0.0)  # breaks after 3 minutes, before the 5-minute `for`
        assert state(evaluator) is AlertState.INACTIVE


def test_no_data_is_not_zero() -> None:
    # `up == 0` must not fire for a service that sends nothing.
    evaluator = make("up == 0", for_ms=0)
    assert evaluator.evaluate(T0) == []
    assert state(evaluator) is AlertState.INACTIVE
    status = evaluator.status("checkout-errors")
    assert status is not None and status.value is None


def test_stale_data_counts_as_no_data_and_resolves() -> None:
    evaluator = make("up == 0", for_ms=60_000)
    feed(evaluator, T0, 0, metric="up")
    evaluator.evaluate(T0 + 60)
    assert state(evaluator) is AlertState.FIRING
    assert [t.status.state for t in evaluator.evaluate(T0 + 301)] == [AlertState.RESOLVED]


def test_zero_for_fires_on_the_first_evaluation() -> None:
    evaluator = make(for_ms=0)
    transitions = evaluator.evaluate(T0)
    assert transitions == []
    evaluator.samples.add("checkout", "error_rate", 1.0, T0)
    transitions = evaluator.evaluate(T0)
    assert [(t.previous, t.status.state) for t in transitions] == [(AlertState.INACTIVE, AlertState.FIRING)]


def test_refiring_after_resolution_waits_for_the_whole_for_again() -> None:
    evaluator = make(for_ms=120_000)
    feed(evaluator, T0, 1)
    feed(evaluator, T0 + 120, 1)
    feed(evaluator, T0 + 180, 0)
    assert state(evaluator) is AlertState.RESOLVED
    assert feed(evaluator, T0 + 240, 1) == [AlertState.PENDING]
    assert feed(evaluator, T0 + 300, 1) == []
    assert feed(evaluator, T0 + 360, 1) == [AlertState.FIRING]


def test_a_disabled_rule_does_not_fire() -> None:
    evaluator = make(for_ms=0, enabled=False)
    assert feed(evaluator, T0, 1) == []


def test_an_evaluation_in_the_past_reads_the_sample_of_then() -> None:
    evaluator = make(for_ms=0)
    evaluator.samples.add("checkout", "error_rate", 1.0, T0)
    evaluator.samples.add("checkout", "error_rate", 0.0, T0 + 60)
    assert [t.status.state for t in evaluator.evaluate(T0 + 30)] == [AlertState.FIRING]
    assert [t.status.state for t in evaluator.evaluate(T0 + 60)] == [AlertState.RESOLVED]


def test_rules_keep_their_state_when_replaced_and_forget_it_when_removed() -> None:
    evaluator = make(for_ms=0)
    feed(evaluator, T0, 1)
    rule = evaluator.rule("checkout-errors")
    assert rule is not None
    evaluator.set_rule(rule)
    assert state(evaluator) is AlertState.FIRING
    removed = evaluator.remove_rule("checkout-errors")
    assert removed is not None and removed.state is AlertState.FIRING
    assert len(evaluator) == 0 and evaluator.rules_of("checkout") == []


def test_restoring_undoes_unrecorded_transitions() -> None:
    evaluator = make(for_ms=60_000)
    feed(evaluator, T0, 1)
    evaluator.samples.add("checkout", "error_rate", 1, T0 + 60)
    transitions = evaluator.evaluate(T0 + 60)
    assert [t.status.state for t in transitions] == [AlertState.FIRING]
    evaluator.restore(transitions)
    status = evaluator.status("checkout-errors")
    assert status is not None and status.state is AlertState.PENDING and status.active_at == T0
    assert [t.status.state for t in evaluator.evaluate(T0 + 61)] == [AlertState.FIRING]
