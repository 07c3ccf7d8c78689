"""Platform-success routes: delivery metrics with the ROI, maturity scorecards per service and per team,
their Backstage Tech Insights export."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from google.protobuf import timestamp_pb2
from paved.catalog.v1 import catalog_pb2
from paved.cost.v1 import cost_pb2
from paved.provisioning.v1 import provisioning_pb2
from paved_kit.errors import FieldViolation

from paved_gateway import convert
from paved_gateway import platform_schemas as ps
from paved_gateway.access import authorized_service, team_scope
from paved_gateway.deps import BackendsDep, PrincipalDep
from paved_gateway.errors import call, forbidden, invalid
from paved_gateway.schemas import DNS_LABEL

router = APIRouter(tags=["platform"])

RESPONSES: dict[int | str, dict[str, str]] = {
    400: {"description": "Invalid input."},
    401: {"description": "No or invalid bearer token."},
    403: {"description": "Not the caller's team or service."},
    503: {"description": "A service the answer needs is down."},
}
LEVEL_NAMES = {
    0: "ad hoc",
    1: "standardised",
    2: "self-service",
    3: "observable and secure",
    4: "optimised",
}
BANDS = {
    provisioning_pb2.PERFORMANCE_BAND_ELITE: "elite",
    provisioning_pb2.PERFORMANCE_BAND_HIGH: "high",
    provisioning_pb2.PERFORMANCE_BAND_MEDIUM: "medium",
    provisioning_pb2.PERFORMANCE_BAND_LOW: "low",
}
UPTIME_UNAVAILABLE = (
    "unavailable: alerting keeps each service's current health, not a history of it, so uptime over a "
    "window cannot be derived without inventing it"
)
INPUTS_PREFIX = "platformInputs/"
InputPath = Annotated[
    Literal["developer-nps", "support-tickets"], Path(description="Which input people give.")
]
TeamPath = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)]
ServicePath = Annotated[str, Path(min_length=1, max_length=63, pattern=DNS_LABEL)]


def _ts(when: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


def _dora(value: float, band: int, unit: str, basis: str) -> ps.Metric:
    # Without data the provisioning service answers 0 with no band: show "no data", not a perfect zero.
    name = BANDS.get(band)
    if name is None:
        return ps.Metric(value=None, unit=unit, basis=f"no data in the window; {basis}")
    return ps.Metric(value=round(value, 4), unit=unit, basis=basis, band=name)  # type: ignore[arg-type]


def _delivery(m: provisioning_pb2.DeliveryMetrics) -> dict[str, ps.Metric]:
    first = m.time_to_first_deploy_hours
    return {
        "deployments_per_day": _dora(
            m.deployments_per_day,
            m.deployment_frequency_band,
            "deployments/day",
            "successful or later rolled-back deployments started in the window / days",
        ),
        "lead_time": _dora(
            m.lead_time_hours,
            m.lead_time_band,
            "hours",
            "mean time from a deployment's start to its end",
        ),
        "change_failure_rate": _dora(
            m.change_failure_rate,
            m.change_failure_rate_band,
            "ratio",
            "deployments that failed or were rolled back / deployments completed in the window",
        ),
        "mttr": _dora(
            m.mean_time_to_recovery_hours,
            m.time_to_recovery_band,
            "hours",
            "mean time from a failed deployment to the next successful one of the service",
        ),
        "time_to_first_deploy": ps.Metric(
            value=round(first, 4) if first or m.services_created else None,
            unit="hours",
            basis="mean time from a service's creation to its first successful production deployment"
            + ("" if first else "; no service created in the window reached production yet"),
        ),
        "services_created_per_week": ps.Metric(
            value=round(m.services_created_per_week, 4),
            unit="services/week",
            basis="successful provisions in the window / weeks",
        ),
    }


def _check(check: catalog_pb2.ScorecardCheck) -> ps.ScorecardCheck:
    return ps.ScorecardCheck(
        id=check.id,
        title=check.title,
        passed=check.passed,
        remediation=check.remediation or None,
        evidence=check.evidence,
    )


def _scorecard(card: catalog_pb2.Scorecard) -> ps.Scorecard:
    checks = [_check(c) for c in card.checks]
    return ps.Scorecard(
        service=convert.bare(card.service, "services/"),
        team=card.team,
        level=card.level,
        level_name=LEVEL_NAMES.get(card.level, str(card.level)),
        score=card.score,
        checks=checks,
        failing=[c for c in checks if not c.passed],
        evaluate_time=convert.timestamp(card.evaluate_time),
        environment=card.environment or None,
    )


def _input(given: catalog_pb2.PlatformInput | None, unit: str, basis: str) -> ps.Metric:
    if given is None:
        return ps.Metric(value=None, unit=unit, basis=f"not set yet: {basis}")
    note = f" ({given.note})" if given.note else ""
    return ps.Metric(
        value=given.value,
        unit=unit,
        basis=f"{basis}: {given.set_by}{note}",
        as_of=convert.timestamp(given.set_time),
    )


def _platform_input(given: catalog_pb2.PlatformInput) -> ps.PlatformInput:
    return ps.PlatformInput(
        input=convert.bare(given.name, INPUTS_PREFIX),
        value=given.value,
        note=given.note,
        set_by=given.set_by,
        set_time=convert.timestamp(given.set_time),
    )


def _money(value: float, currency: str, basis: str) -> ps.Metric:
    return ps.Metric(value=round(value, 2), unit=f"{currency}/month", basis=basis)


@router.get("/api/platform/metrics", response_model=ps.PlatformMetrics, responses=RESPONSES)
async def platform_metrics(
    backends: BackendsDep,
    principal: PrincipalDep,
    team: Annotated[str | None, Query(min_length=1, max_length=63, pattern=DNS_LABEL)] = None,
    days: Annotated[int, Query(ge=1, le=366, description="Window length, ending now.")] = 30,
    environment: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=63,
            pattern=DNS_LABEL,
            description="Delivery metrics of this environment only (DORA counts production's).",
        ),
    ] = None,
) -> ps.PlatformMetrics:
    """The ``PlatformMetrics`` record over the last ``days`` (platform-wide for admins, else one team),
    each measure with its basis, and the ROI with every term."""
    teams = team_scope(principal, team)
    if teams is not None and len(teams) > 1:
        raise invalid("the request is invalid", [FieldViolation("team", "name one of your teams")])
    scope = teams[0] if teams else ""
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    delivery, summary, inputs = await asyncio.gather(
        call(
            "provisioning",
            backends.provisioning.GetDeliveryMetrics(
                provisioning_pb2.GetDeliveryMetricsRequest(
                    team=scope, start_time=_ts(start), end_time=_ts(end), environment=environment or ""
                )
            ),
        ),
        call(
            "catalog",
            backends.catalog.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest(team=scope)),
        ),
        call("catalog", backends.catalog.ListPlatformInputs(catalog_pb2.ListPlatformInputsRequest())),
    )
    given = {convert.bare(i.name, INPUTS_PREFIX): i for i in inputs.platform_inputs}
    # Failed deployments saved no one any time, and a provision counts once, as a service created.
    shipped = max(delivery.deployments - delivery.failed_deployments - delivery.services_created, 0)
    roi_reply = await call(
        "cost",
        backends.cost.GetPlatformRoi(
            cost_pb2.GetPlatformRoiRequest(
                deployments=shipped,
                services_created=delivery.services_created,
                incidents_avoided=0,
                start_time=_ts(start),
                end_time=_ts(end),
            )
        ),
    )
    currency = roi_reply.total_cost.currency_code or "USD"
    services = len(summary.scorecards)
    adoption = summary.check_pass_rates.get("gitops_managed") if services else None
    roi = ps.Roi(
        benefits=[
            ps.RoiTerm(name=t.name, formula=t.formula, value=convert.money_amount(t.value))
            for t in roi_reply.benefits
        ],
        costs=[
            ps.RoiTerm(name=t.name, formula=t.formula, value=convert.money_amount(t.value))
            for t in roi_reply.costs
        ],
        total_benefit=convert.money_amount(roi_reply.total_benefit),
        total_cost=convert.money_amount(roi_reply.total_cost),
        roi_percent=round(roi_reply.roi_percent, 2),
        currency=currency,
        notes=[
            f"deployments: {shipped} successful deploys and rollbacks in the window (failed ones saved "
            "nothing; provisions count as services created)",
            "incidents_avoided: Paved records no avoided incidents, so the term is 0 rather than a guess",
        ],
    )
    return ps.PlatformMetrics(
        team=scope or None,
        window=ps.Window(start=start.isoformat(), end=end.isoformat(), days=days),
        **_delivery(delivery),
        platform_uptime=ps.Metric(value=None, unit="ratio", basis=UPTIME_UNAVAILABLE),
        infrastructure_cost_per_service=ps.Metric(
            value=round(convert.money_amount(roi_reply.cost_per_service), 2),
            unit=currency,
            basis="platform-wide: billed cost in the window (FOCUS imports) / services billed or tracked",
        ),
        cost_optimization_savings=_money(
            convert.money_amount(roi_reply.realized_savings),
            currency,
            "platform-wide: monthly savings of optimizations applied (instance types changed)",
        ),
        resource_utilization=ps.Metric(
            value=round(roi_reply.average_utilization, 4),
            unit="ratio",
            basis="platform-wide: mean recorded utilization of tracked compute",
        ),
        developer_nps=_input(given.get("developer-nps"), "score", "developer survey, set by an admin"),
        self_service_adoption=ps.Metric(
            value=round(adoption, 4) if adoption is not None else None,
            unit="ratio",
            basis=f"services Paved committed to GitOps / {services} service(s) in the catalog",
        ),
        support_ticket_volume=_input(
            given.get("support-tickets"), "tickets/month", "platform support tickets, set by an admin"
        ),
        deployments=delivery.deployments,
        failed_deployments=delivery.failed_deployments,
        services_created=delivery.services_created,
        roi=roi if not scope else None,
    )


@router.get("/api/services/{name}/scorecard", response_model=ps.Scorecard, responses=RESPONSES)
async def service_scorecard(
    backends: BackendsDep,
    principal: PrincipalDep,
    name: ServicePath,
    environment: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=63,
            pattern=DNS_LABEL,
            description="Score the service as it is in this environment (state, endpoints, plan, deployments "
            "there); by default where it was created.",
        ),
    ] = None,
) -> ps.Scorecard:
    """The service's maturity level, its checks, and how to fix the failing ones."""
    await authorized_service(backends, principal, name)
    card = await call(
        "catalog",
        backends.catalog.GetScorecard(
            catalog_pb2.GetScorecardRequest(service=f"services/{name}", environment=environment or "")
        ),
    )
    return _scorecard(card)


