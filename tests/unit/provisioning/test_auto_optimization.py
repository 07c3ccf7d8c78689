"""Which part of a recommendation is applied automatically now, and the reasons the rest waits."""

from __future__ import annotations

from dataclasses import replace

from paved_provisioning.auto_optimization import (
    MIB,
    Advice,
    AutoApplyRules,
    Recommendation,
    cpu_quantity,
    decide,
    guardrail_properties,
    memory_quantity,
)

RULES = AutoApplyRules(period_seconds=86400, learning_days=7, min_confidence=7, min_change=0.1)
HOUR = 3600.0


def rec(
    cpu: tuple[float, float] = (0.25, 0.25),
    memory: tuple[float, float] = (256 * MIB, 256 * MIB),
    days: float = 9.0,
    confidence: float = 9.0,
    decrease_allowed: bool = True,
    memory_limit: tuple[float | None, float | None] = (None, None),
) -> Recommendation:
    return Recommendation(
        service="checkout",
        environment="staging",
        resource="compute",
        cpu=Advice(cpu[0], cpu[1], evidence_days=days),
        memory=Advice(
            memory[0],
            memory[1],
            current_limit=memory_limit[0],
            recommended_limit=memory_limit[1],
            evidence_days=days,
        ),
        confidence=confidence,
        decrease_allowed=decrease_allowed,
        reasons=("recent OOM kill",) if not decrease_allowed else (),
    )


def test_quantities_round_up_to_whole_millicores_and_mebibytes() -> None:
    assert cpu_quantity(0.0251) == "26m"
    assert cpu_quantity(0.0) == "1m"
    assert memory_quantity(60 * MIB + 1) == "61Mi"
    assert memory_quantity(64 * MIB) == "64Mi"


def test_a_decrease_with_enough_history_and_confidence_is_applied() -> None:
    decision = decide(rec(cpu=(0.25, 0.03)), RULES, since_last=None)
    assert decision.apply
    assert decision.change == {"cpu_request": "30m"}
    assert decision.decreases == ("cpu_request to 30m",)
    assert decision.skipped == ()
    assert decision.reason() == "automatic rightsizing: decrease cpu_request to 30m"


def test_decreases_wait_for_the_learning_period() -> None:
    decision = decide(rec(cpu=(0.25, 0.03), days=3.0, confidence=9.0), RULES, since_last=None)
    assert not decision.apply
    assert decision.skipped == ("cpu_request: decreases wait for 7 days of history (have 3.0)",)


def test_decreases_wait_for_the_minimum_confidence() -> None:
    decision = decide(rec(cpu=(0.25, 0.03), confidence=2.5), RULES, since_last=None)
    assert not decision.apply
    assert decision.skipped == ("cpu_request: confidence 2.5 is below the minimum 7",)


def test_decreases_wait_when_cost_withholds_them() -> None:
    decision = decide(rec(cpu=(0.25, 0.03), decrease_allowed=False), RULES, since_last=None)
    assert not decision.apply
    assert decision.skipped == ("cpu_request: cost withholds decreases: recent OOM kill",)


def test_one_decrease_per_period() -> None:
    within = decide(rec(cpu=(0.25, 0.03)), RULES, since_last=5 * HOUR)
    assert not within.apply
    assert within.skipped == ("cpu_request: changed 5.0 h ago; one change per 24 h",)
    after = decide(rec(cpu=(0.25, 0.03)), RULES, since_last=25 * HOUR)
    assert after.change == {"cpu_request": "30m"}


def test_increases_go_out_at_once_without_history_and_within_the_period() -> None:
    decision = decide(rec(memory=(256 * MIB, 400 * MIB), days=0.5, confidence=0.2), RULES, since_last=HOUR)
    assert decision.change == {"memory_request": "400Mi"}
    assert decision.increases == ("memory_request to 400Mi",)
    assert decision.skipped == ()


def test_a_mixed_recommendation_applies_the_increase_and_says_why_the_decrease_waits() -> None:
    decision = decide(
        rec(cpu=(0.25, 0.05), memory=(256 * MIB, 512 * MIB), days=2.0, confidence=2.0),
        RULES,
        since_last=None,
    )
    assert decision.change == {"memory_request": "512Mi"}
    assert decision.skipped == (
        "cpu_request: decreases wait for 7 days of history (have 2.0)",
        "cpu_request: confidence 2.0 is below the minimum 7",
    )
    assert decision.reason() == (
        "automatic rightsizing: increase memory_request to 512Mi; withheld: "
        "cpu_request: decreases wait for 7 days of history (have 2.0); "
        "cpu_request: confidence 2.0 is below the minimum 7"
    )


def test_small_changes_are_left_alone() -> None:
    decision = decide(rec(cpu=(0.25, 0.24), memory=(256 * MIB, 270 * MIB)), RULES, since_last=None)
    assert not decision.apply
    assert decision.skipped == (
        "cpu_request 240m is within 10% of now",
        "memory_request 270Mi is within 10% of now",
    )


def test_nothing_to_change() -> None:
    decision = decide(rec(), RULES, since_last=None)
    assert not decision.apply
    assert decision.skipped == ("the recommendation changes nothing",)
    # Cost's own reasons (e.g. its learning period) say why.
    withheld = decide(rec(decrease_allowed=False), RULES, since_last=None)
    assert withheld.skipped == ("the recommendation changes nothing: recent OOM kill",)


def test_a_limit_set_for_the_first_time_is_an_increase() -> None:
    decision = decide(rec(memory_limit=(None, 512 * MIB), days=0.0, confidence=0.0), RULES, None)
    assert decision.change == {"memory_limit": "512Mi"}


def test_a_limit_cut_is_a_decrease() -> None:
    young = rec(memory_limit=(1024 * MIB, 512 * MIB), days=1.0, confidence=1.0)
    assert not decide(young, RULES, None).apply
    old = replace(young, confidence=8.0, cpu=replace(young.cpu, evidence_days=8.0))
    old = replace(old, memory=replace(old.memory, evidence_days=8.0))
    assert decide(old, RULES, None).change == {"memory_limit": "512Mi"}


def test_rules_are_the_operators() -> None:
    lenient = AutoApplyRules(period_seconds=0, learning_days=1, min_confidence=1, min_change=0.0)
    decision = decide(rec(cpu=(0.25, 0.24), days=2.0, confidence=2.0), lenient, since_last=10.0)
    assert decision.change == {"cpu_request": "240m"}


def test_guardrails_see_what_is_applied_not_what_is_withheld() -> None:
    mixed = rec(cpu=(0.25, 0.05), memory=(256 * MIB, 512 * MIB), days=2.0, confidence=2.0)
    decision = decide(mixed, RULES, since_last=None)
    props = guardrail_properties(mixed, decision.change)
    assert props["cpu_cut"] == 0.0  # the CPU decrease waits, so it is no cut
    assert props["memory_change"] == 1.0 and props["increase"] is True
    assert props["memory_request"] == "512Mi" and props["automatic"] is True
    applied = guardrail_properties(rec(cpu=(0.25, 0.05)), {"cpu_request": "50m"})
    assert applied["cpu_cut"] == 0.8 and applied["memory_cut"] == 0.0 and applied["increase"] is False
