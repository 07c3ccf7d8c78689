"""``paved.cost.v1.CostService`` over gRPC: converts requests, delegates to the domain, converts answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeAlias

import grpc.aio
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved_kit.errors import FieldViolation, InvalidArgument
from paved_kit.validation import time_violation

from paved_cost import convert, outcomes_convert
from paved_cost.analysis import CostAnalysis
from paved_cost.anomaly_report import CostAnomalies
from paved_cost.attribution import bare_service_name
from paved_cost.catalog_facts import CatalogFacts
from paved_cost.estimate import estimate
from paved_cost.ingest import BillingImporter
from paved_cost.listing import matches, page, parse_filter
from paved_cost.money import plain, to_money
from paved_cost.optimizer import Optimizer, total_savings
from paved_cost.outcomes import Outcomes
from paved_cost.prices import PriceCatalog
from paved_cost.rightsizer import Rightsizer
from paved_cost.rightsizing_convert import recommendation_message
from paved_cost.tracking import Sample, Tracking

Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]
# More than anyone deploys or creates in a reporting window; keeps the money terms within int64 units.
MAX_ROI_COUNT = 1_000_000_000
RECOMMENDATION_FILTER_FIELDS = ("team", "service", "kind", "risk", "resource")


class CostServicer(cost_pb2_grpc.CostServiceServicer):
    def __init__(
        self,
        *,
        catalog: PriceCatalog,
        importer: BillingImporter,
        tracking: Tracking,
        analysis: CostAnalysis,
        optimizer: Optimizer,
        clock: Callable[[], datetime],
        facts: CatalogFacts | None = None,
        rightsizer: Rightsizer | None = None,
        outcomes: Outcomes | None = None,
        anomalies: CostAnomalies | None = None,
    ) -> None:
        self._rightsizer = rightsizer
        self._outcomes = outcomes or Outcomes(analysis.sessions, analysis.currency, clock)
        self._anomalies = anomalies or CostAnomalies(analysis.sessions, clock, analysis.currency)
        self._catalog = catalog
        self._importer = importer
        self._tracking = tracking
        self._analysis = analysis
        self._optimizer = optimizer
        self._clock = clock
        self._facts = facts

    @property
    def _currency(self) -> str:
        return self._analysis.currency

    async def EstimateCost(
        self, request: cost_pb2.EstimateCostRequest, context: Context
    ) -> cost_pb2.EstimateCostResponse:
        result = estimate(self._catalog, convert.plan_resources(request.resources), request.region)
        return convert.estimate_response(result)

    async def GetPriceCatalog(
        self, request: cost_pb2.GetPriceCatalogRequest, context: Context
    ) -> cost_pb2.PriceCatalog:
        return cost_pb2.PriceCatalog(
            source=self._catalog.source,
            date=self._catalog.date,
            currency=self._catalog.currency,
            regions=sorted(self._catalog.regions),
            instance_types=self._catalog.instance_types(),
            database_classes=self._catalog.database_classes(),
        )

    async def ImportBilling(
        self, request_iterator: AsyncIterator[cost_pb2.ImportBillingRequest], context: Context
    ) -> cost_pb2.ImportBillingResponse:
        result = await self._importer.run(convert.import_messages(request_iterator))
        return cost_pb2.ImportBillingResponse(
            rows_read=result.rows_read,
            rows_imported=result.rows_imported,
            rows_rejected=result.rows_rejected,
            rejections=[
                cost_pb2.RowRejection(row=r.row, column=r.column, message=r.message)
                for r in result.rejections
            ],
            rows_replaced=result.rows_replaced,
            billing_periods=result.billing_periods,
            billed_cost=to_money(result.billed_cost, self._currency),
            focus_version=result.focus_version,
            provisional_periods=result.provisional_periods,
            incomplete_sectors=[
                cost_pb2.IncompleteTimeSector(
                    start=convert.timestamp(sector.start),
                    end=convert.timestamp(sector.end),
                    dataset_instance_id=sector.dataset_instance or "",
                )
                for sector in result.incomplete_sectors
            ],
        )

    async def RecordUtilization(
        self, request_iterator: AsyncIterator[cost_pb2.RecordUtilizationRequest], context: Context
    ) -> cost_pb2.RecordUtilizationResponse:
        accepted = 0
        async for request in request_iterator:
            accepted += await self._tracking.record(
                [
                    Sample(
                        s.service,
                        s.resource,
                        s.metric,
                        s.value,
                        convert.from_timestamp(s.time) if s.HasField("time") else None,
                    )
                    for s in request.samples
                ]
            )
        return cost_pb2.RecordUtilizationResponse(accepted=accepted)

    async def RegisterResources(
        self, request: cost_pb2.RegisterResourcesRequest, context: Context
    ) -> cost_pb2.RegisterResourcesResponse:
        tracked = await self._tracking.register(
            service=request.service,
            team=request.team,
            environment=request.environment,
            resources=convert.plan_resources(request.resources),
            estimated_monthly_cost=convert.money_or_none(request, "estimated_monthly_cost"),
            template=request.template,
            optimization_operation=request.optimization_operation,
        )
        if self._facts is not None:
            self._facts.registered([bare_service_name(request.service)])
        return cost_pb2.RegisterResourcesResponse(tracked=tracked)

    async def UnregisterResources(
        self, request: cost_pb2.UnregisterResourcesRequest, context: Context
    ) -> cost_pb2.UnregisterResourcesResponse:
        removed = await self._tracking.unregister(request.service, request.environment)
        gone = not request.environment or not await self._tracking.is_registered(request.service)
        if self._facts is not None and removed and gone:
            self._facts.unregistered(bare_service_name(request.service))
        return cost_pb2.UnregisterResourcesResponse(removed=removed)

    async def GetServiceCost(
        self, request: cost_pb2.GetServiceCostRequest, context: Context
    ) -> cost_pb2.ServiceCost:
        result = await self._analysis.service_cost(request.service, request.month)
        report, currency = result.report, self._currency
        response = cost_pb2.ServiceCost(
            service=report.name,
            team=result.team,
            current_month=to_money(report.current, currency),
            projected_month=to_money(report.projected, currency),
            previous_month=to_money(report.previous, currency),
            trend=convert.trend_message(report),
            daily=[convert.daily_message(day, cost, currency) for day, cost in report.daily],
            projection_method=report.method,
        )
        if result.estimated_monthly_cost is not None:
            response.estimated_monthly_cost.CopyFrom(to_money(result.estimated_monthly_cost, currency))
        for environment, amount in result.environments.items():
            entry = response.environments.add(environment=environment)
            if amount is not None:
                entry.estimated_monthly_cost.CopyFrom(to_money(amount, currency))
        return response

    async def GetTeamCosts(
        self, request: cost_pb2.GetTeamCostsRequest, context: Context
    ) -> cost_pb2.GetTeamCostsResponse:
        result = await self._analysis.team_costs(request.month, request.team)
        currency = self._currency
        return cost_pb2.GetTeamCostsResponse(
            month=str(result.month),
            teams=[
                cost_pb2.TeamCost(
                    team=t.name,
                    current_month=to_money(t.current, currency),
                    projected_month=to_money(t.projected, currency),
                    previous_month=to_money(t.previous, currency),
                    trend=convert.trend_message(t),
                    services=t.services,
                )
                for t in result.teams
            ],
            unallocated=to_money(result.unallocated, currency),
            total=to_money(result.total, currency),
        )

    async def ListCostAnomalies(
        self, request: cost_pb2.ListCostAnomaliesRequest, context: Context
    ) -> cost_pb2.ListCostAnomaliesResponse:
        found, sensitivity = await self._anomalies.list(
            request.team, request.service, request.days, request.sensitivity
        )
        currency = self._currency
        return cost_pb2.ListCostAnomaliesResponse(
            anomalies=[
                cost_pb2.CostAnomaly(
                    scope=item.scope,
                    name=item.name,
                    day=item.found.day.isoformat(),
                    cost=to_money(item.found.cost, currency),
                    expected=to_money(item.found.expected, currency),
                    score=item.found.score,
                    kind="spike" if item.found.score > 0 else "dip",
                    drivers=[
                        cost_pb2.CostDriver(
                            dimension=driver.dimension,
                            value=driver.value,
                            cost=to_money(driver.cost, currency),
                            usual=to_money(driver.usual, currency),
                            change=float(driver.change),
                        )
                        for driver in item.drivers
                    ],
                )
                for item in found
            ],
            sensitivity=sensitivity,
        )

    async def GetCommitmentUtilisation(
        self, request: cost_pb2.GetCommitmentUtilisationRequest, context: Context
    ) -> cost_pb2.GetCommitmentUtilisationResponse:
        month, uses = await self._analysis.commitment_utilisation(request.month)
        return cost_pb2.GetCommitmentUtilisationResponse(
            month=str(month),
            commitments=[convert.commitment_message(use, self._currency) for use in uses],
        )

    async def SummarizeBilling(
        self, request: cost_pb2.SummarizeBillingRequest, context: Context
    ) -> cost_pb2.SummarizeBillingResponse:
        totals = await self._analysis.summarize(request.group_by, request.month)
        return cost_pb2.SummarizeBillingResponse(
            totals=[
                cost_pb2.BillingTotal(
                    key=key, billed_cost=plain(billed), effective_cost=plain(effective), rows=rows
                )
                for key, billed, effective, rows in totals
            ],
            currency=self._currency,
        )

    async def ListRecommendations(
        self, request: cost_pb2.ListRecommendationsRequest, context: Context
    ) -> cost_pb2.ListRecommendationsResponse:
        terms = parse_filter(request.filter, RECOMMENDATION_FILTER_FIELDS)
        found = [
            r
            for r in await self._analysis.recommendations()
            if matches(
                terms,
                lambda name, r=r: {  # type: ignore[misc]
                    "team": r.team,
                    "service": r.service,
                    "kind": r.kind.value,
                    "risk": r.risk.value,
                    "resource": r.resource,
                }[name],
            )
        ]
        chunk, token = page(found, request.page_size, request.page_token)
        currency = self._currency
        return cost_pb2.ListRecommendationsResponse(
            recommendations=[convert.recommendation_message(r, currency) for r in chunk],
            next_page_token=token,
            total_monthly_savings=to_money(sum((r.monthly_savings for r in found), Decimal(0)), currency),
        )

    async def AutoOptimize(
        self, request: cost_pb2.AutoOptimizeRequest, context: Context
    ) -> cost_pb2.AutoOptimizeResponse:
        actions = await self._optimizer.optimize(
            dry_run=request.dry_run, team=request.team, service=request.service
        )
        currency = self._currency
        applied = [a for a in actions if a.applied or request.dry_run]
        return cost_pb2.AutoOptimizeResponse(
            dry_run=request.dry_run,
            actions=[convert.action_message(a, currency) for a in actions],
            total_monthly_savings=to_money(total_savings(applied), currency),
        )

    async def RecommendResources(
        self, request: cost_pb2.RecommendResourcesRequest, context: Context
    ) -> cost_pb2.ResourceRecommendation:
        assert self._rightsizer is not None
        result = await self._rightsizer.recommend(request.service, request.environment)
        return recommendation_message(result)

    async def ListAppliedOptimizations(
        self, request: cost_pb2.ListAppliedOptimizationsRequest, context: Context
    ) -> cost_pb2.ListAppliedOptimizationsResponse:
        start = convert.from_timestamp(request.start_time) if request.HasField("start_time") else None
        end = convert.from_timestamp(request.end_time) if request.HasField("end_time") else None
        window = [time_violation("start_time", start), time_violation("end_time", end)]
        violations = [v for v in window if v is not None]
        if violations:
            raise InvalidArgument("invalid period", violations)
        history = await self._outcomes.optimizations(
            teams=list(request.teams), service=request.service, start=start, end=end
        )
        return outcomes_convert.history_message(history, self._currency)

    async def GetEstimateAccuracy(
        self, request: cost_pb2.GetEstimateAccuracyRequest, context: Context
    ) -> cost_pb2.GetEstimateAccuracyResponse:
        accuracy = await self._outcomes.estimate_accuracy(teams=list(request.teams), days=request.days)
        return outcomes_convert.accuracy_message(accuracy, self._currency)

    async def GetPlatformRoi(
        self, request: cost_pb2.GetPlatformRoiRequest, context: Context
    ) -> cost_pb2.GetPlatformRoiResponse:
        violations = [
            FieldViolation(name, f"must be between 0 and {MAX_ROI_COUNT}")
            for name in ("deployments", "services_created", "incidents_avoided")
            if not 0 <= getattr(request, name) <= MAX_ROI_COUNT
        ]
        end = convert.from_timestamp(request.end_time) if request.HasField("end_time") else self._clock()
        start = convert.from_timestamp(request.start_time) if request.HasField("start_time") else None
        window = [time_violation("start_time", start), time_violation("end_time", end)]
        violations += [v for v in window if v is not None]
        if violations:
            raise InvalidArgument("invalid ROI request", violations)
        start = start or end - timedelta(days=30)
        if end <= start:
            violations.append(FieldViolation("end_time", "must be after start_time"))
        if violations:
            raise InvalidArgument("invalid ROI request", violations)
        result = await self._analysis.roi(
            deployments=request.deployments,
            services_created=request.services_created,
            incidents_avoided=request.incidents_avoided,
            start=start,
            end=end,
        )
        currency = self._currency
        roi = result.roi
        return cost_pb2.GetPlatformRoiResponse(
            benefits=[
                cost_pb2.RoiTerm(name=t.name, formula=t.formula, value=to_money(t.value, currency))
                for t in roi.benefits
            ],
            costs=[
                cost_pb2.RoiTerm(name=t.name, formula=t.formula, value=to_money(t.value, currency))
                for t in roi.costs
            ],
            total_benefit=to_money(roi.total_benefit, currency),
            total_cost=to_money(roi.total_cost, currency),
            roi_percent=roi.percent,
            realized_savings=to_money(result.realized_savings, currency),
            average_utilization=result.average_utilization,
            cost_per_service=to_money(result.cost_per_service, currency),
        )
