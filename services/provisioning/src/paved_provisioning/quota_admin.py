"""Team quotas as the provisioning API serves them: reading, overriding and checking a plan against them."""

from __future__ import annotations

from typing import Any

from paved_provisioning import quotas, store
from paved_provisioning.models import TeamQuota
from paved_provisioning.provisioner_base import ProvisionerBase, QuotaView
from paved_provisioning.validation import Violations, check_team


class QuotaAdmin(ProvisionerBase):
    """GetQuota, UpdateQuota and CheckQuota."""

    def limits_of(self, row: TeamQuota | None) -> quotas.Limits:
        s = self.settings
        if row is None or not row.overridden:
            return quotas.Limits(s.default_max_services, s.default_max_instances, s.default_max_monthly_cost)
        return quotas.Limits(
            row.max_services if row.max_services is not None else s.default_max_services,
            row.max_instances if row.max_instances is not None else s.default_max_instances,
            row.max_monthly_cost if row.max_monthly_cost is not None else s.default_max_monthly_cost,
            overridden=True,
        )

    async def get_quota(self, team: str) -> QuotaView:
        v = Violations()
        check_team(v, "team", team)
        v.raise_if_any()
        async with self.sessions() as session:
            row = await store.get_team_quota(session=session, team=team)
            usage = await store.team_usage(session=session, team=team)
        return QuotaView(team, self.limits_of(row), usage)

    async def update_quota(
        self, team: str, max_services: int, max_instances: int, max_monthly_cost: float, currency: str
    ) -> QuotaView:
        v = Violations()
        check_team(v, "quota.team", team)
        v.check(max_services >= 0, "quota.max_services", "must not be negative")
        v.check(max_instances >= 0, "quota.max_instances", "must not be negative")
        v.check(max_monthly_cost >= 0, "quota.max_monthly_cost", "must not be negative")
        self._check_currency(v, "quota.max_monthly_cost.currency_code", currency)
        v.raise_if_any()
        async with self.sessions() as session, session.begin():
            await store.set_team_quota(
                session=session,
                team=team,
                max_services=max_services,
                max_instances=max_instances,
                max_monthly_cost=max_monthly_cost,
            )
        return await self.get_quota(team)

    def _check_currency(self, v: Violations, field: str, currency: str) -> None:
        v.check(currency in ("", self.settings.currency), field, f"must be {self.settings.currency}")

    async def check_quota(
        self, team: str, plan: dict[str, Any] | None, monthly_cost: float, currency: str
    ) -> list[quotas.QuotaCheck]:
        """Every quota's verdict; RESOURCE_EXHAUSTED naming each exceeded quota when the plan does not fit."""
        v = Violations()
        check_team(v, "team", team)
        v.check(plan is not None and bool(plan.get("resources")), "plan.resources", "must contain a resource")
        if plan and plan.get("team") and plan["team"] != team:
            v.add("plan.team", f"must match team {team!r}")
        v.check(monthly_cost >= 0, "estimated_monthly_cost", "must not be negative")
        self._check_currency(v, "estimated_monthly_cost.currency_code", currency)
        v.raise_if_any()
        assert plan is not None
        async with self.sessions() as session:
            row = await store.get_team_quota(session=session, team=team)
            exclude = plan.get("service_name") or None
            usage = await store.team_usage(session=session, team=team, exclude_service=exclude)
        checks = quotas.check(self.limits_of(row), usage, quotas.plan_usage(plan["resources"], monthly_cost))
        quotas.enforce(team, checks)
        return checks
