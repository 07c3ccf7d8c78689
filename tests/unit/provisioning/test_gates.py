"""The promotion gates' verdicts and the evidence each gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from paved_provisioning import gates
from paved_provisioning.promotions import EnvironmentRule, check_direction
from paved_provisioning.validation import Violations

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def test_policy_gate_passes_allowed_plans_and_refuses_denied_ones() -> None:
    allowed = gates.policy_gate({"decision": "decisions/1", "outcome": "ALLOW_WITH_WARNINGS"}, "production")
    denied = gates.policy_gate({"decision": "decisions/2", "outcome": "DENY"}, "production")
    override = gates.policy_gate(
        {"decision": "decisions/3", "outcome": "NEEDS_OVERRIDE", "override_approved_by": "carol"},
        "production",
    )
    unapproved = gates.policy_gate({"decision": "decisions/4", "outcome": "NEEDS_OVERRIDE"}, "production")

    assert allowed.passed and "decisions/1: ALLOW_WITH_WARNINGS at production's" in allowed.evidence
    assert not denied.passed and "not allowed there" in denied.evidence
    assert override.passed and "overridden by carol" in override.evidence
    assert not unapproved.passed


def test_soak_gate_needs_the_time_and_no_firing_alert() -> None:
    since = (NOW - timedelta(minutes=90)).isoformat()
    ok = gates.soak_gate(
        version="1.4.0", source="staging", since=since, soak_seconds=3600, now=NOW, firing=[]
    )
    short = gates.soak_gate(
        version="1.4.0", source="staging", since=since, soak_seconds=7200, now=NOW, firing=[]
    )
    firing = gates.soak_gate(
        version="1.4.0", source="staging", since=since, soak_seconds=60, now=NOW, firing=["High Error Rate"]
    )
    naive = gates.soak_gate(
        version="1", source="staging", since="2026-12-06T11:00:00", soak_seconds=60, now=NOW, firing=[]
    )

    assert ok.passed and ok.evidence == "1.4.0 has run in staging for 1h30m (needs 1h00m); 0 alert(s) firing"
    assert not short.passed and "(needs 2h00m)" in short.evidence
    assert not firing.passed and "1 alert(s) firing: High Error Rate" in firing.evidence
    assert naive.passed


def test_cost_gate_reports_the_delta_and_holds_the_budget() -> None:
    within = gates.cost_gate(
        monthly_cost=120.0,
        target_before=20.0,
        team_cost=300.0,
        budget=500.0,
        currency="USD",
        target="production",
    )
    over = gates.cost_gate(
        monthly_cost=120.0,
        target_before=0.0,
        team_cost=450.0,
        budget=500.0,
        currency="USD",
        target="production",
    )
    unlimited = gates.cost_gate(
        monthly_cost=1.0, target_before=0.0, team_cost=0.0, budget=None, currency="EUR", target="staging"
    )

    assert within.passed and "(+100.00 USD/month)" in within.evidence and "within" in within.evidence
    assert not over.passed and "team total 570.00 of 500.00 USD budget: over" in over.evidence
    assert unlimited.passed and "no monthly budget" in unlimited.evidence


def test_approval_verdict_names_who_and_why() -> None:
    assert gates.approval_verdict(None) is None
    yes = gates.approval_verdict({"decision": "approved", "approver": "alice", "reason": "signed off"})
    no = gates.approval_verdict({"decision": "rejected", "approver": "bob", "reason": "freeze"})
    assert yes is not None and yes.passed and yes.evidence == "approved by alice: signed off"
    assert no is not None and not no.passed and no.evidence == "rejected by bob: freeze"


def test_promotions_go_forward_between_known_environments() -> None:
    path = [
        EnvironmentRule("development", 0, False, 0, 60),
        EnvironmentRule("staging", 1, False, 0, 60),
        EnvironmentRule("production", 2, True, 3600, 60),
    ]
    cases = {
        ("staging", "production"): [],
        ("staging", "staging"): ["target_environment"],
        ("production", "staging"): ["target_environment"],
        ("qa", "production"): ["source_environment"],
        ("staging", "prod"): ["target_environment"],
    }
    for (source, target), fields in cases.items():
        v = Violations()
        check_direction(v, path, source, target)
        assert [item.field for item in v.items] == fields, (source, target, v.items)
