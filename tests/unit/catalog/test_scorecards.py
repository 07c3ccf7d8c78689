"""Maturity scorecards: checks, levels and roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from paved_catalog.scorecards import CHECK_IDS, ServiceRecord, fact_violations, scorecard, summarize

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TAGS = {"owner": "retail", "team": "retail", "cost_center": "cc-42"}
PLAN = {
    "resources": [
        {"name": "compute", "type": "compute", "tags": TAGS, "properties": {"replicas": 2}},
        {"name": "database", "type": "database", "tags": TAGS, "properties": {"encrypted": True}},
        {
            "name": "observability",
            "type": "observability",
            "tags": TAGS,
            "properties": {"metrics": True, "logs": True, "traces": True},
        },
    ]
}
ALL_FACTS = {
    "provisioning": {"gitops_commit": "abc123", "last_deploy_time": (NOW - timedelta(days=3)).isoformat()},
    "alerting": {"default_alerts": True},
    "policy": {"policy_violations": 0, "cost_within_limit": True},
    "cost": {"cost_registered": True, "open_recommendations": 0},
}


def _record(**changes: Any) -> ServiceRecord:
    values: dict[str, Any] = {
        "service": "shop",
        "team": "retail",
        "template": "web-service",
        "state": "ACTIVE",
        "documentation_url": "https://docs.paved.internal/shop",
        "endpoints": ["https://shop.paved.internal"],
        "plan_summary": PLAN,
        "facts": ALL_FACTS,
        "template_revision": 3,
        "latest_revision": 3,
    }
    return ServiceRecord(**{**values, **changes})


def test_a_fully_mature_service_is_level_four() -> None:
    card = scorecard(_record(), NOW)
    assert card.level == 4 and card.score == 1.0
    assert [c.id for c in card.checks] == list(CHECK_IDS)
    assert all(c.passed and not c.remediation for c in card.checks)


def test_level_stops_at_the_first_failing_level() -> None:
    facts = {**ALL_FACTS, "alerting": {"default_alerts": False}}
    card = scorecard(_record(facts=facts), NOW)
    assert card.level == 2
    failed = [c for c in card.checks if not c.passed]
    assert [c.id for c in failed] == ["default_alerts"] and failed[0].remediation
    undocumented = scorecard(_record(documentation_url=""), NOW)
    assert undocumented.level == 0


def test_unencrypted_data_and_stale_deploys_fail_with_evidence() -> None:
    plan = {"resources": [{"name": "bucket", "type": "storage", "properties": {"encrypted": False}}]}
    old = {**ALL_FACTS, "provisioning": {"gitops_commit": "x", "last_deploy_time": "2026-01-01T00:00:00Z"}}
    card = scorecard(_record(plan_summary=plan, facts=old), NOW)
    checks = {c.id: c for c in card.checks}
    assert not checks["encrypted_data"].passed and "bucket" in checks["encrypted_data"].evidence
    assert not checks["observability"].passed
    assert not checks["deployed_recently"].passed and "2026-01-01" in checks["deployed_recently"].evidence


def test_summary_level_needs_three_quarters_of_services() -> None:
    mature = [_record(service=f"s{i}") for i in range(3)]
    young = [_record(service="new", documentation_url="")]
    summary = summarize(mature + young, NOW)
    assert summary.level == 4 and summary.level_evidence[4] == "3 of 4 service(s) at level 4 or above"
    assert summary.check_pass_rates["has_documentation"] == 0.75
    half = summarize(mature[:2] + young * 2, NOW)
    assert half.level == 0
    empty = summarize([], NOW)
    assert empty.level == 0 and empty.average_score == 0.0


def test_fact_reports_are_validated() -> None:
    assert fact_violations("provisioning", {"last_deploy_time": "2026-11-26T10:00:00Z"}) == []
    fields = {v.field for v in fact_violations("gossip", {"Bad-Key": 1, "nested": {"a": 1}})}  # type: ignore[dict-item]
    assert fields == {"source", "facts.Bad-Key", "facts.nested"}
    assert [v.field for v in fact_violations("cost", {})] == ["facts"]


def test_cost_center_and_budget_checks_flip_with_tags_and_policy_facts() -> None:
    untagged = {"resources": [{**PLAN["resources"][0], "tags": {"owner": "retail"}}, *PLAN["resources"][1:]]}
    card = scorecard(_record(plan_summary=untagged), NOW)
    check = next(c for c in card.checks if c.id == "cost_center_tagged")
    assert not check.passed and check.evidence == "no cost_center tag on: compute" and check.remediation
    assert card.level == 0
    tagged = next(c for c in scorecard(_record(), NOW).checks if c.id == "cost_center_tagged")
    assert tagged.passed and tagged.evidence == "cost_center cc-42 on 3 resource(s)"

    over = {**ALL_FACTS, "policy": {"policy_violations": 1, "cost_within_limit": False}}
    card = scorecard(_record(facts=over), NOW)
    budget = next(c for c in card.checks if c.id == "within_budget")
    assert not budget.passed and "over the limit" in budget.evidence
    assert card.level == 2  # policy_compliant (level 3) fails too
    unknown = {**ALL_FACTS, "policy": {"policy_violations": 0}}
    card = scorecard(_record(facts=unknown), NOW)
    assert card.level == 3
    assert next(c for c in card.checks if c.id == "within_budget").evidence == "no cost decision reported"


def test_a_service_behind_its_template_is_off_the_current_golden_path() -> None:
    card = scorecard(_record(template_revision=1, latest_revision=3), NOW)
    check = next(c for c in card.checks if c.id == "on_current_golden_path")
    assert (
        not check.passed
        and check.evidence == "on revision 1 of templates/web-service, 2 behind the latest (3)"
    )
    assert "upgrades" in check.remediation and card.level == 3
    gone = next(
        c for c in scorecard(_record(latest_revision=0), NOW).checks if c.id == "on_current_golden_path"
    )
    assert not gone.passed and gone.evidence == "templates/web-service no longer exists"
    current = next(c for c in scorecard(_record(), NOW).checks if c.id == "on_current_golden_path")
    assert current.passed and current.evidence == "on revision 3 of templates/web-service, the latest"
