"""Cost routes: per-team costs, recommendations, auto-optimization, and estimates graded against actuals."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from paved.cost.v1 import cost_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert, schemas
from paved_gateway.access import and_filters, authorized_service, team_scope
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call, invalid
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(prefix="/api/costs", tags=["costs"])

TeamQuery = Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)]
RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team."},
}


@router.get("", response_model=schemas.TeamCosts, responses=RESPONSES)
async def team_costs(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: TeamQuery = None,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
) -> schemas.TeamCosts:
    """Current, projected and previous month per team, with the trend."""
    teams = team_scope(principal, team)
    reply = await call(
        "cost",
        backends.cost.GetTeamCosts(
            cost_pb2.GetTeamCostsRequest(
                month=month or "", team=teams[0] if teams and len(teams) == 1 else ""
            )
        ),
    )
    visible = [t for t in reply.teams if teams is None or t.team in teams]
    everything = teams is None
    return schemas.TeamCosts(
        month=reply.month,
        teams=[convert.team_cost(t) for t in visible],
        # Unattributed cost and the grand total span every team: only for those who see everything.
        unallocated=convert.money_amount(reply.unallocated) if everything else None,
        total=(
            convert.money_amount(reply.total)
            if everything
            else round(sum(convert.money_amount(t.current_month) for t in visible), 2)
        ),
        currency=reply.total.currency_code or "USD",
    )


@router.get("/anomalies", response_model=dict[str, Any], responses=RESPONSES)
async def cost_anomalies(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: TeamQuery = None,
    service: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    days: Annotated[int, Query(ge=1, le=90, description="Days back from today.")] = 30,
    sensitivity: Annotated[str | None, Query(min_length=1, max_length=16)] = None,
) -> dict[str, Any]:
    """Days whose cost of a service or team departs from its recent days, each with the FOCUS dimensions
    (SKU, region, service, charge category) that moved most."""
    if service is not None:
        owner = (await authorized_service(backends, principal, service)).team
        teams: list[str] | None = [owner]
    else:
        teams = team_scope(principal, team)
    replies = await asyncio.gather(
        *(
            call(
                "cost",
                backends.cost.ListCostAnomalies(
                    cost_pb2.ListCostAnomaliesRequest(
                        team=name, service=service or "", days=days, sensitivity=sensitivity or ""
                    )
                ),
            )
            for name in (teams if teams is not None else [""])
        )
    )
    anomalies = [convert.to_dict(a) for reply in replies for a in reply.anomalies]
    anomalies.sort(key=lambda a: a.get("day", ""), reverse=True)
    return {"anomalies": anomalies, "sensitivity": replies[0].sensitivity if replies else "medium"}


@router.get("/recommendations", response_model=schemas.Items, responses=RESPONSES)
async def recommendations(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: TeamQuery = None,
    service: TeamQuery = None,
    kind: Literal["rightsize", "spot", "reserved"] | None = None,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> schemas.Items:
    """Recommendations with their estimated savings and evidence."""
    if service is not None:
        await authorized_service(backends, principal, service)
        teams: list[str] | None = None
    else:
        teams = team_scope(principal, team)
    kind_clause = f"kind = {kind.upper()}" if kind else ""
    service_clause = f'service = "{service}"' if service else ""

    async def page(for_team: str | None, token: str) -> cost_pb2.ListRecommendationsResponse:
        filter_ = and_filters(f'team = "{for_team}"' if for_team else "", service_clause, kind_clause)
        return await call(
            "cost",
            backends.cost.ListRecommendations(
                cost_pb2.ListRecommendationsRequest(page_size=page_size, page_token=token, filter=filter_)
            ),
        )

    if teams is not None and len(teams) > 1:
        # The cost service's filter has no OR: ask once per team (first pages only).
        if page_token:
            raise invalid(
                "the request is invalid",
                [FieldViolation("page_token", "paging needs one team: set team")],
            )
        replies = await asyncio.gather(*(page(t, "") for t in teams))
        items = [r for reply in replies for r in reply.recommendations]
        savings = sum(convert.money_amount(r.total_monthly_savings) for r in replies)
        currency = next(
            (r.total_monthly_savings.currency_code for r in replies if r.total_monthly_savings.currency_code),
            "USD",
        )
        return schemas.Items(
            items=[convert.to_dict(r) for r in items],
            total_monthly_savings=schemas.Money(amount=round(savings, 2), currency=currency),
        )
    reply = await page(teams[0] if teams else None, page_token or "")
    return schemas.Items(
        items=[convert.to_dict(r) for r in reply.recommendations],
        next_page_token=reply.next_page_token or None,
        total_monthly_savings=(
            convert.money_view(reply.total_monthly_savings)
            if reply.HasField("total_monthly_savings")
            else None
        ),
    )


@router.post("/optimize", response_model=schemas.Items, responses=RESPONSES)
async def optimize(
    backends: BackendsDep,
    principal: PrincipalDep,
    dry_run: bool = True,
    team: TeamQuery = None,
    service: TeamQuery = None,
) -> schemas.Items:
    """Apply (or with `dry_run`, list) the low-risk recommendations."""
    if service is not None:
        await authorized_service(backends, principal, service)
    elif team is not None:
        principal.require_team(team)
    elif not principal.is_admin:
        if len(principal.teams) != 1:
            raise invalid(
                "the request is invalid", [FieldViolation("team", "required: name one of your teams")]
            )
        team = next(iter(principal.teams))
    reply = await call(
        "cost",
        backends.cost.AutoOptimize(
            cost_pb2.AutoOptimizeRequest(dry_run=dry_run, team=team or "", service=service or "")
        ),
    )
    return schemas.Items(
        items=[convert.to_dict(action) for action in reply.actions],
        total_monthly_savings=(
            convert.money_view(reply.total_monthly_savings)
            if reply.HasField("total_monthly_savings")
            else None
        ),
    )


@router.get("/estimate-accuracy", responses=RESPONSES)
async def estimate_accuracy(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: TeamQuery = None,
    days: Annotated[int, Query(ge=1, le=90, description="Days of actuals graded after registration.")] = 30,
) -> dict[str, Any]:
    """Paved's pre-provision estimates graded against FOCUS actuals: per service the estimated and the
    actual monthly cost (mean daily actual over the graded days x 365 / 12) and the error
    (estimate - actual) / actual; per template the error of the sums and the mean absolute error."""
    teams = team_scope(principal, team)
    reply = await call(
        "cost",
        backends.cost.GetEstimateAccuracy(cost_pb2.GetEstimateAccuracyRequest(teams=teams or [], days=days)),
    )

    def amounts(item: Any) -> dict[str, Any]:
        return {
            "estimated_monthly_cost": convert.money_amount(item.estimated_monthly_cost),
            "actual_monthly_cost": convert.money_amount(item.actual_monthly_cost),
            "currency": item.actual_monthly_cost.currency_code or "USD",
        }

    return {
        "days": days,
        "templates": [
            {
                "template": t.template,
                "services": t.services,
                **amounts(t),
                "error": round(t.error, 4),
                "mean_absolute_error": round(t.mean_absolute_error, 4),
            }
            for t in reply.templates
        ],
        "services": [
            {
                "service": g.service,
                "template": g.template,
                "team": g.team,
                **amounts(g),
                "days": g.days,
                "error": round(g.error, 4),
            }
            for g in reply.services
        ],
        "ungraded": reply.ungraded,
    }
