"""Rendering a template into a plan: parameters checked, conditions applied, placeholders filled,
observability expanded, properties and tags attached, and the Terraform of the platform module built.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_catalog import conditions, managed_stores, observability, properties, workloads
from paved_catalog.parameters import check_parameters
from paved_catalog.placeholders import MissingValues, compiled
from paved_catalog.render_context import PlatformDefaults, RenderContext
from paved_catalog.spec import ResourceSpec, TemplateSpec, WorkflowSpec

CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolume",
        "StorageClass",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    }
)


@dataclass(frozen=True)
class RenderedResource:
    """One resource of a plan, in the shape of ``paved.common.v1.Resource``."""

    name: str
    type: str
    properties: dict[str, Any]
    tags: dict[str, str]
    manifests: list[dict[str, Any]]


@dataclass(frozen=True)
class RenderedPlan:
    """A plan, in the shape of ``paved.common.v1.Plan``."""

    service_name: str
    team: str
    environment: str
    template: str
    template_revision: int
    parameters: dict[str, Any]
    resources: list[RenderedResource]
    namespace: str
    image: str
    region: str
    terraform: dict[str, Any]
    workflows: tuple[WorkflowSpec, ...] = field(default=())


def _resolve_identity(
    spec: TemplateSpec, resolved: dict[str, Any], context: RenderContext, violations: list[FieldViolation]
) -> tuple[str, str]:
    service_name = context.service_name
    declared = resolved.get("service_name")
    if isinstance(declared, str) and declared:
        if service_name and service_name != declared:
            violations.append(FieldViolation("context.service_name", "must equal parameters.service_name"))
        service_name = declared
    if not service_name and not any(v.field == "parameters.service_name" for v in violations):
        field_name = "parameters.service_name" if spec.parameter("service_name") else "context.service_name"
        violations.append(FieldViolation(field_name, "MISSING: required"))
    team = context.team
    chosen = resolved.get("team")
    if isinstance(chosen, str) and chosen:
        if team and team != chosen:
            violations.append(
                FieldViolation("parameters.team", f"must be the owner team {team!r} or left out")
            )
        team = chosen
    if not team:
        violations.append(FieldViolation("context.team", "MISSING: the owner team is required"))
    return service_name, team


def render(
    spec: TemplateSpec,
    revision: int,
    parameters: Mapping[str, Any],
    context: RenderContext,
    defaults: PlatformDefaults,
) -> RenderedPlan:
    """Render ``spec`` for one service; raises InvalidArgument naming every bad parameter or context field."""
    violations = context.violations()
    check = check_parameters(spec, parameters)
    violations += [
        FieldViolation(f"parameters.{v.field}", f"{v.rule}: {v.description}") for v in check.violations
    ]
    resolved = dict(check.resolved)
    # With bad parameters the identity still comes from what was sent, so its problems are reported too.
    identity = resolved if check.valid else {k: v for k, v in parameters.items() if isinstance(v, str)}
    service_name, team = _resolve_identity(spec, identity, context, violations)
    if violations:
        count = len(violations)
        raise InvalidArgument(
            f"the service cannot be rendered from templates/{spec.name}: "
            f"{count} problem{'s' if count != 1 else ''} with its parameters",
            violations,
            reason="INVALID_PARAMETERS",
        )

    ctx = RenderContext(
        service_name=service_name,
        team=team,
        environment=context.environment,
        namespace=context.namespace,
        image=context.image,
        region=context.region,
        cost_center=context.cost_center,
        domain=context.domain,
        replicas_floor=context.replicas_floor,
    ).resolved(defaults)
    # Declared parameters win over platform values of the same name; everything else comes from the context.
    values: dict[str, Any] = {**ctx.as_values(), **resolved}
    values["service_name"], values["team"] = service_name, team
    tags = {
        "owner": team,
        "team": team,
        "cost_center": ctx.cost_center,
        "environment": ctx.environment,
        "service": service_name,
    }

    chosen = [
        resource
        for resource in spec.resources
        if not resource.condition
        or conditions.evaluate(conditions.parse_condition(resource.condition), values)
    ]
    # Observability is about the workload as deployed, so it is rendered after the platform's defaults
    # were filled into the workloads; the plan keeps the template's order.
    by_name: dict[str, RenderedResource] = {}
    missing: set[str] = set()
    for phase in ("workloads", "observability"):
        if phase == "observability":
            _fill_workload_defaults(by_name, values, ctx)
        for resource in chosen:
            if (resource.type == "observability") != (phase == "observability"):
                continue
            try:
                by_name[resource.name] = _render_resource(
                    resource, values, ctx, tags, defaults, list(by_name.values())
                )
            except MissingValues as exc:
                missing.update(exc.names)
    rendered = [by_name[r.name] for r in chosen if r.name in by_name]
    if missing:
        raise InvalidArgument(
            "the template needs values that were not given",
            [
                FieldViolation(f"parameters.{name}", "MISSING: used by the template")
                for name in sorted(missing)
            ],
            reason="INVALID_PARAMETERS",
        )
    return RenderedPlan(
        service_name=service_name,
        team=team,
        environment=ctx.environment,
        template=f"templates/{spec.name}",
        template_revision=revision,
        parameters=resolved,
        resources=rendered,
        namespace=ctx.namespace,
        image=ctx.image,
        region=ctx.region,
        terraform=_terraform(rendered),
        workflows=spec.workflows,
    )


def _render_resource(
    resource: ResourceSpec,
    values: Mapping[str, Any],
    ctx: RenderContext,
    tags: dict[str, str],
    defaults: PlatformDefaults,
    earlier: list[RenderedResource],
) -> RenderedResource:
    manifests: list[dict[str, Any]] = []
    if resource.template:
        manifests = [m for m in compiled(resource.template).render(values) if isinstance(m, dict)]
    props: dict[str, Any]
    if resource.type == "compute":
        _label_kubernetes_objects(manifests, ctx)
        workloads.raise_replicas(manifests, ctx.replicas_floor)
        props = properties.compute_properties(manifests, values, ctx.environment, ctx.region)
    elif resource.type == "networking":
        _label_kubernetes_objects(manifests, ctx)
        props = properties.networking_properties(manifests, ctx.region)
    elif resource.type == "database" and not manifests:
        manifests, props = managed_stores.database(
            resource.name, values, ctx.service_name, ctx.environment, ctx.region, tags
        )
        _label_kubernetes_objects([m for m in manifests if "kind" in m], ctx)
    elif resource.type == "storage" and not manifests:
        manifests, props = managed_stores.storage(
            resource.name, ctx.service_name, ctx.environment, ctx.region, tags
        )
    elif resource.type == "database":
        _tag_terraform(manifests, tags)
        props = properties.database_properties(manifests, ctx.region)
    elif resource.type == "storage":
        _tag_terraform(manifests, tags)
        props = properties.storage_properties(manifests, ctx.region)
    elif resource.type == "observability":
        target = _observability_target(ctx, defaults, earlier)
        objects, props = observability.expand(resource.includes, target)
        _label_kubernetes_objects(objects, ctx)
        if "traces" in resource.includes:
            workloads.add_environment(_kubernetes_objects(earlier), observability.otel_environment(target))
        manifests = objects + manifests
    else:
        props = {"region": ctx.region}
    return RenderedResource(resource.name, resource.type, props, dict(tags), manifests)


def _fill_workload_defaults(
    by_name: dict[str, RenderedResource], values: Mapping[str, Any], ctx: RenderContext
) -> None:
    """The platform's workload defaults (security context, probes, PDB, NetworkPolicy) over every
    Kubernetes object rendered so far; new objects join the first compute resource."""
    compute = next((r for r in by_name.values() if r.type == "compute"), None)
    if compute is None:
        return
    objects = _kubernetes_objects(list(by_name.values()))
    managed_stores.wire_workloads(objects, list(by_name.values()), ctx.service_name)
    extra = workloads.harden(objects, ctx.service_name)
    _label_kubernetes_objects(extra, ctx)
    manifests = compute.manifests + extra
    by_name[compute.name] = dataclasses.replace(
        compute,
        manifests=manifests,
        properties=properties.compute_properties(manifests, values, ctx.environment, ctx.region),
    )


def _kubernetes_objects(resources: list[RenderedResource]) -> list[dict[str, Any]]:
    return [m for r in resources if r.type in ("compute", "networking") for m in r.manifests]


def _observability_target(
    ctx: RenderContext, defaults: PlatformDefaults, earlier: list[RenderedResource]
) -> observability.ObservabilityTarget:
    """Where the service's metrics are served: a Service port when one exposes the workload, else the
    workload's first container port."""
    objects = _kubernetes_objects(earlier)
    workload = workloads.first_workload(objects)
    service_port = workloads.service_port(objects, workload)
    return observability.ObservabilityTarget(
        service=ctx.service_name,
        team=ctx.team,
        namespace=ctx.namespace,
        environment=ctx.environment,
        dashboards_url=defaults.dashboards_url,
        otlp_endpoint=defaults.otlp_endpoint,
        service_port=service_port,
        pod_port=workloads.container_port(workload),
        pod_labels=workloads.pod_labels(workload),
    )


