"""A change of a compute resource's requests, limits and replica bounds, applied to a plan (pure)."""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from paved_kit.errors import FieldViolation

from paved_provisioning.manifests import WORKLOAD_KINDS, _is_kubernetes

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


@dataclass(frozen=True)
class ResourceChange:
    """New values; empty strings and zeros keep the current ones."""

    cpu_request: str = ""
    cpu_limit: str = ""
    memory_request: str = ""
    memory_limit: str = ""
    min_replicas: int = 0
    max_replicas: int = 0

    def violations(self) -> list[FieldViolation]:
        """Every bad field of the change at once."""
        found = [
            FieldViolation(name, "must be a Kubernetes quantity such as 250m or 512Mi")
            for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
            if getattr(self, name) and not QUANTITY.match(getattr(self, name))
        ]
        if self.min_replicas < 0:
            found.append(FieldViolation("min_replicas", "must not be negative"))
        if self.max_replicas < 0:
            found.append(FieldViolation("max_replicas", "must not be negative"))
        if self.min_replicas and self.max_replicas and self.max_replicas < self.min_replicas:
            found.append(FieldViolation("max_replicas", "must be at least min_replicas"))
        if not any((self.cpu_request, self.cpu_limit, self.memory_request, self.memory_limit)) and not (
            self.min_replicas or self.max_replicas
        ):
            found.append(FieldViolation("cpu_request", "at least one value to change is required"))
        return found

    def scale_out_violations(self) -> list[FieldViolation]:
        """A scale-out-only change raises the minimum replicas and nothing else."""
        found = [] if self.min_replicas > 0 else [FieldViolation("min_replicas", "scale_out_only needs one")]
        found += [
            FieldViolation(name, "must be unset with scale_out_only (it only raises min_replicas)")
            for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit", "max_replicas")
            if getattr(self, name)
        ]
        return found

    def as_dict(self) -> dict[str, Any]:
        """The change as stored with the operation."""
        return {k: v for k, v in self.__dict__.items() if v}


def with_resources(plan: dict[str, Any], resource_name: str, change: ResourceChange) -> dict[str, Any]:
    """The plan with the compute resource's containers, autoscaler and properties changed.

    Raises KeyError when the plan has no such resource.
    """
    plan = copy.deepcopy(plan)
    resource = next((r for r in plan.get("resources", []) if r.get("name") == resource_name), None)
    if resource is None:
        raise KeyError(resource_name)
    values = {
        ("requests", "cpu"): change.cpu_request,
        ("limits", "cpu"): change.cpu_limit,
        ("requests", "memory"): change.memory_request,
        ("limits", "memory"): change.memory_limit,
    }
    for manifest in resource.get("manifests", []):
        if not _is_kubernetes(manifest):
            continue
        kind = manifest.get("kind")
        if kind in WORKLOAD_KINDS:
            pod = manifest.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
            for container in pod.get("containers", []):
                resources = container.setdefault("resources", {})
                for (section, name), value in values.items():
                    if value:
                        resources.setdefault(section, {})[name] = value
        elif kind == "HorizontalPodAutoscaler":
            spec = manifest.setdefault("spec", {})
            if change.min_replicas:
                spec["minReplicas"] = change.min_replicas
            if change.max_replicas:
                spec["maxReplicas"] = max(change.max_replicas, spec.get("minReplicas", 1))
    props = resource.setdefault("properties", {})
    for key in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
        if getattr(change, key):
            props[key] = getattr(change, key)
    if change.min_replicas:
        props["min_instances"] = props["replicas"] = change.min_replicas
    if change.max_replicas:
        props["max_instances"] = change.max_replicas
    return plan


def replica_bounds(resource: dict[str, Any]) -> tuple[int, int]:
    """The compute resource's current minimum and maximum replicas, from its autoscaler (else its
    properties)."""
    props = resource.get("properties") or {}
    low = int(props.get("min_instances") or props.get("replicas") or 1)
    high = int(props.get("max_instances") or low)
    for manifest in resource.get("manifests", []):
        if _is_kubernetes(manifest) and manifest.get("kind") == "HorizontalPodAutoscaler":
            spec = manifest.get("spec") or {}
            low = int(spec.get("minReplicas") or low)
            high = int(spec.get("maxReplicas") or high)
    return low, max(low, high)


def scaled_out(change: ResourceChange, resource: dict[str, Any]) -> ResourceChange | None:
    """A scale-out-only change capped at the resource's maximum replicas; None when it would not raise the
    current minimum (a forecast never scales in)."""
    low, high = replica_bounds(resource)
    wanted = min(change.min_replicas, high)
    return dataclasses.replace(change, min_replicas=wanted) if wanted > low else None