@router.get(
    "/api/services/{name}/scorecard/tech-insights",
    response_model=ps.TechInsightsResults,
    responses=RESPONSES,
)
async def service_tech_insights(
    backends: BackendsDep, principal: PrincipalDep, name: ServicePath
) -> ps.TechInsightsResults:
    """The scorecard's checks as Backstage Tech Insights check results for ``component:default/<name>``."""
    await authorized_service(backends, principal, name)
    card = await call(
        "catalog",
        backends.catalog.GetScorecard(catalog_pb2.GetScorecardRequest(service=f"services/{name}")),
    )
    return tech_insights(card)


def tech_insights(card: catalog_pb2.Scorecard) -> ps.TechInsightsResults:
    """A scorecard in Tech Insights' ``BulkCheckResponse`` item shape: one boolean check per check, its
    fact the pass/fail with the evidence, failure metadata the remediation."""
    when = convert.timestamp(card.evaluate_time)
    results = []
    for check in card.checks:
        fact_id = f"paved-{check.id.replace('_', '-')}"
        results.append(
            ps.TechInsightsCheckResult(
                facts={
                    fact_id: {
                        "value": check.passed,
                        "type": "boolean",
                        "description": check.evidence,
                        **({"since": when} if when else {}),
                    }
                },
                result=check.passed,
                check={
                    "id": f"paved-{check.id.replace('_', '-')}",
                    "type": "json-rules-engine",
                    "name": check.title,
                    "description": check.title,
                    "factIds": [fact_id],
                    "failureMetadata": {"remediation": check.remediation} if check.remediation else {},
                    "metadata": {"level": card.level, "evidence": check.evidence},
                },
            )
        )
    return ps.TechInsightsResults(
        entity=f"component:default/{convert.bare(card.service, 'services/')}", results=results
    )


