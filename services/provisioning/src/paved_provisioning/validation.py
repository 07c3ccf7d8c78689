"""Request checks: every problem with a request reported at once, naming the field and the rule (pure)."""

from __future__ import annotations

import re
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
TEAM = re.compile(r"^[a-z0-9]([-a-z0-9_]{0,61}[a-z0-9])?$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:@+=-]{1,128}$")
INSTANCE_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SERVICE_NAME = re.compile(r"^services/([a-z]([-a-z0-9]{0,61}[a-z0-9])?)$")
VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")


class Violations:
    """Collects field violations and raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self, condition: bool, field: str, description: str) -> None:
        if not condition:
            self.add(field, description)

    def raise_if_any(self, message: str = "invalid request") -> None:
        if self.items:
            raise InvalidArgument(
                f"{message}: " + "; ".join(f"{v.field}: {v.description}" for v in self.items), self.items
            )


def check_team(v: Violations, field: str, team: str) -> None:
    if not team:
        v.add(field, "is required")
    elif not TEAM.match(team):
        v.add(field, "must be lowercase letters, digits, '-' or '_' (at most 63)")


def check_request_id(v: Violations, field: str, request_id: str) -> None:
    if request_id and not REQUEST_ID.match(request_id):
        v.add(field, "must be 1-128 characters of letters, digits and ._:@+=-")


def check_plan(v: Violations, field: str, plan: dict[str, Any] | None) -> None:
    """A plan as ProvisionService needs it."""
    if not plan:
        v.add(field, "is required")
        return
    name = plan.get("service_name", "")
    if not name:
        v.add(f"{field}.service_name", "is required")
    elif not DNS_LABEL.match(name):
        v.add(
            f"{field}.service_name", "must be a DNS-1123 label (lowercase letters, digits, '-'; at most 63)"
        )
    check_team(v, f"{field}.team", plan.get("team", ""))
    environment = plan.get("environment", "")
    if not environment:
        v.add(f"{field}.environment", "is required")
    elif not DNS_LABEL.match(environment):
        v.add(f"{field}.environment", "must be a DNS-1123 label")
    namespace = plan.get("namespace", "")
    if namespace and not DNS_LABEL.match(namespace):
        v.add(f"{field}.namespace", "must be a DNS-1123 label")
    resources = plan.get("resources") or []
    if not resources:
        v.add(f"{field}.resources", "must contain at least one resource")
    seen: set[str] = set()
    for i, resource in enumerate(resources):
        rname = resource.get("name", "")
        if not rname:
            v.add(f"{field}.resources[{i}].name", "is required")
        elif rname in seen:
            v.add(f"{field}.resources[{i}].name", f"duplicates resource {rname!r}")
        seen.add(rname)
        if not resource.get("type"):
            v.add(f"{field}.resources[{i}].type", "is required")
        for j, manifest in enumerate(resource.get("manifests") or []):
            if "apiVersion" in manifest or "kind" in manifest:
                meta = manifest.get("metadata") or {}
                if not (manifest.get("apiVersion") and manifest.get("kind") and meta.get("name")):
                    v.add(
                        f"{field}.resources[{i}].manifests[{j}]",
                        "a Kubernetes object needs apiVersion, kind and metadata.name",
                    )


def service_from_name(v: Violations, field: str, name: str) -> str:
    """``services/{service}`` → ``{service}``."""
    match = SERVICE_NAME.match(name)
    if not match:
        v.add(field, "must be services/{service} with a DNS-1123 service name")
        return ""
    return match.group(1)
