"""Service and team months over gRPC: projections on synthetic series with known answers, and trends."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import grpc
import pytest
from cost_test_rows import day_row, days, stream  # type: ignore[import-not-found]
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details


async def test_steady_run_rate_projects_the_month_and_is_flat(cost) -> None:
    # "now" is 2024-10-15 12:00: Oct 1-14 complete at $10/day, Oct 15 partial ($3 so far).
    rows = [day_row("api", "core", d, Decimal(10)) for d in days(date(2024, 9, 1), date(2024, 10, 15))]
    rows.append(day_row("api", "core", date(2024, 10, 15), Decimal(3)))
    await cost.stub.ImportBilling(stream(rows))
    result = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="services/api"))
    assert from_money(result.current_month) == Decimal(143)
    # 14 complete days + 17 forecast days (15th-31st) at $10.
    assert from_money(result.projected_month) == Decimal(310)
    assert from_money(result.previous_month) == Decimal(300)
    assert result.trend.direction == cost_pb2.TREND_DIRECTION_FLAT
    assert result.trend.percent == pytest.approx(3.33, abs=0.01)
    assert result.projection_method == "weekday-weighted-run-rate-14d"
    assert len(result.daily) == 15 and result.team == "core"


async def test_weekday_weighting_forecasts_weekends_low(cost) -> None:
    def cost_of(d: date) -> Decimal:
        return Decimal(10) if d.weekday() < 5 else Decimal(2)

    rows = [day_row("batch", "data", d, cost_of(d)) for d in days(date(2024, 9, 16), date(2024, 10, 15))]
    await cost.stub.ImportBilling(stream(rows))
    result = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="batch", month="2024-10"))
    expected = sum((cost_of(d) for d in days(date(2024, 10, 1), date(2024, 11, 1))), Decimal(0))
    assert from_money(result.projected_month) == expected
    # A straight line through the month so far would differ: the method is not a naive run rate.
    naive = from_money(result.current_month) / 14 * 31
    assert naive != expected


async def test_rising_cost_trends_up_and_past_months_are_actuals(cost) -> None:
    rows = [day_row("web", "growth", d, Decimal(1)) for d in days(date(2024, 9, 1), date(2024, 10, 1))]
    rows += [day_row("web", "growth", d, Decimal(4)) for d in days(date(2024, 10, 1), date(2024, 10, 15))]
    await cost.stub.ImportBilling(stream(rows))
    result = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="web"))
    assert from_money(result.projected_month) == Decimal(4 * 31)
    assert result.trend.direction == cost_pb2.TREND_DIRECTION_UP
    assert result.trend.percent == pytest.approx((124 - 30) / 30 * 100, abs=0.01)
    past = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="web", month="2024-09"))
    assert from_money(past.projected_month) == from_money(past.current_month) == Decimal(30)
    assert past.projection_method == "actual"
    teams = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest())
    assert teams.month == "2024-10"
    growth = next(t for t in teams.teams if t.team == "growth")
    assert from_money(growth.projected_month) == Decimal(124)
    assert growth.trend.direction == cost_pb2.TREND_DIRECTION_UP


async def test_new_service_without_cost_reports_zeros_with_its_estimate(cost) -> None:
    await cost.stub.RegisterResources(
        cost_pb2.RegisterResourcesRequest(
            service="fresh",
            team="core",
            environment="staging",
            estimated_monthly_cost={"currency_code": "USD", "units": 744, "nanos": 600_000_000},
        )
    )
    result = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="services/fresh"))
    assert from_money(result.current_month) == 0 and result.team == "core"
    assert from_money(result.estimated_monthly_cost) == Decimal("744.6")


async def test_a_month_lists_only_teams_with_cost_around_it(cost) -> None:
    # "now" is 2024-10-15; October's report looks back into September for its projection and trend.
    rows = [day_row("web", "core", date(2024, 10, 3), Decimal(10))]
    rows.append(day_row("old", "legacy", date(2024, 8, 20), Decimal(7)))  # before September: nothing to say
    await cost.stub.ImportBilling(stream(rows))
    august = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-09"))
    assert [team.team for team in august.teams] == ["legacy"]  # August is September's previous month
    october = await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-10"))
    assert [team.team for team in october.teams] == ["core"]
    assert october.teams[0].trend.direction == cost_pb2.TREND_DIRECTION_NEW


async def test_unknown_service_is_not_found_naming_it(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="services/nobody"))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.NOT_FOUND
    assert details.reason == "NOT_FOUND" and details.metadata == {"service": "nobody"}


async def test_billed_service_is_known_in_a_month_without_cost(cost) -> None:
    await cost.stub.ImportBilling(stream([day_row("old", "core", date(2024, 8, 3), Decimal(5))]))
    result = await cost.stub.GetServiceCost(cost_pb2.GetServiceCostRequest(service="old", month="2024-10"))
    assert from_money(result.current_month) == 0


async def test_bad_month_names_the_field(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.GetTeamCosts(cost_pb2.GetTeamCostsRequest(month="2024-13"))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.field_violations[0].field == "month"
