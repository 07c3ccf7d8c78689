"""Quota arithmetic and the RESOURCE_EXHAUSTED error it raises."""

from __future__ import annotations

import pytest
from paved_kit.errors import QuotaExceeded
from paved_provisioning import quotas


def test_instances_sum_max_instances_of_compute_only() -> None:
    resources = [
        {"type": "compute", "properties": {"max_instances": 4, "min_instances": 2}},
        {"type": "compute", "properties": {"replicas": 3}},
        {"type": "compute", "properties": {}},
        {"type": "database", "properties": {"max_instances": 9}},
    ]
    assert quotas.plan_instances(resources) == 4 + 3 + 1


def test_check_reports_every_quota() -> None:
    limits = quotas.Limits(max_services=2, max_instances=10, max_monthly_cost=1000)
    checks = quotas.check(limits, quotas.Usage(2, 5, 900), quotas.Usage(1, 5, 50))
    assert [(c.quota, c.allowed) for c in checks] == [
        ("services", False),
        ("instances", True),
        ("monthly_cost", True),
    ]


def test_enforce_names_each_exceeded_quota_with_current_and_limit() -> None:
    limits = quotas.Limits(max_services=1, max_instances=3, max_monthly_cost=10)
    checks = quotas.check(limits, quotas.Usage(1, 2, 0), quotas.Usage(1, 2, 5))
    with pytest.raises(QuotaExceeded) as err:
        quotas.enforce("payments", checks)
    subjects = [v.subject for v in err.value.quota_violations]
    assert subjects == ["teams/payments/quotas/services", "teams/payments/quotas/instances"]
    assert err.value.metadata == {
        "team": "payments",
        "quota": "services",
        "current": "1",
        "requested": "1",
        "limit": "1",
    }


def test_exactly_at_the_limit_is_allowed() -> None:
    limits = quotas.Limits(max_services=1, max_instances=3, max_monthly_cost=100.0)
    quotas.enforce("t", quotas.check(limits, quotas.Usage(), quotas.Usage(1, 3, 100.0)))


def test_amounts_are_written_as_people_read_them_and_kept_exact_for_machines() -> None:
    limits = quotas.Limits(max_services=10, max_instances=100, max_monthly_cost=5000)
    checks = quotas.check(limits, quotas.Usage(1, 1, 132.0214), quotas.Usage(1, 10_000_000, 12.5))
    with pytest.raises(QuotaExceeded) as err:
        quotas.enforce("payments", checks)
    [violation] = err.value.quota_violations
    assert violation.description == "instances: 1 in use + 10,000,000 requested exceeds the limit 100"
    assert (err.value.metadata["requested"], err.value.metadata["limit"]) == ("10000000", "100")
    assert quotas.amount_text("monthly_cost", 132.0214) == "132.02"
    assert quotas.exact_text(132.0214) == "132.0214"
