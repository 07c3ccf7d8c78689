"""What goes into the GitOps repository for a plan: Kubernetes manifests, kustomization, Terraform JSON,
observability specs and documentation (pure functions over the plan as a dict).

The plan dict is ``paved.common.v1.Plan`` in JSON form with proto field names
(``json_format.MessageToDict(plan, preserving_proto_field_name=True)``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from paved_kit.structs import integral

from paved_provisioning import terraform_modules

KUSTOMIZE_API = "kustomize.config.k8s.io/v1beta1"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet"}


@dataclass(frozen=True)
class Links:
    """Where a provisioned service answers and is documented."""

    endpoints: list[str]
    dashboards: list[tuple[str, str]]
    documentation_url: str
    runbooks: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class SiteConfig:
    """The URLs links are built from (settings)."""

    dashboard_base_url: str = "https://grafana.paved.dev"
    docs_base_url: str = "https://docs.paved.dev"
    runbook_base_url: str = "https://runbooks.paved.dev"


def service_path(plan: dict[str, Any]) -> str:
    """Directory of a service's environment in the GitOps repository."""
    return f"services/{plan['team']}/{plan['service_name']}/{plan['environment']}"


PLATFORM_API_GROUP_SUFFIX = "paved.dev"


def _is_kubernetes(obj: Any) -> bool:
    """A Kubernetes object, as opposed to Terraform JSON or a platform spec (``*.paved.dev`` API groups,
    which the platform itself consumes, e.g. observability specs)."""
    if not (isinstance(obj, dict) and "apiVersion" in obj and "kind" in obj):
        return False
    group = str(obj["apiVersion"]).rpartition("/")[0]
    return not group.endswith(PLATFORM_API_GROUP_SUFFIX)


def kubernetes_objects(plan: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource name, object) for every Kubernetes object the plan rendered."""
    for resource in plan.get("resources", []):
        for manifest in resource.get("manifests", []):
            if _is_kubernetes(manifest):
                yield resource["name"], manifest


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


# libyaml's emitter when PyYAML was built with it: the same output, several times faster.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump_yaml(data: Any) -> bytes:
    return yaml.dump(data, Dumper=_DUMPER, sort_keys=False, default_flow_style=False).encode()


_HEAD_KEYS = ("apiVersion", "kind", "metadata", "spec")


def _conventional_order(obj: dict[str, Any]) -> dict[str, Any]:
    """apiVersion, kind, metadata, spec first, as people write them (a Struct keeps no key order)."""
    head = {key: obj[key] for key in _HEAD_KEYS if key in obj}
    return {**head, **{key: value for key, value in sorted(obj.items()) if key not in head}}


def _dump_yaml_documents(objects: list[dict[str, Any]]) -> bytes:
    ordered = [_conventional_order(obj) for obj in objects]
    return yaml.dump_all(ordered, Dumper=_DUMPER, sort_keys=False, default_flow_style=False).encode()


def _stable_workloads(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workloads get ``track: stable`` in selector and pod labels so a canary never matches their selector."""
    out = []
    for obj in objects:
        obj = copy.deepcopy(obj)
        if obj.get("kind") in WORKLOAD_KINDS:
            spec = obj.setdefault("spec", {})
            spec.setdefault("selector", {}).setdefault("matchLabels", {})["track"] = "stable"
            spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})["track"] = (
                "stable"
            )
        out.append(obj)
    return out


def canary_objects(plan: dict[str, Any], image: str) -> list[dict[str, Any]]:
    """A one-replica ``track: canary`` copy of every workload, running ``image``."""
    canaries = []
    for _, obj in kubernetes_objects(plan):
        if obj.get("kind") not in WORKLOAD_KINDS:
            continue
        canary = copy.deepcopy(obj)
        meta = canary.setdefault("metadata", {})
        meta["name"] = f"{meta.get('name', plan['service_name'])}-canary"
        meta.setdefault("labels", {})["track"] = "canary"
        spec = canary.setdefault("spec", {})
        spec["replicas"] = 1
        spec.setdefault("selector", {}).setdefault("matchLabels", {})["track"] = "canary"
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {})["track"] = "canary"
        for container in template.setdefault("spec", {}).get("containers", []):
            container["image"] = image
        canaries.append(canary)
    return canaries


