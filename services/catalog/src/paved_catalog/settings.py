"""The catalog's settings, read from ``PAVED_CATALOG_*`` environment variables; every one has a default."""

from __future__ import annotations

from paved_kit.settings import BaseServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from paved_catalog.render_context import PlatformDefaults

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"


class CatalogSettings(BaseServiceSettings):
    """Catalog configuration: the server (from the kit), platform defaults for renders, export links."""

    model_config = SettingsConfigDict(env_prefix="PAVED_CATALOG_", validate_default=True)

    port: int = 50051
    load_builtin_templates: bool = Field(True, description="Load the shipped golden paths on first start.")
    default_environment: str = Field(
        "development", pattern=DNS_LABEL, description="Environment of renders that name none."
    )
    default_region: str = Field(
        "us-east-1", pattern=r"^[a-z]{2,}(-[a-z0-9]+)+$", description="Default region."
    )
    image_registry: str = Field(
        "registry.paved.internal",
        description="Registry of the default image <registry>/<team>/<service>:<default_image_tag>.",
    )
    default_image_tag: str = Field(
        "0.1.0",
        # The OCI tag grammar, which is ASCII: `\w` would admit any letter (and its Unicode class, repeated
        # 128 times, took the validator ~0.1 s to build at every start).
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        description="Tag of the default image until the deploy workflow builds one (never latest).",
    )
    ingress_domain: str = Field(
        "paved.internal", description="Ingress hosts are <service>.<environment>.<domain>."
    )
    dashboards_url: str = Field(
        "http://grafana.paved.internal", description="Base URL of generated dashboards."
    )
    otlp_endpoint: str = Field(
        "http://otel-collector.observability.svc:4317",
        description="OpenTelemetry collector the workloads export traces to (OTEL_EXPORTER_OTLP_ENDPOINT).",
    )
    backstage_location_url: str = Field(
        "http://127.0.0.1:8080/api/backstage/entities",
        description="Where Backstage reads the exported entities (managed-by-location annotations).",
    )
    source_url: str = Field(
        "https://git.paved.internal",
        description="Base URL of source repositories: <source_url>/<team>/<service>.",
    )
    template_owner: str = Field(
        "platform-team", description="Backstage owner of exported Software Templates."
    )
    gateway_proxy_path: str = Field(
        "/proxy/paved", pattern=r"^/\S*$", description="Path of Paved's gateway behind the Backstage proxy."
    )

    def platform_defaults(self) -> PlatformDefaults:
        return PlatformDefaults(
            environment=self.default_environment,
            region=self.default_region,
            image_registry=self.image_registry,
            image_tag=self.default_image_tag,
            domain=self.ingress_domain,
            dashboards_url=self.dashboards_url,
            otlp_endpoint=self.otlp_endpoint,
        )
