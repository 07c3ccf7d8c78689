"""Normalised resource properties read from rendered manifests, in the vocabulary other services share.

compute: instance_type, min_instances, max_instances, replicas, cpu/memory requests and limits, image,
port, spot, critical, region. networking: load_balancer, host, region. database: engine,
instance_class, storage_gb, encrypted, multi_az, region. storage: storage_class, storage_gb, encrypted,
region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "CronJob", "Job")


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pod_spec(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    if workload.get("kind") == "CronJob":
        spec = _dig(workload, "spec", "jobTemplate", "spec", "template", "spec")
    else:
        spec = _dig(workload, "spec", "template", "spec")
    return spec if isinstance(spec, Mapping) else {}


def compute_properties(
    manifests: list[Any], values: Mapping[str, Any], environment: str, region: str
) -> dict[str, Any]:
    workload = next((m for m in manifests if isinstance(m, Mapping) and m.get("kind") in WORKLOAD_KINDS), {})
    autoscaler = next(
        (m for m in manifests if isinstance(m, Mapping) and m.get("kind") == "HorizontalPodAutoscaler"), {}
    )
    pod = _pod_spec(workload)
    containers = pod.get("containers") or [{}]
    container = containers[0] if isinstance(containers[0], Mapping) else {}
    resources = container.get("resources") or {}
    replicas = _int(_dig(workload, "spec", "replicas"))
    if replicas is None:
        replicas = 1
    min_instances = _int(_dig(autoscaler, "spec", "minReplicas")) or replicas
    max_instances = _int(_dig(autoscaler, "spec", "maxReplicas")) or max(replicas, min_instances)
    ports = [p for p in container.get("ports") or [] if isinstance(p, Mapping)]
    port = _int(ports[0].get("containerPort")) if ports else _int(values.get("port"))
    node_selector = pod.get("nodeSelector") or {}
    instance_type = node_selector.get(INSTANCE_TYPE_LABEL) or values.get("instance_type") or ""
    spot = values.get("spot")
    critical = values.get("critical")
    properties: dict[str, Any] = {
        "workload": workload.get("kind", ""),
        "instance_type": str(instance_type),
        "min_instances": min_instances,
        "max_instances": max_instances,
        "replicas": min_instances,
        "cpu_request": str(_dig(resources, "requests", "cpu") or ""),
        "cpu_limit": str(_dig(resources, "limits", "cpu") or ""),
        "memory_request": str(_dig(resources, "requests", "memory") or ""),
        "memory_limit": str(_dig(resources, "limits", "memory") or ""),
        "image": str(container.get("image") or ""),
        "spot": spot if isinstance(spot, bool) else False,
        "critical": critical if isinstance(critical, bool) else environment == "production",
        "region": region,
    }
    if port is not None:
        properties["port"] = port
    schedule = _dig(workload, "spec", "schedule")
    if isinstance(schedule, str):
        properties["schedule"] = schedule
    return properties


def networking_properties(manifests: list[Any], region: str) -> dict[str, Any]:
    services = [m for m in manifests if isinstance(m, Mapping) and m.get("kind") == "Service"]
    ingresses = [m for m in manifests if isinstance(m, Mapping) and m.get("kind") == "Ingress"]
    load_balancer = bool(ingresses) or any(_dig(s, "spec", "type") == "LoadBalancer" for s in services)
    host = ""
    for ingress in ingresses:
        rules = _dig(ingress, "spec", "rules") or []
        hosts = [r.get("host") for r in rules if isinstance(r, Mapping) and r.get("host")]
        if hosts:
            host = str(hosts[0])
            break
    return {"load_balancer": load_balancer, "host": host, "region": region}


def _terraform_blocks(manifests: list[Any]) -> list[Mapping[str, Any]]:
    """Each Terraform resource body (``resource.<type>.<name>``), or a manifest itself when it is flat."""
    blocks: list[Mapping[str, Any]] = []
    for manifest in manifests:
        if not isinstance(manifest, Mapping):
            continue
        resources = manifest.get("resource")
        if isinstance(resources, Mapping):
            for by_name in resources.values():
                if isinstance(by_name, Mapping):
                    blocks.extend(b for b in by_name.values() if isinstance(b, Mapping))
        else:
            blocks.append(manifest)
    return blocks


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def database_properties(manifests: list[Any], region: str) -> dict[str, Any]:
    block = next(iter(_terraform_blocks(manifests)), {})
    encrypted = block.get("storage_encrypted", block.get("encrypted", False))
    storage = _number(block.get("allocated_storage", block.get("storage_gb")))
    return {
        "engine": str(block.get("engine") or ""),
        "instance_class": str(block.get("instance_class") or ""),
        "storage_gb": storage if storage is not None else 0,
        "encrypted": encrypted is True,
        "multi_az": block.get("multi_az") is True,
        "region": region,
    }


def storage_properties(manifests: list[Any], region: str) -> dict[str, Any]:
    block = next(iter(_terraform_blocks(manifests)), {})
    encryption = block.get("server_side_encryption", block.get("encrypted", False))
    storage = _number(block.get("storage_gb", block.get("size")))
    return {
        "storage_class": str(block.get("storage_class") or "s3"),
        "storage_gb": storage if storage is not None else 0,
        "encrypted": encryption is True or (isinstance(encryption, str) and bool(encryption)),
        "region": region,
    }
