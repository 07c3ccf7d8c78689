"""The price catalog: hourly and monthly unit prices per region, shipped as data and replaceable by a file."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, model_validator

# Size ladder of EC2/RDS families, smallest first; rightsizing steps one rung down within a family.
SIZE_ORDER = ("nano", "micro", "small", "medium", "large", "xlarge", *(f"{n}xlarge" for n in range(2, 49)))


class RegionPrices(BaseModel):
    """Unit prices of one region."""

    compute_hourly: dict[str, Decimal]
    database_hourly: dict[str, dict[str, Decimal]] = Field(description="engine → instance class → price")
    database_storage_gb_month: Decimal
    storage_gb_month: dict[str, Decimal] = Field(description="storage class → price per GB-month")
    load_balancer_hourly: Decimal


class InstanceSpec(BaseModel):
    """Capacity of an instance type; ``baseline_share`` < 1 marks a burstable type's sustained CPU share."""

    vcpu: float = Field(gt=0)
    memory_gib: float = Field(gt=0)
    baseline_share: float = Field(1.0, gt=0, le=1)


class PriceCatalog(BaseModel):
    """A whole catalog: where the prices come from, when, and the prices per region."""

    source: str
    date: str
    currency: str = Field(min_length=3, max_length=3)
    hours_per_month: Decimal = Decimal(730)
    default_region: str
    notes: str = ""
    multi_az_factor: Decimal = Decimal(2)
    spot_discount: Decimal = Field(Decimal("0.6"), ge=0, lt=1)
    reserved_discount: Decimal = Field(Decimal("0.36"), ge=0, lt=1)
    regions: dict[str, RegionPrices]
    instance_specs: dict[str, InstanceSpec] = Field(
        default_factory=dict, description="instance type → vCPUs and memory (rightsizing fits against them)"
    )

    @model_validator(mode="after")
    def _default_region_priced(self) -> PriceCatalog:
        if self.default_region not in self.regions:
            raise ValueError(f"default_region {self.default_region!r} is not among the priced regions")
        return self

    def instance_types(self) -> list[str]:
        """Every compute instance type priced in some region."""
        return sorted({name for region in self.regions.values() for name in region.compute_hourly})

    def database_classes(self) -> list[str]:
        """Every database instance class priced for some engine in some region."""
        return sorted(
            {
                name
                for region in self.regions.values()
                for table in region.database_hourly.values()
                for name in table
            }
        )

    def compute_price(self, region: str, instance_type: str) -> Decimal | None:
        """Hourly on-demand price of ``instance_type`` in ``region``, or None when not priced."""
        prices = self.regions.get(region)
        return prices.compute_hourly.get(instance_type) if prices else None

    def next_smaller(self, region: str, instance_type: str) -> str | None:
        """The next smaller size of the same family priced in ``region`` (``c5.2xlarge`` → ``c5.xlarge``)."""
        family, _, size = instance_type.partition(".")
        prices = self.regions.get(region)
        if prices is None or size not in SIZE_ORDER:
            return None
        for smaller in reversed(SIZE_ORDER[: SIZE_ORDER.index(size)]):
            candidate = f"{family}.{smaller}"
            if candidate in prices.compute_hourly:
                return candidate
        return None


class PriceCatalogError(ValueError):
    """The catalog file cannot be read or is not a valid catalog."""


def parse_catalog(text: str, origin: str) -> PriceCatalog:
    """Parse a JSON catalog; ``origin`` names it in errors."""
    try:
        return PriceCatalog.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise PriceCatalogError(f"invalid price catalog {origin}: {exc}") from None


def load_catalog(path: Path | None = None) -> PriceCatalog:
    """The catalog at ``path``, or the shipped AWS catalog when ``path`` is None."""
    if path is None:
        text = resources.files("paved_cost").joinpath("data/aws_prices.json").read_text(encoding="utf-8")
        return parse_catalog(text, "aws_prices.json (shipped)")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceCatalogError(f"cannot read price catalog {path}: {exc.strerror}") from None
    return parse_catalog(text, str(path))