def _label_kubernetes_objects(manifests: list[dict[str, Any]], ctx: RenderContext) -> None:
    labels = {
        "app.kubernetes.io/name": ctx.service_name,
        "app.kubernetes.io/managed-by": "paved",
        "paved.dev/team": ctx.team,
        "paved.dev/environment": ctx.environment,
    }
    for manifest in manifests:
        metadata = manifest.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            continue
        if manifest.get("kind") not in CLUSTER_SCOPED_KINDS:
            metadata.setdefault("namespace", ctx.namespace)
        existing = metadata.get("labels")
        if existing is None or isinstance(existing, dict):
            metadata["labels"] = {**labels, **(existing or {})}


def _tag_terraform(manifests: list[dict[str, Any]], tags: dict[str, str]) -> None:
    for manifest in manifests:
        resources = manifest.get("resource")
        if not isinstance(resources, dict):
            continue
        for by_name in resources.values():
            if not isinstance(by_name, dict):
                continue
            for body in by_name.values():
                if isinstance(body, dict):
                    existing = body.get("tags")
                    body["tags"] = {**tags, **(existing if isinstance(existing, dict) else {})}


def _terraform(resources: list[RenderedResource]) -> dict[str, Any]:
    """The data stores' Terraform (resources and managed-store module calls). Provisioning adds the
    service module call and ships the modules (it owns the GitOps repository's Terraform)."""
    merged: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if resource.type not in ("database", "storage"):
            continue
        for manifest in resource.manifests:
            if "kind" in manifest:
                continue
            for block in ("resource", "module"):
                for kind, by_name in (manifest.get(block) or {}).items():
                    if block == "module":
                        merged.setdefault("module", {})[kind] = copy.deepcopy(by_name)
                    elif isinstance(by_name, dict):
                        for name, body in by_name.items():
                            key = name if resource.name == resource.type else f"{resource.name}_{name}"
                            merged.setdefault("resource", {}).setdefault(kind, {})[key] = copy.deepcopy(body)
    return merged
