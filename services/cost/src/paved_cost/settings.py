"""Settings of the cost service, read from ``PAVED_COST_*`` environment variables."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from paved_kit.settings import BaseServiceSettings
from pydantic import BaseModel, Field, model_validator
from pydantic_settings import SettingsConfigDict


class RecommendationSettings(BaseModel):
    """Thresholds of the recommendation rules."""

    rightsize_max_utilization: float = Field(
        default=0.3, gt=0, le=1, description="Rightsize compute whose average utilization is below this."
    )
    auto_optimize_max_utilization: float = Field(
        default=0.2, gt=0, le=1, description="AutoOptimize applies only rightsizes below this utilization."
    )
    utilization_lookback_days: int = Field(default=14, ge=1, description="Window of utilization samples.")
    min_utilization_samples: int = Field(
        default=12, ge=1, description="Fewer samples than this: no rightsize."
    )
    reserved_min_months: int = Field(
        default=6, ge=1, description="Complete months of steady cost before reserving."
    )
    reserved_max_variation: float = Field(
        default=0.2, ge=0, description="Steady: every month within this fraction of the months' mean."
    )


class RoiSettings(BaseModel):
    """Constants of the source design's ROI formula."""

    hours_saved_per_deployment: Decimal = Decimal(2)
    hours_saved_per_service_created: Decimal = Decimal(8)
    hourly_rate: Decimal = Decimal(150)
    value_per_incident_avoided: Decimal = Decimal(100_000)
    platform_engineers: int = 5
    engineer_annual_cost: Decimal = Decimal(200_000)
    annual_infrastructure_cost: Decimal = Decimal(500_000)


class CostSettings(BaseServiceSettings):
    """Cost service settings; every field has a default that works out of the box."""

    model_config = SettingsConfigDict(env_prefix="PAVED_COST_", env_nested_delimiter="__")

    port: int = 50054
    catalog_address: str = Field(
        default="",
        description="Catalog gRPC address cost facts are reported to (`paved up` sets it); empty: off.",
    )
    catalog_timeout_seconds: float = Field(default=2.0, gt=0, description="Deadline of a facts report.")
    provisioning_address: str = Field(
        default="", description="host:port of provisioning; empty means AutoOptimize can only dry-run."
    )
    alerting_address: str = Field(
        default="", description="host:port of alerting, the owner of usage history rightsizing reads."
    )
    alerting_timeout_seconds: float = Field(default=10.0, gt=0, description="Deadline of a history query.")
    price_catalog_file: Path | None = Field(
        default=None, description="JSON price catalog replacing the shipped one (e.g. negotiated prices)."
    )
    currency: str = Field(default="USD", min_length=3, max_length=3, description="Currency of reports.")
    service_tag_keys: list[str] = Field(
        default_factory=lambda: ["service", "application"],
        description="Tag keys naming a billing row's service, first match wins.",
    )
    team_tag_keys: list[str] = Field(
        default_factory=lambda: ["team", "owner", "cost_center"],
        description="Tag keys naming a billing row's team, first match wins.",
    )
    forecast_lookback_days: int = Field(
        default=14, ge=1, le=90, description="Complete days the forecast learns from."
    )
    trend_flat_percent: float = Field(default=5.0, ge=0, description="Changes within ±this percent are flat.")
    import_batch_rows: int = Field(default=5000, ge=1, description="Rows written per database round trip.")
    import_parse_in_database: bool = Field(
        default=True,
        description="On PostgreSQL, let the database parse and validate CSV imports (much faster).",
    )
    recommendations: RecommendationSettings = RecommendationSettings()
    roi: RoiSettings = RoiSettings()

    @model_validator(mode="after")
    def _check_cost(self) -> CostSettings:
        if self.price_catalog_file is not None and not self.price_catalog_file.is_file():
            raise ValueError(f"price_catalog_file: no such file: {self.price_catalog_file}")
        if not self.service_tag_keys:
            raise ValueError("service_tag_keys: at least one key is needed")
        rec = self.recommendations
        if rec.auto_optimize_max_utilization > rec.rightsize_max_utilization:
            raise ValueError(
                "recommendations.auto_optimize_max_utilization must not exceed rightsize_max_utilization"
            )
        return self
