"""Deployment history as the provisioning API serves it: listing deployments, DORA-style delivery metrics,
and the history the rollback step reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paved_provisioning import delivery, store
from paved_provisioning.models import Deployment
from paved_provisioning.paging import (
    MAX_PAGE_SIZE,
    decode_page_token,
    encode_page_token,
    page_size,
    parse_filter,
)
from paved_provisioning.provisioner_base import ProvisionerBase
from paved_provisioning.validation import DNS_LABEL, Violations, check_team, service_from_name


class DeploymentQueries(ProvisionerBase):
    """ListDeployments, GetDeliveryMetrics and the rollback step's history."""

    async def delivery_metrics(
        self, team: str, start: datetime | None, end: datetime | None, environment: str = ""
    ) -> delivery.DeliveryMetrics:
        """DORA-style metrics of a team (or the whole platform when ``team`` is empty) over a window, of
        the deployments to ``environment`` when one is given (DORA counts production's)."""
        v = Violations()
        if team:
            check_team(v, "team", team)
        if environment and not DNS_LABEL.match(environment):
            v.add("environment", "must be an environment id such as production")
        window_start, window_end = delivery.default_window(end, start, store.utcnow())
        v.check(window_start < window_end, "start_time", "must be before end_time")
        v.raise_if_any()
        async with self.sessions() as session:
            services = await store.team_service_names(session=session, team=team) if team else None
            rows = await store.deployments_since(session=session, start=window_start, services=services)
        facts = [
            delivery.DeploymentFact(
                service=r.service,
                environment=r.environment,
                workflow=r.workflow,
                status=r.status,
                start=store.aware(r.start_time) or window_start,
                end=store.aware(r.end_time),
            )
            for r in rows
            if not environment or r.environment == environment
        ]
        return delivery.compute(facts, window_start, window_end)

    async def list_deployments(
        self, parent: str, filter_text: str, size: int, token: str
    ) -> tuple[list[Deployment], str]:
        v = Violations()
        service = service_from_name(v, "parent", parent)
        v.raise_if_any()
        terms = parse_filter("filter", filter_text, {"environment", "status", "workflow"})
        limit = page_size("page_size", size)
        offset = decode_page_token("page_token", token)
        status = terms.get("status")
        if status:
            status = status.lower().removeprefix("deployment_status_")
        async with self.sessions() as session:
            rows = await store.list_deployments(
                session=session,
                service=service,
                environment=terms.get("environment"),
                status=status,
                offset=offset,
                limit=limit + 1,
                workflow=terms.get("workflow"),
            )
        return rows[:limit], encode_page_token(offset + limit) if len(rows) > limit else ""

    async def deployment_history(self, service: str, environment: str) -> list[dict[str, Any]]:
        """Deployments of a service in an environment, newest first, for the rollback step."""
        async with self.sessions() as session:
            rows = await store.list_deployments(
                session=session, service=service, environment=environment, limit=MAX_PAGE_SIZE
            )
        return [
            {"id": r.id, "status": r.status, "version": r.version, "image": r.image, "plan": r.plan}
            for r in rows
        ]
