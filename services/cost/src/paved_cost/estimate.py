"""Monthly cost estimate of a rendered plan from the price catalog, line by line (as Infracost does)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_cost.prices import PriceCatalog, RegionPrices
from paved_cost.resources import PlanResource, PropertyReader


@dataclass(frozen=True)
class LineItem:
    """quantity x unit_price = monthly_cost."""

    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def monthly_cost(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class ResourceEstimate:
    """The line items of one resource and their sum."""

    resource: str
    type: str
    line_items: list[LineItem] = field(default_factory=list)

    @property
    def monthly_cost(self) -> Decimal:
        return sum((item.monthly_cost for item in self.line_items), Decimal(0))


@dataclass(frozen=True)
class Estimate:
    """The estimate of a whole plan."""

    region: str
    currency: str
    hours_per_month: Decimal
    source: str
    date: str
    resources: list[ResourceEstimate]

    @property
    def total(self) -> Decimal:
        return sum((r.monthly_cost for r in self.resources), Decimal(0))


def estimate(catalog: PriceCatalog, resources: Sequence[PlanResource], region: str = "") -> Estimate:
    """Estimate ``resources`` in ``region`` (a resource's own ``region`` property wins).

    Every problem is reported at once; an unknown instance type or class is an error, never a zero.
    """
    violations: list[FieldViolation] = []
    region = region or catalog.default_region
    if region not in catalog.regions:
        violations.append(
            FieldViolation(
                "region", f"region {region!r} is not priced; priced: {', '.join(sorted(catalog.regions))}"
            )
        )
    estimates: list[ResourceEstimate] = []
    for index, resource in enumerate(resources):
        path = f"resources[{index}]"
        reader = PropertyReader(resource, path, violations)
        resource_region = reader.string("region") or region
        prices = catalog.regions.get(resource_region)
        if prices is None:
            if resource_region != region:
                violations.append(
                    FieldViolation(f"{path}.properties.region", f"region {resource_region!r} is not priced")
                )
            continue
        items = _price(catalog, prices, resource, reader, path, violations)
        estimates.append(ResourceEstimate(resource.name, resource.type, items))
    if violations:
        raise InvalidArgument("the plan cannot be priced", violations, reason="UNPRICEABLE_PLAN")
    return Estimate(
        region, catalog.currency, catalog.hours_per_month, catalog.source, catalog.date, estimates
    )


def _price(
    catalog: PriceCatalog,
    prices: RegionPrices,
    resource: PlanResource,
    reader: PropertyReader,
    path: str,
    violations: list[FieldViolation],
) -> list[LineItem]:
    hours = catalog.hours_per_month
    if resource.type == "compute":
        return _compute(catalog, prices, reader, path, violations)
    if resource.type == "database":
        return _database(catalog, prices, reader, path, violations)
    if resource.type == "storage":
        storage_class = reader.string("storage_class", "ebs-gp3")
        gb = reader.number("storage_gb", Decimal(0))
        price = prices.storage_gb_month.get(storage_class)
        if price is None:
            violations.append(
                FieldViolation(
                    f"{path}.properties.storage_class",
                    f"unknown storage class {storage_class!r}; "
                    f"known: {', '.join(sorted(prices.storage_gb_month))}",
                )
            )
            return []
        return [LineItem(f"{storage_class} storage", gb, "GB-month", price)] if gb else []
    if resource.type == "networking":
        if reader.boolean("load_balancer"):
            return [LineItem("load balancer hours", hours, "hours", prices.load_balancer_hourly)]
        return []
    # Observability and other kinds have no price in the catalog: they cost nothing we can estimate.
    return []


def _compute(
    catalog: PriceCatalog,
    prices: RegionPrices,
    reader: PropertyReader,
    path: str,
    violations: list[FieldViolation],
) -> list[LineItem]:
    instance_type = reader.string("instance_type")
    # The floor of instances that always run is what a month is billed for; autoscaling above it is extra.
    replicas = reader.integer("replicas", 1)
    count = reader.integer("min_instances", replicas) if reader.has("min_instances") else replicas
    spot = reader.boolean("spot")
    if not instance_type:
        violations.append(FieldViolation(f"{path}.properties.instance_type", "is required for compute"))
        return []
    price = prices.compute_hourly.get(instance_type)
    if price is None:
        violations.append(
            FieldViolation(f"{path}.properties.instance_type", f"unknown instance type {instance_type!r}")
        )
        return []
    description = f"{instance_type} instance-hours"
    if spot:
        price = price * (1 - catalog.spot_discount)
        description = (
            f"{instance_type} spot instance-hours (estimated {catalog.spot_discount:%} off on-demand)"
        )
    return [LineItem(description, catalog.hours_per_month * count, "hours", price)]


def _database(
    catalog: PriceCatalog,
    prices: RegionPrices,
    reader: PropertyReader,
    path: str,
    violations: list[FieldViolation],
) -> list[LineItem]:
    engine = reader.string("engine", "postgres")
    instance_class = reader.string("instance_class")
    storage_gb = reader.number("storage_gb", Decimal(0))
    factor = catalog.multi_az_factor if reader.boolean("multi_az") else Decimal(1)
    suffix = " (multi-AZ)" if factor != 1 else ""
    table = prices.database_hourly.get(engine)
    if table is None:
        violations.append(
            FieldViolation(
                f"{path}.properties.engine",
                f"unknown database engine {engine!r}; known: {', '.join(sorted(prices.database_hourly))}",
            )
        )
        return []
    if not instance_class:
        violations.append(FieldViolation(f"{path}.properties.instance_class", "is required for database"))
        return []
    price = table.get(instance_class)
    if price is None:
        violations.append(
            FieldViolation(
                f"{path}.properties.instance_class", f"unknown {engine} instance class {instance_class!r}"
            )
        )
        return []
    items = [
        LineItem(
            f"{engine} {instance_class} instance-hours{suffix}",
            catalog.hours_per_month,
            "hours",
            price * factor,
        )
    ]
    if storage_gb:
        items.append(
            LineItem(
                f"{engine} storage{suffix}", storage_gb, "GB-month", prices.database_storage_gb_month * factor
            )
        )
    return items
