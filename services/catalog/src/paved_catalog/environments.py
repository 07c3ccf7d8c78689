"""Rules of environments: the platform's promotion path, what a service's environment must hold, and
when a registration adds an environment to an existing service (pure; no SQL, no gRPC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from paved_kit.errors import AlreadyExists, FieldViolation, InvalidArgument

from paved_catalog.render_context import is_dns_label

ENVIRONMENTS = "environments"
#: Fields UpdateEnvironment may change.
ENVIRONMENT_FIELDS = frozenset(
    {
        "namespace",
        "region",
        "replicas_floor",
        "approval_required",
        "soak_time",
        "approval_timeout",
        "description",
    }
)
#: Fields UpdateServiceEnvironment may change.
SERVICE_ENVIRONMENT_FIELDS = frozenset(
    {"state", "plan", "version", "image", "endpoints", "annotations", "parameter_overrides"}
)
#: The promotion path a platform starts with: (name, approval required, soak seconds, description). The
#: migration that introduced environments seeds the same; a schema made without migrations gets it on
#: first use.
DEFAULT_ENVIRONMENTS = (
    ("development", False, 0, "Where services start; deploys land without gates."),
    ("staging", False, 0, "Pre-production; promotions from development."),
    ("production", True, 3600, "Serves users; promotions need an approval and an hour of healthy staging."),
)
MAX_SOAK_SECONDS = 30 * 86400
MAX_APPROVAL_TIMEOUT_SECONDS = 30 * 86400
MAX_REPLICAS_FLOOR = 1000


@dataclass(frozen=True)
class EnvironmentSettings:
    """New values of an environment's settings (the fields an update names)."""

    namespace: str = ""
    region: str = ""
    replicas_floor: int = 0
    approval_required: bool = False
    soak_seconds: int = 0
    approval_timeout_seconds: int = 0
    description: str = ""


def check_known(environment: str, known: Sequence[str], field: str) -> None:
    """Raise InvalidArgument on ``field`` when ``environment`` is not one of the platform's."""
    if environment not in known:
        raise InvalidArgument(
            f"unknown environment {environment!r}",
            [FieldViolation(field, f"unknown environment {environment!r}; known: {', '.join(known)}")],
            reason="UNKNOWN_ENVIRONMENT",
        )


def check_mask(paths: Sequence[str], allowed: frozenset[str]) -> None:
    """Raise InvalidArgument on ``update_mask`` for an empty mask or a field it may not change."""
    if not paths:
        raise InvalidArgument(
            "nothing to update",
            [FieldViolation("update_mask", f"name the fields to change: {', '.join(sorted(allowed))}")],
        )
    unknown = [p for p in paths if p not in allowed]
    if unknown:
        raise InvalidArgument(
            "invalid update mask",
            [
                FieldViolation(
                    "update_mask", f"{p!r} cannot be changed; updatable: {', '.join(sorted(allowed))}"
                )
                for p in unknown
            ],
        )


def settings_violations(settings: EnvironmentSettings, paths: Sequence[str]) -> list[FieldViolation]:
    """Problems with the new values an environment update sets."""
    problems: list[FieldViolation] = []
    prefix = "environment"
    if "namespace" in paths and settings.namespace:
        probe = settings.namespace.replace("{team}", "team")
        if not is_dns_label(probe):
            problems.append(
                FieldViolation(f"{prefix}.namespace", "must be a DNS-1123 label, optionally with {team}")
            )
    if "region" in paths and settings.region and not is_dns_label(settings.region):
        problems.append(FieldViolation(f"{prefix}.region", "must be a region name such as eu-west-1"))
    if "replicas_floor" in paths and not 0 <= settings.replicas_floor <= MAX_REPLICAS_FLOOR:
        problems.append(FieldViolation(f"{prefix}.replicas_floor", f"must be 0 to {MAX_REPLICAS_FLOOR}"))
    if "soak_time" in paths and not 0 <= settings.soak_seconds <= MAX_SOAK_SECONDS:
        problems.append(FieldViolation(f"{prefix}.soak_time", "must be 0 to 30 days"))
    if (
        "approval_timeout" in paths
        and not 0 < settings.approval_timeout_seconds <= MAX_APPROVAL_TIMEOUT_SECONDS
    ):
        problems.append(
            FieldViolation(f"{prefix}.approval_timeout", "must be more than 0 and at most 30 days")
        )
    if "description" in paths and len(settings.description) > 1000:
        problems.append(FieldViolation(f"{prefix}.description", "at most 1000 characters"))
    return problems


def namespace_for(pattern: str, team: str) -> str:
    """The Kubernetes namespace of a team's service in an environment whose namespace is ``pattern``."""
    return pattern.replace("{team}", team) if pattern else ""


def check_joins(
    service_id: str,
    *,
    team: str,
    template: str,
    existing_team: str,
    existing_template: str,
    environment: str,
    present: Sequence[str],
) -> None:
    """A registration of an existing service adds ``environment`` to it only when it is the same service:
    same owner team and template, and not already there. Raise AlreadyExists saying which differs."""
    if environment in present:
        raise AlreadyExists(
            f"services/{service_id} already exists in {environment}",
            reason="ENVIRONMENT_EXISTS",
            metadata={"service": service_id, "environment": environment},
        )
    mismatches = []
    if team != existing_team:
        mismatches.append(f"team is {existing_team!r}, not {team!r}")
    if template != existing_template:
        mismatches.append(f"template is {existing_template!r}, not {template!r}")
    if mismatches:
        raise AlreadyExists(
            f"services/{service_id} already exists and is a different service: " + "; ".join(mismatches),
            reason="SERVICE_MISMATCH",
            metadata={
                "service": service_id,
                "mismatch": ",".join(
                    f
                    for f, differs in (
                        ("team", team != existing_team),
                        ("template", template != existing_template),
                    )
                    if differs
                ),
            },
        )


def in_order(environments: Sequence[str], order: Sequence[str]) -> list[str]:
    """``environments`` sorted by the platform's promotion order (unknown ones last, by name)."""
    rank = {name: i for i, name in enumerate(order)}
    return sorted(environments, key=lambda e: (rank.get(e, len(rank)), e))


def parse_child_name(value: str, field: str) -> tuple[str, str]:
    """``(service, environment)`` of ``services/{service}/environments/{environment}``."""
    parts = value.split("/")
    if len(parts) != 4 or parts[0] != "services" or parts[2] != ENVIRONMENTS:
        raise InvalidArgument(
            f"{field} is not a valid name",
            [FieldViolation(field, "must be services/{service}/environments/{environment}")],
        )
    service, environment = parts[1], parts[3]
    problems = []
    if not is_dns_label(service):
        problems.append(FieldViolation(field, "the service id must be a DNS-1123 label"))
    if not is_dns_label(environment):
        problems.append(FieldViolation(field, "the environment id must be a DNS-1123 label"))
    if problems:
        raise InvalidArgument(f"{field} is not a valid name", problems)
    return service, environment