@router.get("/api/teams/{team}/scorecard", response_model=ps.TeamScorecard, responses=RESPONSES)
async def team_scorecard(backends: BackendsDep, principal: PrincipalDep, team: TeamPath) -> ps.TeamScorecard:
    """The team's services' scorecards rolled up: the team's level and the evidence for each level."""
    principal.require_team(team)
    summary = await call(
        "catalog",
        backends.catalog.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest(team=team)),
    )
    return _rollup(team, summary, lambda _: True)


@router.get("/api/platform/scorecard", response_model=ps.TeamScorecard, responses=RESPONSES)
async def platform_scorecard(backends: BackendsDep, principal: PrincipalDep) -> ps.TeamScorecard:
    """The whole platform's maturity level (0-4) with the evidence for each level; the services listed are
    the caller's own (all of them for admins)."""
    summary = await call(
        "catalog", backends.catalog.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest())
    )
    return _rollup(None, summary, lambda card: principal.may_act_for(card.team))


def _rollup(
    team: str | None,
    summary: catalog_pb2.SummarizeScorecardsResponse,
    visible: Callable[[catalog_pb2.Scorecard], bool],
) -> ps.TeamScorecard:
    return ps.TeamScorecard(
        team=team,
        level=summary.level,
        level_name=LEVEL_NAMES.get(summary.level, str(summary.level)),
        average_score=summary.average_score,
        levels=[
            ps.LevelEvidence(level=level, name=LEVEL_NAMES.get(level, str(level)), evidence=text)
            for level, text in sorted(summary.level_evidence.items())
        ],
        check_pass_rates=dict(summary.check_pass_rates),
        services=[_scorecard(c) for c in summary.scorecards if visible(c)],
    )


