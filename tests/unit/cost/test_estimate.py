"""Estimates from the shipped catalog, a replacement catalog, and errors that name every bad field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from paved_cost.estimate import estimate
from paved_cost.prices import PriceCatalogError, load_catalog
from paved_cost.resources import PlanResource
from paved_kit.errors import InvalidArgument


def test_source_design_web_service() -> None:
    catalog = load_catalog()
    result = estimate(
        catalog, [PlanResource("compute", "compute", {"instance_type": "c5.2xlarge", "min_instances": 3.0})]
    )
    assert result.total == Decimal("744.60")
    assert result.region == "us-east-1"


def test_spot_storage_and_region() -> None:
    catalog = load_catalog()
    result = estimate(
        catalog,
        [
            PlanResource("compute", "compute", {"instance_type": "m5.large", "replicas": 2, "spot": True}),
            PlanResource("bucket", "storage", {"storage_class": "s3", "storage_gb": 1000}),
        ],
        region="eu-west-1",
    )
    compute, bucket = result.resources
    assert compute.monthly_cost == Decimal("0.107") * Decimal("0.4") * 730 * 2
    assert bucket.monthly_cost == Decimal("23.000")


def test_every_problem_reported_at_once() -> None:
    with pytest.raises(InvalidArgument) as caught:
        estimate(
            load_catalog(),
            [
                PlanResource("compute", "compute", {"instance_type": "c9.huge", "min_instances": 2.5}),
                PlanResource("db", "database", {"engine": "oracle", "instance_class": "db.r5.large"}),
                PlanResource("disk", "storage", {"storage_class": "tape", "storage_gb": -1}),
            ],
        )
    fields = {v.field for v in caught.value.field_violations}
    assert fields == {
        "resources[0].properties.instance_type",
        "resources[0].properties.min_instances",
        "resources[1].properties.engine",
        "resources[2].properties.storage_class",
        "resources[2].properties.storage_gb",
    }


def test_replacement_catalog(tmp_path: Path) -> None:
    shipped = json.loads(load_catalog().model_dump_json())
    shipped["source"] = "negotiated 2025 rates"
    shipped["regions"]["us-east-1"]["compute_hourly"]["c5.2xlarge"] = "0.20"
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(shipped))
    catalog = load_catalog(path)
    result = estimate(
        catalog, [PlanResource("compute", "compute", {"instance_type": "c5.2xlarge", "min_instances": 3})]
    )
    assert result.total == Decimal("438.00") and result.source == "negotiated 2025 rates"
    path.write_text("{}")
    with pytest.raises(PriceCatalogError):
        load_catalog(path)


def test_next_smaller_size_in_family() -> None:
    catalog = load_catalog()
    assert catalog.next_smaller("us-east-1", "r5.4xlarge") == "r5.2xlarge"
    assert catalog.next_smaller("us-east-1", "c5.large") is None
    assert catalog.next_smaller("us-east-1", "t3.large") == "t3.medium"


def test_empty_properties_take_defaults() -> None:
    resource = PlanResource(
        "db", "database", {"engine": "", "instance_class": "db.t3.medium", "storage_gb": 20, "region": ""}
    )
    [priced] = estimate(load_catalog(), [resource]).resources
    assert priced.line_items[0].description.startswith("postgres db.t3.medium")
