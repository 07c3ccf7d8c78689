"""Settings of the alerting service (``PAVED_ALERTING_*``); every default works out of the box."""

from __future__ import annotations

from typing import Any

from paved_kit.settings import BaseServiceSettings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from paved_alerting.receivers import masked_url


class AlertingSettings(BaseServiceSettings):
    """The alerting service's configuration."""

    model_config = SettingsConfigDict(env_prefix="PAVED_ALERTING_", validate_default=True)

    port: int = 50055
    evaluation_interval_seconds: float = Field(
        15.0, ge=0, description="How often rules are evaluated; 0 = only when EvaluateRules is called."
    )
    sample_window: int = Field(32, ge=1, le=10_000, description="Samples kept per (service, metric) series.")
    max_series: int = Field(
        1_000_000, ge=1, description="Series kept in memory at most; samples of further series are rejected."
    )
    lookback_seconds: float = Field(
        300.0, gt=0, description="How old the newest sample may be and still count (Prometheus: 5m)."
    )
    prometheus_url: str | None = Field(
        None, description="Prometheus base URL; when set, each evaluation also queries its HTTP API."
    )
    history_enabled: bool = Field(
        True, description="Keep rolled-up metric history (5-minute and 1-hour buckets) in the database."
    )
    history_fine_days: float = Field(14.0, gt=0, le=90, description="Days of 5-minute buckets kept.")
    history_coarse_days: float = Field(90.0, gt=0, le=800, description="Days of 1-hour buckets kept.")
    history_prune_interval_seconds: float = Field(
        3600.0, ge=0, description="How often expired history buckets are deleted; 0 = never."
    )
    alertmanager_url: str | None = Field(
        None,
        description="Alertmanager base URL; when set, alerts go to its /api/v2/alerts instead of webhooks.",
    )
    alertmanager_resend_seconds: float = Field(
        60.0, gt=0, description="How often firing alerts are sent to Alertmanager again (Prometheus: 1m)."
    )
    default_webhook_url: SecretStr | None = Field(
        None,
        description="Webhook for alerts of teams without a receiver of their own (URLs may hold tokens).",
    )
    external_url: str = Field(
        "http://localhost:8080", description="Base URL alert links (generatorURL, externalURL) point to."
    )
    notification_poll_seconds: float = Field(1.0, gt=0, description="How often the outbox is checked.")
    notification_timeout_seconds: float = Field(10.0, gt=0)
    retry_initial_seconds: float = Field(1.0, gt=0, description="First retry delay; doubles per attempt.")
    retry_max_seconds: float = Field(300.0, gt=0)
    retry_max_attempts: int = Field(24, ge=1, description="Attempts before a notification is given up.")
    catalog_address: str = Field(
        "",
        description="Catalog gRPC address for the default-alerts fact (`paved up` sets it); empty: off.",
    )
    catalog_timeout_seconds: float = Field(2.0, gt=0, description="Deadline of a facts report.")
    provisioning_address: str = Field(
        "",
        description="Provisioning gRPC address, read for the changes behind an anomaly (`paved up` sets it).",
    )
    provisioning_timeout_seconds: float = Field(3.0, gt=0, description="Deadline of a change-history read.")
    anomaly_interval_seconds: float = Field(
        300.0,
        ge=0,
        description="How often anomaly rules rescore the history; 0 = anomaly rules are not scored.",
    )
    anomaly_history_days: float = Field(
        14.0, ge=3, le=90, description="Days of hourly history anomaly rules and forecasts look at."
    )
    cause_window_seconds: float = Field(
        6 * 3600.0, gt=0, description="How long before an anomaly a change counts as a likely cause."
    )
    scaling_mape_threshold: float = Field(
        25.0, gt=0, description="Predictive scaling acts only when the backtest MAPE (%) is under this."
    )
    scaling_actuation_services: list[str] = Field(
        default_factory=list,
        description="Services opted in to predictive scaling acting: when their schedule is active, their "
        "HPA's minReplicas is raised through provisioning (scale-out only). Others stay in shadow mode.",
    )
    scaling_actuation_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the opted-in services' schedules are applied."
    )

    @field_validator("prometheus_url", "alertmanager_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/") if value else None

    def safe_dump(self) -> dict[str, Any]:
        """The settings for a start-up log line: secrets masked, and credentials in URLs too."""
        data = super().safe_dump()
        for name in ("prometheus_url", "alertmanager_url"):
            if data.get(name):
                data[name] = masked_url(data[name])
        return data

    @field_validator("default_webhook_url")
    @classmethod
    def _check_webhook(cls, value: SecretStr | None) -> SecretStr | None:
        # The URL is secret (it may hold a token), so the error never repeats it.
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value