@router.get("/api/platform/inputs", response_model=ps.PlatformInputs, responses=RESPONSES)
async def platform_inputs(backends: BackendsDep, principal: PrincipalDep) -> ps.PlatformInputs:
    """The measures people gave (developer NPS, support tickets), with who set them and when."""
    reply = await call(
        "catalog", backends.catalog.ListPlatformInputs(catalog_pb2.ListPlatformInputsRequest())
    )
    return ps.PlatformInputs(inputs=[_platform_input(i) for i in reply.platform_inputs])


@router.put("/api/platform/inputs/{input_id}", response_model=ps.PlatformInput, responses=RESPONSES)
async def set_platform_input(
    backends: BackendsDep, principal: PrincipalDep, input_id: InputPath, body: ps.PlatformInputBody
) -> ps.PlatformInput:
    """Record a measure only people can give (admins only); the caller is recorded as its author."""
    if not principal.is_admin:
        raise forbidden(f"{principal.subject} may not set platform inputs: admins only")
    reply = await call(
        "catalog",
        backends.catalog.SetPlatformInput(
            catalog_pb2.SetPlatformInputRequest(
                platform_input=catalog_pb2.PlatformInput(
                    name=INPUTS_PREFIX + input_id, value=body.value, set_by=principal.subject, note=body.note
                )
            )
        ),
        # The body carries the input's fields at its top level; the input's name is the path's input_id.
        fields={"platform_input.name": "input_id", "platform_input.": ""},
    )
    return _platform_input(reply)
