"""What the platform adds to every workload a template renders, where the template left it out: a restricted
security context, a writable /tmp on a read-only root filesystem, probes on the port it serves, a
PodDisruptionBudget and a NetworkPolicy admitting traffic only to the ports it declares. A template's own
values always win; these are defaults, filled in with ``setdefault``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

POD_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
WORKLOAD_KINDS = (*POD_WORKLOADS, "CronJob")
DISRUPTABLE = ("Deployment", "StatefulSet")
#: A high UID/GID, clear of the host's users (runAsNonRoot alone allows UID 1).
RUN_AS_ID = 10001


def _dict(node: Any, key: str) -> dict[str, Any]:
    value = node.get(key) if isinstance(node, dict) else None
    if not isinstance(value, dict):
        value = {}
        if isinstance(node, dict):
            node[key] = value
    return value


def pod_template(workload: Mapping[str, Any]) -> dict[str, Any] | None:
    spec = workload.get("spec")
    if not isinstance(spec, dict):
        return None
    if workload.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec")
        if not isinstance(spec, dict):
            return None
    template = spec.get("template")
    return template if isinstance(template, dict) else None


def _pod_spec(workload: Mapping[str, Any]) -> dict[str, Any] | None:
    template = pod_template(workload)
    spec = template.get("spec") if template else None
    return spec if isinstance(spec, dict) else None


def _containers(workload: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(workload) or {}
    return [c for c in spec.get("containers") or [] if isinstance(c, dict)]


def first_workload(objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((o for o in objects if o.get("kind") in WORKLOAD_KINDS), None)


def pod_labels(workload: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The labels that select the workload's pods (its selector, else its pod template's labels)."""
    if workload is None:
        return None
    selector = (workload.get("spec") or {}).get("selector")
    if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
        return {str(k): str(v) for k, v in selector["matchLabels"].items()}
    labels = ((pod_template(workload) or {}).get("metadata") or {}).get("labels")
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else None


def container_port(workload: Mapping[str, Any] | None) -> str | int | None:
    """The first port of the first container: its name when it has one."""
    for container in _containers(workload or {}):
        for port in container.get("ports") or []:
            if isinstance(port, dict):
                name = port.get("name")
                return name if isinstance(name, str) and name else port.get("containerPort")
    return None


def service_port(objects: list[dict[str, Any]], workload: Mapping[str, Any] | None) -> str | None:
    """The name of the first port of a Service selecting the workload's pods (ServiceMonitors need
    named ports)."""
    labels = pod_labels(workload) or {}
    for obj in objects:
        if obj.get("kind") != "Service":
            continue
        spec = obj.get("spec") or {}
        selector = spec.get("selector") or {}
        if (
            not isinstance(selector, dict)
            or not selector
            or any(labels.get(k) != v for k, v in selector.items())
        ):
            continue
        for port in spec.get("ports") or []:
            if isinstance(port, dict) and isinstance(port.get("name"), str) and port["name"]:
                return str(port["name"])
    return None


def add_environment(objects: list[dict[str, Any]], variables: list[dict[str, str]]) -> None:
    """Append ``variables`` to every container of every workload, unless it sets them itself."""
    for workload in objects:
        if workload.get("kind") not in WORKLOAD_KINDS:
            continue
        for container in _containers(workload):
            env = container.get("env")
            if not isinstance(env, list):
                env = container["env"] = []
            present = {e.get("name") for e in env if isinstance(e, dict)}
            env.extend(dict(v) for v in variables if v["name"] not in present)


def _ports_served(workload: Mapping[str, Any], objects: list[dict[str, Any]]) -> None:
    """A container without ports gets the port a Service targets (numbers only), named ``http``."""
    containers = _containers(workload)
    if len(containers) != 1 or containers[0].get("ports"):
        return
    labels = pod_labels(workload) or {}
    for obj in objects:
        spec = obj.get("spec") or {}
        selector = spec.get("selector") if obj.get("kind") == "Service" else None
        if not isinstance(selector, dict) or any(labels.get(k) != v for k, v in selector.items()):
            continue
        for port in spec.get("ports") or []:
            target = port.get("targetPort", port.get("port")) if isinstance(port, dict) else None
            if isinstance(target, int) and not isinstance(target, bool):
                containers[0]["ports"] = [{"name": "http", "containerPort": target}]
                return


def _probe(container: dict[str, Any]) -> dict[str, Any] | None:
    ports = [p for p in container.get("ports") or [] if isinstance(p, dict)]
    if not ports:
        return None
    port = ports[0].get("name") or ports[0].get("containerPort")
    return {"tcpSocket": {"port": port}, "periodSeconds": 10}


