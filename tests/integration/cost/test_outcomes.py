"""Outcomes on FOCUS actuals over gRPC: the realised savings of recorded changes (per change and per team,
and in the ROI), and pre-provision estimates graded per template, all against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import grpc
import pytest
from cost_test_rows import day_row, stream  # type: ignore[import-not-found]
from google.protobuf import struct_pb2
from google.type import money_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details

NANO = Decimal("0.000000001")
PER_MONTH = Decimal(365) / Decimal(12)


def compute() -> common_pb2.Resource:
    properties = struct_pb2.Struct()
    properties.update({"instance_type": "t3.medium", "min_instances": 1, "max_instances": 2})
    return common_pb2.Resource(name="compute", type="compute", properties=properties)


async def register(
    stub, service: str, team: str, *, template: str = "web-service", estimate: int = 0, operation: str = ""
) -> None:
    request = cost_pb2.RegisterResourcesRequest(
        service=service,
        team=team,
        environment="production",
        resources=[compute()],
        template=template,
        optimization_operation=operation,
    )
    if estimate:
        request.estimated_monthly_cost.CopyFrom(money_pb2.Money(currency_code="USD", units=estimate))
    await stub.RegisterResources(request)


def exact(value: Decimal) -> Decimal:
    return value.quantize(NANO)


async def test_realised_savings_per_change_per_team_and_in_the_roi(cost) -> None:
    stub = cost.stub
    cost.clock.now = datetime(2024, 10, 1, 12, tzinfo=UTC)
    for service, team in (("checkout", "payments"), ("search", "payments"), ("ledger", "finance")):
        await register(stub, service, team)
    # Two canaried changes on Oct 15 (the retried registration records checkout's change once), one today.
    cost.clock.now = datetime(2024, 10, 15, 12, tzinfo=UTC)
    await register(stub, "checkout", "payments", operation="operations/op-1")
    await register(stub, "checkout", "payments", operation="operations/op-1")
    await register(stub, "ledger", "finance", operation="operations/op-2")
    # checkout: $30 a day Oct 10-14, $25 on the change's day (not compared), $20 a day Oct 16-20.
    rows = [day_row("checkout", "payments", date(2024, 10, d), Decimal(30)) for d in range(10, 15)]
    rows.append(day_row("checkout", "payments", date(2024, 10, 15), Decimal(25)))
    rows += [day_row("checkout", "payments", date(2024, 10, d), Decimal(20)) for d in range(16, 21)]
    # ledger: $10 a day Oct 12-14 only, $4 a day Oct 16-18 only (missing days cost nothing).
    rows += [day_row("ledger", "finance", date(2024, 10, d), Decimal(10)) for d in range(12, 15)]
    rows += [day_row("ledger", "finance", date(2024, 10, d), Decimal(4)) for d in range(16, 19)]
    await stub.ImportBilling(stream(rows, source="actuals"))
    cost.clock.now = datetime(2024, 10, 21, 12, tzinfo=UTC)
    await register(stub, "search", "payments", operation="operations/op-3")

    reply = await stub.ListAppliedOptimizations(cost_pb2.ListAppliedOptimizationsRequest())
    assert [(a.service, a.operation) for a in reply.optimizations] == [
        ("search", "operations/op-3"),
        ("ledger", "operations/op-2"),
        ("checkout", "operations/op-1"),
    ]
    search, ledger, checkout = reply.optimizations
    # Oct 21: five full days after Oct 15 (16-20) against the five before (10-14).
    assert checkout.realised.days == 5
    assert from_money(checkout.realised.before_per_day) == 30
    assert from_money(checkout.realised.after_per_day) == 20
    assert from_money(checkout.realised.saving_per_day) == 10
    assert from_money(checkout.realised.monthly_saving) == exact(10 * PER_MONTH)  # 304.166666667
    # ledger: (3 x 10) / 5 = 6 before, (3 x 4) / 5 = 2.4 after: 3.6 a day, 109.5 a month.
    assert from_money(ledger.realised.before_per_day) == 6
    assert from_money(ledger.realised.after_per_day) == Decimal("2.4")
    assert from_money(ledger.realised.monthly_saving) == Decimal("109.5")
    assert not search.HasField("realised")  # changed today: nothing measured, never the estimate
    assert (checkout.team, checkout.resource, checkout.change) == ("payments", "compute", "rightsizing")

    teams = {t.team: t for t in reply.teams}
    assert (teams["payments"].optimizations, teams["payments"].measured) == (2, 1)
    assert from_money(teams["payments"].saving_per_day) == 10
    assert (teams["finance"].optimizations, teams["finance"].measured) == (1, 1)
    assert from_money(teams["finance"].monthly_saving) == Decimal("109.5")
    only = await stub.ListAppliedOptimizations(cost_pb2.ListAppliedOptimizationsRequest(teams=["finance"]))
    assert [a.service for a in only.optimizations] == ["ledger"]
    one = await stub.ListAppliedOptimizations(cost_pb2.ListAppliedOptimizationsRequest(service="checkout"))
    assert [a.operation for a in one.optimizations] == ["operations/op-1"]

    # The ROI's realised savings are these measured ones: 304.17 + 109.50.
    roi = await stub.GetPlatformRoi(cost_pb2.GetPlatformRoiRequest(deployments=1))
    assert from_money(roi.realized_savings) == Decimal("413.67")


async def test_bad_optimization_records_and_periods_name_the_field(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await register(cost.stub, "checkout", "payments", operation="op-1")
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "optimization_operation" in str(error_details(raised.value))
    request = cost_pb2.ListAppliedOptimizationsRequest()
    request.start_time.FromDatetime(datetime(2024, 10, 2, tzinfo=UTC))
    request.end_time.FromDatetime(datetime(2024, 10, 1, tzinfo=UTC))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await cost.stub.ListAppliedOptimizations(request)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "start_time" in str(error_details(raised.value))
    assert not (
        await cost.stub.ListAppliedOptimizations(cost_pb2.ListAppliedOptimizationsRequest())
    ).optimizations


async def test_estimates_are_graded_against_actuals_per_template(cost) -> None:
    stub = cost.stub
    cost.clock.now = datetime(2024, 10, 1, 12, tzinfo=UTC)
    await register(stub, "checkout", "payments", estimate=600)
    await register(stub, "search", "payments", estimate=300)
    await register(stub, "ledger", "finance", template="worker", estimate=100)
    await register(stub, "idle", "finance", template="worker", estimate=50)  # no actuals yet
    await register(stub, "unpriced", "finance", template="worker")  # no estimate: nothing to grade
    rows = [day_row("checkout", "payments", date(2024, 10, d), Decimal(25)) for d in range(1, 12)]
    rows += [day_row("search", "payments", date(2024, 10, d), Decimal(8)) for d in range(2, 12)]
    rows += [day_row("ledger", "finance", date(2024, 10, d), Decimal(5)) for d in range(2, 7)]
    await stub.ImportBilling(stream(rows, source="actuals"))
    cost.clock.now = datetime(2024, 10, 12, 12, tzinfo=UTC)

    reply = await stub.GetEstimateAccuracy(cost_pb2.GetEstimateAccuracyRequest())
    # The registration day (Oct 1) is partial: graded days are Oct 2-11 (ledger: Oct 2-6, its last actuals).
    graded = {g.service: g for g in reply.services}
    assert set(graded) == {"checkout", "search", "ledger"} and reply.ungraded == 1
    assert graded["checkout"].days == 10 and graded["ledger"].days == 5
    checkout_actual = 25 * PER_MONTH  # 760.416666667
    search_actual = 8 * PER_MONTH  # 243.333333333
    assert from_money(graded["checkout"].actual_monthly_cost) == exact(checkout_actual)
    assert graded["checkout"].error == pytest.approx(float((600 - checkout_actual) / checkout_actual))
    assert graded["checkout"].error == pytest.approx(-0.21096, abs=1e-5)
    assert graded["search"].error == pytest.approx(0.23288, abs=1e-5)
    assert graded["ledger"].error == pytest.approx(-0.34247, abs=1e-5)  # actual 5 x 365 / 12 = 152.08

    templates = {t.template: t for t in reply.templates}
    web = templates["web-service"]
    assert web.services == 2
    assert from_money(web.estimated_monthly_cost) == 900
    assert from_money(web.actual_monthly_cost) == exact(checkout_actual + search_actual)  # 1003.75
    assert web.error == pytest.approx((900 - 1003.75) / 1003.75)
    assert web.mean_absolute_error == pytest.approx((0.210959 + 0.232877) / 2, abs=1e-5)
    assert templates["worker"].services == 1

    short = await stub.GetEstimateAccuracy(cost_pb2.GetEstimateAccuracyRequest(days=5, teams=["payments"]))
    assert {g.service: g.days for g in short.services} == {"checkout": 5, "search": 5}
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.GetEstimateAccuracy(cost_pb2.GetEstimateAccuracyRequest(days=91))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "days" in str(error_details(raised.value))
