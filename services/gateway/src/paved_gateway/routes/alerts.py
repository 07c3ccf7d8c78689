"""Alert routes: alerts across the caller's services, and one service's rules and alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from paved.alerting.v1 import alerting_pb2

from paved_gateway import convert, schemas
from paved_gateway.access import and_filters, authorized_service, team_filter, team_scope
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(tags=["alerts"])

NameQuery = Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)]
AlertState = Literal["inactive", "pending", "firing", "resolved"]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
}


@router.get("/api/alerts", response_model=schemas.Items, responses=RESPONSES)
async def list_alerts(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: NameQuery = None,
    service: NameQuery = None,
    state: AlertState | None = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> schemas.Items:
    """Alerts (rule instances and their state) of the services the caller may see."""
    if service is not None:
        await authorized_service(backends, principal, service)
        scope = f'service = "{service}"'
    else:
        scope = team_filter(team_scope(principal, team))
    filter_ = and_filters(scope, f"state = {state.upper()}" if state else "")
    reply = await call(
        "alerting",
        backends.alerting.ListAlerts(
            alerting_pb2.ListAlertsRequest(page_size=page_size, page_token=page_token or "", filter=filter_)
        ),
    )
    return schemas.Items(
        items=[convert.to_dict(a) for a in reply.alerts], next_page_token=reply.next_page_token or None
    )


@router.get("/api/services/{service_id}/alerts", response_model=dict[str, Any], responses=RESPONSES)
async def service_alerts(
    service_id: Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)],
    backends: BackendsDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """A service's alert rules and their alerts."""
    await authorized_service(backends, principal, service_id)
    filter_ = f'service = "{service_id}"'
    rules = await call(
        "alerting",
        backends.alerting.ListAlertRules(alerting_pb2.ListAlertRulesRequest(page_size=1000, filter=filter_)),
    )
    alerts = await call(
        "alerting",
        backends.alerting.ListAlerts(alerting_pb2.ListAlertsRequest(page_size=1000, filter=filter_)),
    )
    return {
        "service": service_id,
        "rules": [convert.to_dict(r) for r in rules.alert_rules],
        "alerts": [convert.to_dict(a) for a in alerts.alerts],
    }