def _secure_pod(workload: dict[str, Any]) -> None:
    spec = _pod_spec(workload)
    if spec is None:
        return
    spec.setdefault("automountServiceAccountToken", False)
    pod_security = _dict(spec, "securityContext")
    pod_security.setdefault("runAsNonRoot", True)
    pod_security.setdefault("runAsUser", RUN_AS_ID)
    pod_security.setdefault("runAsGroup", RUN_AS_ID)
    pod_security.setdefault("fsGroup", RUN_AS_ID)
    pod_security.setdefault("seccompProfile", {"type": "RuntimeDefault"})
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        volumes = spec["volumes"] = []
    long_running = workload.get("kind") not in ("Job", "CronJob")
    for container in _containers(workload):
        container.setdefault("imagePullPolicy", "Always")
        security = _dict(container, "securityContext")
        security.setdefault("allowPrivilegeEscalation", False)
        security.setdefault("privileged", False)
        security.setdefault("readOnlyRootFilesystem", True)
        security.setdefault("runAsNonRoot", True)
        security.setdefault("runAsUser", RUN_AS_ID)
        _dict(security, "capabilities").setdefault("drop", ["ALL"])
        if security.get("readOnlyRootFilesystem") is True:
            mounts = container.get("volumeMounts")
            if not isinstance(mounts, list):
                mounts = container["volumeMounts"] = []
            if not any(isinstance(m, dict) and m.get("mountPath") == "/tmp" for m in mounts):
                mounts.append({"name": "tmp", "mountPath": "/tmp"})
                if not any(isinstance(v, dict) and v.get("name") == "tmp" for v in volumes):
                    volumes.append({"name": "tmp", "emptyDir": {}})
        probe = _probe(container) if long_running else None
        if probe is not None:
            container.setdefault("readinessProbe", probe)
            container.setdefault("livenessProbe", {**probe, "initialDelaySeconds": 10})


def _name(workload: Mapping[str, Any], service: str) -> str:
    name = (workload.get("metadata") or {}).get("name")
    return name if isinstance(name, str) and name else service


def _disruption_budget(workload: Mapping[str, Any], service: str) -> dict[str, Any] | None:
    labels = pod_labels(workload)
    if workload.get("kind") not in DISRUPTABLE or not labels:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": _name(workload, service)},
        # At most one pod down during voluntary disruptions; never blocks a drain with one replica.
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
    }


def _network_policy(workload: Mapping[str, Any], service: str) -> dict[str, Any] | None:
    labels = pod_labels(workload)
    if not labels:
        return None
    ports = [
        {"protocol": str(p.get("protocol", "TCP")), "port": p.get("containerPort")}
        for c in _containers(workload)
        for p in c.get("ports") or []
        if isinstance(p, dict) and isinstance(p.get("containerPort"), int)
    ]
    spec: dict[str, Any] = {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"]}
    # Traffic from inside the cluster to the ports the workload declares; nothing else gets in.
    spec["ingress"] = [{"from": [{"namespaceSelector": {}}], "ports": ports}] if ports else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": _name(workload, service)},
        "spec": spec,
    }


def _name_service_ports(objects: list[dict[str, Any]]) -> None:
    """A Service's only port, unnamed, is named ``http``: monitors and Ingresses refer to ports by name."""
    for obj in objects:
        ports = (obj.get("spec") or {}).get("ports") if obj.get("kind") == "Service" else None
        if isinstance(ports, list) and len(ports) == 1 and isinstance(ports[0], dict):
            ports[0].setdefault("name", "http")


def harden(objects: list[dict[str, Any]], service: str) -> list[dict[str, Any]]:
    """Fill the platform's defaults into the workloads of ``objects`` (in place) and return the
    PodDisruptionBudgets and NetworkPolicies they lack."""
    _name_service_ports(objects)
    present = {(o.get("kind"), _name(o, "")) for o in objects}
    extra: list[dict[str, Any]] = []
    for workload in [o for o in objects if o.get("kind") in WORKLOAD_KINDS]:
        _ports_served(workload, objects)
        _secure_pod(workload)
        for made in (_disruption_budget(workload, service), _network_policy(workload, service)):
            if made is not None and (made["kind"], made["metadata"]["name"]) not in present:
                extra.append(made)
    return extra


SCALED = ("Deployment", "StatefulSet", "ReplicaSet")


def raise_replicas(objects: list[dict[str, Any]], floor: int) -> None:
    """At least ``floor`` replicas for each scaled workload and autoscaler (the environment's floor; a
    template asking for more keeps its number). A replica count that is not a plain integer is left to the
    validation that reports it."""
    if floor <= 0:
        return
    for obj in objects:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            continue
        if obj.get("kind") in SCALED:
            replicas = spec.get("replicas", 1)
            if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas < floor:
                spec["replicas"] = floor
        elif obj.get("kind") == "HorizontalPodAutoscaler":
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
            if isinstance(low, int) and not isinstance(low, bool) and low < floor:
                spec["minReplicas"] = floor
            if isinstance(high, int) and not isinstance(high, bool) and high < spec["minReplicas"]:
                spec["maxReplicas"] = spec["minReplicas"]
