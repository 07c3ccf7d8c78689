"""Tables of the cost service, on its own SQLModel registry."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from paved_kit.db import new_registry
from sqlalchemy import Column, DateTime, Index, Numeric, String, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel


class ExactDecimal(TypeDecorator[Decimal]):
    """Exact decimals: NUMERIC on PostgreSQL; text on SQLite, whose NUMERIC is a lossy float."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value) if not isinstance(value, Decimal) else value


def _utc() -> Any:
    return Column(DateTime(timezone=True), nullable=False)


class CostModel(SQLModel, registry=new_registry()):
    """Base of the cost service's tables."""


class BillingRow(CostModel, table=True):
    """One imported FOCUS row; replaced as a whole per (source, billing_period)."""

    __tablename__ = "cost_billing_row"
    __table_args__ = (Index("ix_cost_billing_row_import", "source", "billing_period"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    billing_period: str
    charge_period_start: datetime = Field(sa_column=_utc())
    charge_period_end: datetime = Field(sa_column=_utc())
    billing_period_start: datetime = Field(sa_column=_utc())
    billing_period_end: datetime = Field(sa_column=_utc())
    charge_category: str
    pricing_category: str | None = None
    provider_name: str | None = None
    service_name: str | None = None
    service_category: str | None = None
    region_id: str | None = None
    sub_account_id: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    sku_id: str | None = None
    billing_currency: str
    billed_cost: Decimal = Field(sa_type=ExactDecimal)
    effective_cost: Decimal = Field(sa_type=ExactDecimal)
    list_cost: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    contracted_cost: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    consumed_quantity: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    consumed_unit: str | None = None
    commitment_discount_id: str | None = None
    commitment_discount_type: str | None = None
    tags: str | None = None
    service: str | None = None
    team: str | None = None
    contract_applied: str | None = None  # FOCUS 1.3 ContractApplied as given (JSON)


class DailyCost(CostModel, table=True):
    """EffectiveCost per day, service and team of one import: what every report reads."""

    __tablename__ = "cost_daily"
    __table_args__ = (
        Index("ix_cost_daily_day", "day"),
        Index("ix_cost_daily_service_day", "service", "day"),
        Index("ix_cost_daily_import", "source", "billing_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    billing_period: str
    day: date
    service: str | None = None
    team: str | None = None
    currency: str
    effective_cost: Decimal = Field(sa_type=ExactDecimal)
    billed_cost: Decimal = Field(sa_type=ExactDecimal)
    rows: int


class BillingImport(CostModel, table=True):
    """The latest import of one source and billing period."""

    __tablename__ = "cost_billing_import"
    __table_args__ = (UniqueConstraint("source", "billing_period"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str
    billing_period: str
    rows: int
    imported_at: datetime = Field(sa_column=_utc())


class ContractCommitment(CostModel, table=True):
    """One term of a contract (FOCUS 1.3 Contract Commitment dataset); replaced as a whole per source."""

    __tablename__ = "cost_contract_commitment"
    __table_args__ = (
        UniqueConstraint("source", "contract_commitment_id", name="uq_cost_contract_commitment"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str
    contract_commitment_id: str
    contract_id: str
    category: str  # Spend or Usage
    commitment_type: str
    description: str | None = None
    cost: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    quantity: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    unit: str | None = None
    billing_currency: str | None = None
    period_start: datetime = Field(sa_column=_utc())
    period_end: datetime = Field(sa_column=_utc())
    contract_period_start: datetime = Field(sa_column=_utc())
    contract_period_end: datetime = Field(sa_column=_utc())
    imported_at: datetime = Field(sa_column=_utc())


class ServiceRegistration(CostModel, table=True):
    """A service provisioning registered for cost tracking."""

    __tablename__ = "cost_service"

    service: str = Field(primary_key=True)
    team: str
    environment: str
    estimated_monthly_cost: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    currency: str = "USD"
    registered_at: datetime = Field(sa_column=_utc())
    template: str = Field(default="", sa_column_kwargs={"server_default": ""})


class EnvironmentEstimate(CostModel, table=True):
    """A registered service's monthly estimate in one environment (its registration's is their sum)."""

    __tablename__ = "cost_environment"

    service: str = Field(primary_key=True)
    environment: str = Field(primary_key=True)
    team: str
    estimated_monthly_cost: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    currency: str = "USD"
    registered_at: datetime = Field(sa_column=_utc())


class TrackedResource(CostModel, table=True):
    """A resource of a registered service, with the facts recommendations need."""

    __tablename__ = "cost_resource"
    __table_args__ = (UniqueConstraint("service", "resource"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(index=True)
    resource: str
    type: str
    team: str
    environment: str
    properties: str  # JSON object as rendered
    registered_at: datetime = Field(sa_column=_utc())
    changed_at: datetime = Field(sa_column=_utc())


class UtilizationSample(CostModel, table=True):
    """CPU or memory utilization (fraction 0..1) of a resource at a time."""

    __tablename__ = "cost_utilization"
    __table_args__ = (Index("ix_cost_utilization_resource_time", "service", "resource", "time"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str
    resource: str
    metric: str
    value: float
    time: datetime = Field(sa_column=_utc())


class AppliedOptimization(CostModel, table=True):
    """A change applied through provisioning: an AutoOptimize recommendation (instance type) or a canaried
    rightsizing (``recommendation`` = ``rightsizing``), measured later against FOCUS actuals."""

    __tablename__ = "cost_optimization"

    id: int | None = Field(default=None, primary_key=True)
    recommendation: str
    service: str
    resource: str
    from_instance_type: str
    to_instance_type: str
    monthly_savings: Decimal = Field(sa_type=ExactDecimal)
    currency: str
    operation: str
    applied_at: datetime = Field(sa_column=_utc())
