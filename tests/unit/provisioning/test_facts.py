"""Scorecard facts of an ended operation: each environment's own deployment and commit beside the
service's latest; a promotion counts as a deployment into its target; failures move neither."""

from __future__ import annotations

from datetime import UTC, datetime

from paved_provisioning.facts import operation_facts
from paved_provisioning.steps import DEPLOY, PROMOTE

ENDED = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_a_promotion_is_a_deployment_of_its_target_environment() -> None:
    facts = operation_facts(PROMOTE, "succeeded", {"promote_production": {"commit": "abc"}}, ENDED, "prod-eu")
    assert facts["last_deploy_time"] == facts["deployed_prod_eu"] == "2026-12-07T01:00:00Z"
    assert facts["gitops_commit"] == facts["commit_prod_eu"] == "abc"


def test_failures_and_unnameable_environments_add_no_environment_fact() -> None:
    failed = operation_facts(DEPLOY, "failed", {}, ENDED, "staging")
    assert "deployed_staging" not in failed and "last_deploy_time" not in failed
    long_name = "e" * 63
    facts = operation_facts(DEPLOY, "succeeded", {}, ENDED, long_name)
    assert "last_deploy_time" in facts and not any(key.endswith(long_name) for key in facts)
