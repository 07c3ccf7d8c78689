"""EstimateCost over gRPC: the source design's web service plan, line items, and errors naming the field."""

from __future__ import annotations

from decimal import Decimal

import grpc
import pytest
from google.protobuf import struct_pb2
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2
from paved_cost.money import from_money
from paved_kit.grpc_errors import error_details


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Estimates never touch the database: one backend is enough (the import tests cover both)."""
    return sqlite_url


def resource(name: str, type_: str, **properties: object) -> common_pb2.Resource:
    struct = struct_pb2.Struct()
    struct.update(properties)
    return common_pb2.Resource(name=name, type=type_, properties=struct, tags={"team": "payments"})


async def test_web_service_plan_is_priced_per_line_item(cost) -> None:
    response = await cost.stub.EstimateCost(
        cost_pb2.EstimateCostRequest(
            resources=[
                resource("compute", "compute", instance_type="c5.2xlarge", min_instances=3, max_instances=10),
                resource(
                    "database",
                    "database",
                    engine="postgres",
                    instance_class="db.r5.large",
                    storage_gb=100,
                    multi_az=True,
                    encrypted=True,
                ),
                resource("networking", "networking", load_balancer=True),
                resource("observability", "observability", metrics=True),
            ],
            region="us-east-1",
        )
    )
    by_name = {r.resource: r for r in response.resources}
    compute = by_name["compute"]
    # 730 h x 3 instances x $0.34/h
    assert from_money(compute.monthly_cost) == Decimal("744.60")
    assert compute.line_items[0].quantity == 2190
    assert from_money(compute.line_items[0].unit_price) == Decimal("0.34")
    database = by_name["database"]
    # multi-AZ doubles: 730 x 0.25 x 2 + 100 GB x 0.115 x 2
    assert from_money(database.monthly_cost) == Decimal("365") + Decimal("23")
    assert from_money(by_name["networking"].monthly_cost) == Decimal("730") * Decimal("0.0225")
    assert from_money(by_name["observability"].monthly_cost) == 0
    total = sum((from_money(r.monthly_cost) for r in response.resources), Decimal(0))
    assert from_money(response.total_monthly_cost) == total
    assert response.total_monthly_cost.currency_code == "USD"
    assert response.hours_per_month == 730
    assert response.price_catalog_date and "AWS" in response.price_catalog_source


async def test_unknown_instance_type_names_it(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.EstimateCost(
            cost_pb2.EstimateCostRequest(resources=[resource("compute", "compute", instance_type="c9.huge")])
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.field_violations[0].field == "resources[0].properties.instance_type"
    assert "c9.huge" in details.field_violations[0].description


async def test_unknown_region_is_refused(cost) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cost.stub.EstimateCost(
            cost_pb2.EstimateCostRequest(
                resources=[resource("compute", "compute", instance_type="c5.large")], region="mars-1"
            )
        )
    assert error_details(caught.value).field_violations[0].field == "region"


async def test_price_catalog_describes_itself(cost) -> None:
    catalog = await cost.stub.GetPriceCatalog(cost_pb2.GetPriceCatalogRequest())
    assert "us-east-1" in catalog.regions
    assert {"c5.large", "m5.4xlarge", "r5.xlarge", "t3.large"} <= set(catalog.instance_types)
    assert "db.r5.large" in catalog.database_classes
