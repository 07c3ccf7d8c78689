"""Configuration of the provisioning service (``PAVED_PROVISIONING_*``); every field has a working default."""

from __future__ import annotations

from pathlib import Path

from paved_kit.settings import BaseServiceSettings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

DEFAULT_STEP_EXECUTORS: dict[str, str] = {
    "validate_config": "kubernetes-validate",
    "run_tests": "ci",
    "build_image": "ci",
    "deploy_canary": "gitops-canary",
    "run_smoke_tests": "health",
    "promote_production": "gitops-promote",
    "identify_previous_version": "deployment-history",
    "deploy_previous_version": "gitops-rollback",
    "verify_health": "health",
}


class ProvisioningSettings(BaseServiceSettings):
    """Settings of the provisioning service and its worker."""

    model_config = SettingsConfigDict(env_prefix="PAVED_PROVISIONING_", validate_default=True)

    port: int = 50052

    catalog_address: str = Field("127.0.0.1:50051", description="Catalog gRPC address.")
    alerting_address: str = Field("127.0.0.1:50055", description="Alerting gRPC address.")
    cost_address: str = Field("127.0.0.1:50054", description="Cost gRPC address.")
    policy_address: str = Field(
        "127.0.0.1:50053", description="Policy gRPC address (guardrails of automatic rightsizing)."
    )
    call_timeout_seconds: float = Field(10.0, gt=0, description="Deadline of calls to other services.")

    gitops_repository: Path = Field(Path(".paved/gitops.git"), description="Bare git repository (created).")
    gitops_branch: str = "main"
    gitops_remote_url: SecretStr | None = Field(
        None, description="Remote pushed to after every commit (secret: URLs often carry credentials)."
    )
    gitops_author: str = "Paved <paved@paved.dev>"

    default_max_services: int = Field(50, ge=0)
    default_max_instances: int = Field(200, ge=0)
    default_max_monthly_cost: float = Field(50_000.0, ge=0)
    currency: str = "USD"

    run_worker: bool = Field(True, description="Run a worker inside the server process.")
    worker_concurrency: int = Field(8, ge=1, description="Operations one worker runs at a time.")
    lease_seconds: float = Field(15.0, gt=0)
    heartbeat_seconds: float = Field(5.0, gt=0)
    poll_interval_seconds: float = Field(0.2, gt=0)
    step_max_attempts: int = Field(3, ge=1)
    step_backoff_seconds: float = Field(0.5, ge=0)
    step_backoff_max_seconds: float = Field(10.0, ge=0)

    step_executors: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_STEP_EXECUTORS),
        description="Workflow step name → executor (JSON object).",
    )
    health_url: str | None = Field(
        None, description="URL probed by health steps; {service} and {environment} are substituted."
    )
    health_via_alerting: bool = Field(False, description="Ask alerting GetServiceHealth in health steps.")
    ci_webhook_url: str | None = Field(None, description="CI webhook POSTed by run_tests and build_image.")
    ci_webhook_token: SecretStr | None = None
    ci_command: str | None = Field(None, description="Command run by run_tests and build_image instead.")
    ci_timeout_seconds: float = Field(600.0, gt=0)
    optimization_bake_seconds: float = Field(
        600.0, gt=0, le=86400, description="How long a resource optimization's canary is watched by default."
    )
    optimization_bake_poll_seconds: float = Field(
        15.0, gt=0, description="How often the service's signals are read during a bake."
    )

    auto_optimize_services: list[str] = Field(
        default_factory=list,
        description="Services (JSON list of names) whose rightsizing recommendations are applied "
        "automatically, each through an optimize_resources operation (canary, bake, rollback).",
    )
    auto_optimize_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the opted-in services' recommendations are read."
    )
    auto_optimize_period_hours: float = Field(
        24.0, ge=0, le=8760, description="At most one automatic decrease per service within this period."
    )
    auto_optimize_learning_days: float = Field(
        7.0, ge=0, le=365, description="Days of usage history before decreases are applied."
    )
    auto_optimize_min_confidence: float = Field(
        7.0, ge=0, description="Minimum confidence (days of history, VPA's measure) of an applied decrease."
    )
    auto_optimize_min_change: float = Field(
        0.1, ge=0, lt=1, description="Smaller relative changes of a request or limit are not applied."
    )

    # Endpoint hosts come from the Ingresses the catalog renders (PAVED_CATALOG_INGRESS_DOMAIN).
    dashboard_base_url: str = Field(
        "https://grafana.paved.dev", description="Grafana of dashboards named only by title in older plans."
    )
    docs_base_url: str = "https://docs.paved.dev"
    runbook_base_url: str = "https://runbooks.paved.dev"

    @field_validator("step_executors")
    @classmethod
    def _known_executors(cls, value: dict[str, str]) -> dict[str, str]:
        from paved_provisioning.executors import EXECUTORS

        unknown = sorted({name for name in value.values() if name not in EXECUTORS})
        if unknown:
            raise ValueError(f"unknown executor(s) {unknown}; known: {sorted(EXECUTORS)}")
        return value