def terraform_document(plan: dict[str, Any]) -> dict[str, Any]:
    """Terraform JSON: the provider and the platform's network inputs, the ``paved-service`` module call
    (tags, encryption, observability, sizing), and the data stores the plan rendered (Paved's module calls
    or resources a template wrote itself)."""
    resources = plan.get("resources", [])
    tags: dict[str, str] = {}
    for resource in resources:
        tags.update(resource.get("tags") or {})
    tags.setdefault("service", plan["service_name"])
    tags.setdefault("team", plan["team"])
    tags.setdefault("owner", plan["team"])
    tags.setdefault("environment", plan["environment"])
    tags["managed_by"] = "paved"
    service_key = plan["service_name"].replace("-", "_")
    document: dict[str, Any] = {
        "//": f"Written by Paved (Terraform modules {terraform_modules.MODULE_VERSION}); edits are replaced.",
        "terraform": {
            "required_version": ">= 1.5.0",
            "required_providers": terraform_modules.REQUIRED_PROVIDERS,
        },
        "provider": {"aws": {"region": plan.get("region") or "us-east-1"}},
        "variable": terraform_modules.ROOT_VARIABLES,
        "module": {service_key: terraform_modules.service_module_call(plan, tags)},
    }
    stores = {k: v for k, v in (plan.get("terraform") or {}).items() if k in ("resource", "module")}
    # Older plans carried their own call of the service module; the call above replaces it.
    (stores.get("module") or {}).pop(service_key, None)
    _merge(document, copy.deepcopy(stores))
    for resource in resources:
        for manifest in resource.get("manifests", []):
            if isinstance(manifest, dict) and not _is_kubernetes(manifest):
                blocks = {k: v for k, v in manifest.items() if k in ("resource", "module")}
                (blocks.get("module") or {}).pop(service_key, None)
                _merge(document, blocks)
    document["module"] = {
        key: {"source": call.get("source"), **{k: v for k, v in sorted(call.items()) if k != "source"}}
        for key, call in document["module"].items()
    }
    return document


def _merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _dashboard(entry: Any, site: SiteConfig, service: str) -> tuple[str, str] | None:
    """A dashboard of the observability properties: ``{title, url}`` as the catalog renders it, or a bare
    title from older plans (then linked by its slug)."""
    if isinstance(entry, dict):
        title, url = entry.get("title"), entry.get("url")
        return (str(title), str(url)) if title and url else None
    if isinstance(entry, str) and entry:
        return entry, f"{site.dashboard_base_url}/d/{_slug(entry)}?var-service={service}"
    return None


def links(plan: dict[str, Any], site: SiteConfig) -> Links:
    """Endpoints, dashboards, documentation and runbook URLs of a provisioned plan.

    Endpoints are the hosts the plan's Ingresses serve and, when it has a Kubernetes Service, its address
    inside the cluster; nothing is invented for a workload nobody can reach (a queue consumer).
    """
    service, env = plan["service_name"], plan["environment"]
    endpoints: list[str] = []
    port = None
    for resource in plan.get("resources", []):
        props = resource.get("properties") or {}
        if resource.get("type") == "networking" and props.get("host"):
            endpoints.append(f"https://{props['host']}")
        if resource.get("type") == "compute" and props.get("port"):
            port = int(props["port"])
    namespace = plan.get("namespace") or env
    if any(obj.get("kind") == "Service" for _, obj in kubernetes_objects(plan)):
        endpoints.append(f"http://{service}.{namespace}.svc.cluster.local" + (f":{port}" if port else ""))
    dashboards: list[tuple[str, str]] = []
    for resource in plan.get("resources", []):
        if resource.get("type") != "observability":
            continue
        for entry in (resource.get("properties") or {}).get("dashboards") or []:
            dashboard = _dashboard(entry, site, service)
            if dashboard and dashboard not in dashboards:
                dashboards.append(dashboard)
    runbooks = [
        (alert, f"{site.runbook_base_url}/{service}/{_slug(alert)}")
        for alert in ("High Error Rate", "Service Down", "High Latency")
    ]
    documentation_url = f"{site.docs_base_url}/{plan['team']}/{service}/{env}/"
    return Links(endpoints, dashboards, documentation_url, runbooks)


def documentation(plan: dict[str, Any], site: SiteConfig) -> str:
    """The service's TechDocs page (Markdown)."""
    link = links(plan, site)
    lines = [
        f"# {plan['service_name']}",
        "",
        f"Owned by **{plan['team']}**, environment **{plan['environment']}**, "
        f"built from `{plan.get('template', '')}` (revision {plan.get('template_revision', 0)}).",
        "",
        "## Endpoints",
        "",
        *[f"- <{url}>" for url in link.endpoints],
        "",
        "## Dashboards",
        "",
        *[f"- [{title}]({url})" for title, url in link.dashboards],
        "",
        "## Runbooks",
        "",
        *[f"- [{title}]({url})" for title, url in link.runbooks],
        "",
        "## Resources",
        "",
        "| Name | Type | Details |",
        "| --- | --- | --- |",
    ]
    for resource in plan.get("resources", []):
        props = resource.get("properties") or {}
        details = ", ".join(
            f"{k}={props[k]}" for k in sorted(props) if not isinstance(props[k], (dict, list))
        )
        lines.append(f"| {resource['name']} | {resource.get('type', '')} | {details} |")
    lines += ["", f"Manifests live in `{service_path(plan)}` of the GitOps repository.", ""]
    return "\n".join(lines)


