"""Settings of the policy service, read from ``PAVED_POLICY_*`` environment variables."""

from __future__ import annotations

from paved_kit.settings import BaseServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class PolicySettings(BaseServiceSettings):
    """Policy service settings; every field has a default that works out of the box."""

    model_config = SettingsConfigDict(env_prefix="PAVED_POLICY_")

    port: int = 50053
    cost_limit_monthly: float = Field(
        10000.0, gt=0, description="Parameter of the built-in cost_limit policy when it is first created."
    )
    cost_limit_currency: str = Field("USD", min_length=3, max_length=3, description="Currency of that limit.")
    max_resources_per_request: int = Field(1000, ge=1, description="Most resources one Evaluate may carry.")
    max_exception_days: int = Field(365, ge=1, description="Longest an exception may last.")
    program_cache_size: int = Field(4096, ge=16, description="Compiled CEL programs kept in memory.")
    catalog_address: str = Field(
        "",
        description="Catalog gRPC address scorecard facts are reported to (`paved up` sets it); empty: off.",
    )
    catalog_timeout_seconds: float = Field(2.0, gt=0, description="Deadline of a facts report.")
    default_page_size: int = Field(50, ge=1, le=1000)
    max_page_size: int = Field(1000, ge=1)
