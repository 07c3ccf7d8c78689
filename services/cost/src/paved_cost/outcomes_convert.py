"""Outcomes (applied optimizations with realised savings, estimate accuracy) as ``paved.cost.v1`` messages."""

from __future__ import annotations

from paved.cost.v1 import cost_pb2

from paved_cost.convert import timestamp
from paved_cost.money import to_money
from paved_cost.outcomes import EstimateAccuracy, OptimizationHistory


def history_message(history: OptimizationHistory, currency: str) -> cost_pb2.ListAppliedOptimizationsResponse:
    response = cost_pb2.ListAppliedOptimizationsResponse()
    for measured in history.optimizations:
        applied = measured.applied
        item = cost_pb2.AppliedOptimization(
            service=applied.service,
            team=measured.team,
            resource=applied.resource,
            change=measured.change,
            operation=applied.operation,
            apply_time=timestamp(applied.applied_at),
            estimated_monthly_saving=to_money(applied.monthly_savings, currency),
        )
        if measured.realised is not None:
            r = measured.realised
            item.realised.CopyFrom(
                cost_pb2.RealisedSaving(
                    days=r.days,
                    before_per_day=to_money(r.before_per_day, currency),
                    after_per_day=to_money(r.after_per_day, currency),
                    saving_per_day=to_money(r.per_day, currency),
                    monthly_saving=to_money(r.monthly, currency),
                )
            )
        response.optimizations.append(item)
    for team in history.teams:
        response.teams.append(
            cost_pb2.TeamRealisedSavings(
                team=team.team,
                optimizations=team.optimizations,
                measured=team.measured,
                saving_per_day=to_money(team.per_day, currency),
                monthly_saving=to_money(team.monthly, currency),
            )
        )
    return response


def accuracy_message(accuracy: EstimateAccuracy, currency: str) -> cost_pb2.GetEstimateAccuracyResponse:
    return cost_pb2.GetEstimateAccuracyResponse(
        templates=[
            cost_pb2.TemplateEstimateAccuracy(
                template=t.template,
                services=t.services,
                estimated_monthly_cost=to_money(t.estimated_monthly, currency),
                actual_monthly_cost=to_money(t.actual_monthly, currency),
                error=t.error,
                mean_absolute_error=t.mean_absolute_error,
            )
            for t in accuracy.templates
        ],
        services=[
            cost_pb2.EstimateGrade(
                service=g.service,
                template=g.template,
                team=g.team,
                estimated_monthly_cost=to_money(g.estimated_monthly, currency),
                actual_monthly_cost=to_money(g.actual_monthly, currency),
                days=g.days,
                error=g.error,
            )
            for g in accuracy.services
        ],
        ungraded=accuracy.ungraded,
    )
