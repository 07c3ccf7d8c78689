"""Values the platform, not the user, supplies to a render, and the defaults that fill them in.

A template may use these names in placeholders without declaring them as parameters. A user can only
set one of them through parameters when the template declares a parameter of that name; otherwise a
parameter with that name is rejected as unknown, so nobody can swap the image or the namespace by
smuggling a parameter in.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from paved_kit.errors import FieldViolation

#: Names a template may reference without declaring them, in documentation order.
MAX_REPLICAS_FLOOR = 1000
CONTEXT_KEYS: tuple[str, ...] = (
    "service_name",
    "team",
    "environment",
    "namespace",
    "image",
    "region",
    "cost_center",
    "domain",
)

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
# An OCI image reference: registry/path[:tag][@digest]; no whitespace or quotes.
_IMAGE = re.compile(r"^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$")
_COST_CENTER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def is_dns_label(value: str) -> bool:
    """A DNS-1123 label that also starts with a letter, as Kubernetes Service names must."""
    return bool(_DNS_LABEL.match(value))


@dataclass(frozen=True)
class PlatformDefaults:
    """Platform-wide defaults (from the catalog's settings) for values a render context leaves empty."""

    environment: str = "development"
    region: str = "us-east-1"
    image_registry: str = "registry.paved.internal"
    # A fixed tag until the first build: ``latest`` would let every pull run something else.
    image_tag: str = "0.1.0"
    domain: str = "paved.internal"
    dashboards_url: str = "http://grafana.paved.internal"
    otlp_endpoint: str = "http://otel-collector.observability.svc:4317"


@dataclass(frozen=True)
class RenderContext:
    """The platform-supplied values of one render; empty strings mean "use the default"."""

    service_name: str = ""
    team: str = ""
    environment: str = ""
    namespace: str = ""
    image: str = ""
    region: str = ""
    cost_center: str = ""
    domain: str = ""
    # Fewest replicas each workload runs with (the environment's floor); 0: the template's own.
    replicas_floor: int = 0

    def violations(self) -> list[FieldViolation]:
        """Every malformed value, with the field under ``context.``."""
        problems: list[FieldViolation] = []
        for key in ("service_name", "team", "environment", "namespace"):
            value = getattr(self, key)
            if value and not is_dns_label(value):
                problems.append(
                    FieldViolation(
                        f"context.{key}",
                        "must be a DNS-1123 label: lowercase letters, digits and '-', "
                        "starting with a letter, at most 63 characters",
                    )
                )
        if not 0 <= self.replicas_floor <= MAX_REPLICAS_FLOOR:
            problems.append(FieldViolation("context.replicas_floor", f"must be 0 to {MAX_REPLICAS_FLOOR}"))
        if self.image and not _IMAGE.match(self.image):
            problems.append(FieldViolation("context.image", "must be a container image reference"))
        if self.region and not _REGION.match(self.region):
            problems.append(FieldViolation("context.region", "must be a region name such as us-east-1"))
        if self.cost_center and not _COST_CENTER.match(self.cost_center):
            problems.append(
                FieldViolation("context.cost_center", "must be 1-63 letters, digits, '.', '_' or '-'")
            )
        return problems

    def resolved(self, defaults: PlatformDefaults) -> RenderContext:
        """The context with empty values defaulted (service name and team have no default)."""
        environment = self.environment or defaults.environment
        team = self.team
        image = self.image
        if not image and self.service_name:
            owner = team or "default"
            image = f"{defaults.image_registry}/{owner}/{self.service_name}:{defaults.image_tag}"
        return dataclasses.replace(
            self,
            environment=environment,
            namespace=self.namespace or team,
            image=image,
            region=self.region or defaults.region,
            cost_center=self.cost_center or team,
            domain=self.domain or defaults.domain,
        )

    def as_values(self) -> dict[str, str]:
        """The non-empty values by placeholder name."""
        return {key: getattr(self, key) for key in CONTEXT_KEYS if getattr(self, key)}