def render_files(
    plan: dict[str, Any], site: SiteConfig, *, canary: list[dict[str, Any]] | None = None
) -> dict[str, bytes]:
    """Every file of the service's directory, by path relative to the repository root."""
    # Plans kept before integers were restored at the Struct boundary may still hold 2.0 for 2.
    plan = integral(plan)
    base = service_path(plan)
    files: dict[str, bytes] = {}
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for resource_name, obj in kubernetes_objects(plan):
        by_resource.setdefault(resource_name, []).append(obj)
    kustomize_resources = []
    for resource_name, objects in by_resource.items():
        name = f"k8s/{_slug(resource_name)}.yaml"
        files[f"{base}/{name}"] = _dump_yaml_documents(_stable_workloads(objects))
        kustomize_resources.append(name)
    if canary:
        files[f"{base}/k8s/canary.yaml"] = _dump_yaml_documents(canary)
        kustomize_resources.append("k8s/canary.yaml")
    kustomization = {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "namespace": plan.get("namespace") or plan["environment"],
        "labels": [
            {
                "pairs": {
                    "app.kubernetes.io/name": plan["service_name"],
                    "app.kubernetes.io/managed-by": "paved",
                    "paved.dev/team": plan["team"],
                    "paved.dev/environment": plan["environment"],
                },
                "includeSelectors": False,
            }
        ],
        "resources": kustomize_resources,
    }
    files[f"{base}/kustomization.yaml"] = _dump_yaml(kustomization)
    terraform = terraform_document(plan)
    files[f"{base}/terraform/main.tf.json"] = (json.dumps(terraform, indent=2) + "\n").encode()
    for path, content in terraform_modules.module_files(terraform).items():
        files[f"{base}/terraform/{path}"] = content
    for resource in plan.get("resources", []):
        platform_specs = [m for m in resource.get("manifests", []) if not _is_kubernetes(m)]
        if resource.get("type") != "observability" or not platform_specs:
            continue
        spec = {
            "service": plan["service_name"],
            "properties": resource.get("properties") or {},
            "manifests": platform_specs,
        }
        files[f"{base}/observability/{_slug(resource['name'])}.yaml"] = _dump_yaml(spec)
    files[f"{base}/docs/index.md"] = documentation(plan, site).encode()
    files[f"{base}/mkdocs.yml"] = _dump_yaml(
        {"site_name": plan["service_name"], "nav": [{"Home": "index.md"}], "plugins": ["techdocs-core"]}
    )
    return files


def with_image(plan: dict[str, Any], image: str) -> dict[str, Any]:
    """The plan with every workload container (and the compute properties) running ``image``."""
    plan = copy.deepcopy(plan)
    plan["image"] = image
    for resource in plan.get("resources", []):
        if resource.get("type") == "compute":
            resource.setdefault("properties", {})["image"] = image
        for manifest in resource.get("manifests", []):
            if _is_kubernetes(manifest) and manifest.get("kind") in WORKLOAD_KINDS:
                pod = manifest.get("spec", {}).get("template", {}).get("spec", {})
                for container in pod.get("containers", []):
                    container["image"] = image
    return plan


def current_image(plan: dict[str, Any]) -> str:
    """The image the plan's first workload runs (or the plan's image)."""
    for _, obj in kubernetes_objects(plan):
        if obj.get("kind") in WORKLOAD_KINDS:
            for container in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                if container.get("image"):
                    return str(container["image"])
    return str(plan.get("image", ""))


def version_of(image: str) -> str:
    """The tag of an image reference (``registry/app:1.2`` → ``1.2``), or ``latest``."""
    name = image.rsplit("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def with_instance_type(plan: dict[str, Any], resource_name: str, instance_type: str) -> dict[str, Any]:
    """The plan with resource ``resource_name``'s instance type changed in its properties and manifests.

    Raises KeyError when the plan has no such resource.
    """
    plan = copy.deepcopy(plan)
    resource = next((r for r in plan.get("resources", []) if r.get("name") == resource_name), None)
    if resource is None:
        raise KeyError(resource_name)
    props = resource.setdefault("properties", {})
    old = props.get("instance_type")
    props["instance_type"] = instance_type
    for manifest in resource.get("manifests", []):
        if _is_kubernetes(manifest) and manifest.get("kind") in WORKLOAD_KINDS:
            pod = manifest.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})
            pod.setdefault("nodeSelector", {})[INSTANCE_TYPE_LABEL] = instance_type
        else:
            _replace_values(manifest, {"instance_type", "instance_class"}, old, instance_type)
    return plan


def _replace_values(node: Any, keys: set[str], old: Any, new: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and old is not None and value == old:
                node[key] = new
            else:
                _replace_values(value, keys, old, new)
    elif isinstance(node, list):
        for item in node:
            _replace_values(item, keys, old, new)
