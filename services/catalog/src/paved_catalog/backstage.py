"""Backstage export: services as catalog entities (Component, Resource, Group, System) and
ServiceTemplates as Software Templates (``scaffolder.backstage.io/v1beta3``) that call Paved's gateway.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from paved_catalog.spec import ParameterSpec, TemplateSpec

CATALOG_API_VERSION = "backstage.io/v1alpha1"
SCAFFOLDER_API_VERSION = "scaffolder.backstage.io/v1beta3"
NAMESPACE = "default"
ENVIRONMENTS = ("development", "staging", "production")
_TAG = re.compile(r"^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$")
_MAX_NAME = 63


@dataclass(frozen=True)
class ExportLinks:
    """Where exported entities point: their location, source repositories, the gateway behind the proxy."""

    location_url: str
    source_url: str
    template_owner: str
    proxy_path: str = "/proxy/paved"


MAX_ENVIRONMENT_KEY = 63 - len("-version")


@dataclass(frozen=True)
class ServiceView:
    """What the export needs to know about a registered service."""

    name: str
    uid: str
    team: str
    template: str
    environment: str
    state: str
    parameters: dict[str, Any]
    endpoints: list[str]
    dashboards: list[dict[str, str]]
    documentation_url: str
    has_database: bool
    database_engine: str
    namespace: str
    # Each environment it runs in, in promotion order: (name, state, version, endpoints).
    environments: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()
    # The template revision it was rendered from, the template's latest (0: unknown), and each
    # environment's revision.
    template_revision: int = 0
    latest_revision: int = 0
    environment_revisions: tuple[tuple[str, int], ...] = ()


def _ref(kind: str, name: str) -> str:
    return f"{kind}:{NAMESPACE}/{name}"


def _tags(values: Iterable[Any]) -> list[str]:
    tags: list[str] = []
    for value in values:
        tag = str(value).lower()
        if isinstance(value, str) and _TAG.match(tag) and len(tag) <= _MAX_NAME and tag not in tags:
            tags.append(tag)
    return tags


def _suffixed(name: str, suffix: str) -> str:
    return f"{name[: _MAX_NAME - len(suffix)].rstrip('-_.')}{suffix}"


def _lifecycle(service: ServiceView) -> str:
    if service.state in ("DEPROVISIONING", "DELETED"):
        return "deprecated"
    running = {name for name, *_ in service.environments} or {service.environment}
    return "production" if "production" in running else "experimental"


def _location(links: ExportLinks) -> str:
    return f"url:{links.location_url}"


def service_entities(services: Iterable[ServiceView], links: ExportLinks) -> list[dict[str, Any]]:
    """Component (+ database Resource) per service, then one Group and one System per team."""
    entities: list[dict[str, Any]] = []
    teams: list[str] = []
    for service in services:
        if service.team not in teams:
            teams.append(service.team)
        entities.extend(_service_entities(service, links))
    for team in teams:
        entities.append(_group(team, links))
        entities.append(_system(team, links))
    return entities


def _annotations(links: ExportLinks, extra: dict[str, str]) -> dict[str, str]:
    location = _location(links)
    return {
        "backstage.io/managed-by-location": location,
        "backstage.io/managed-by-origin-location": location,
        **extra,
    }


def _service_entities(service: ServiceView, links: ExportLinks) -> list[dict[str, Any]]:
    source = f"{links.source_url.rstrip('/')}/{service.team}/{service.name}/"
    annotations = _annotations(
        links,
        {
            "backstage.io/kubernetes-id": service.name,
            "backstage.io/kubernetes-namespace": service.namespace or service.team,
            "backstage.io/source-location": f"url:{source}",
            "backstage.io/techdocs-ref": f"url:{source}",
            "paved.dev/template": f"templates/{service.template}",
            "paved.dev/template-name": service.template,
            "paved.dev/template-revision": str(service.template_revision),
            "paved.dev/state": service.state,
            "paved.dev/uid": service.uid,
        },
    )
    if service.latest_revision:
        annotations["paved.dev/template-latest-revision"] = str(service.latest_revision)
        annotations["paved.dev/template-revisions-behind"] = str(
            max(0, service.latest_revision - service.template_revision)
        )
    for name, revision in service.environment_revisions:
        if len(name) <= 63 - len("-template-revision"):  # an annotation name is at most 63 characters
            annotations[f"paved.dev/{name}-template-revision"] = str(revision)
    entity_links = [{"url": url, "title": "Endpoint", "icon": "web"} for url in service.endpoints]
    entity_links += [
        {"url": d["url"], "title": d.get("title") or "Dashboard", "icon": "dashboard"}
        for d in service.dashboards
    ]
    if service.documentation_url:
        entity_links.append({"url": service.documentation_url, "title": "Documentation", "icon": "docs"})
    # One Component for the service; its environments as annotations and links.
    if service.environments:
        annotations["paved.dev/environments"] = ",".join(name for name, *_ in service.environments)
        for name, state, version, endpoints in service.environments:
            if len(name) <= MAX_ENVIRONMENT_KEY:  # an annotation name is at most 63 characters
                annotations[f"paved.dev/{name}-state"] = state
                if version:
                    annotations[f"paved.dev/{name}-version"] = version
            known = {link["url"] for link in entity_links}
            entity_links += [
                {"url": url, "title": f"Endpoint ({name})", "icon": "web"}
                for url in endpoints
                if url not in known
            ]
    component: dict[str, Any] = {
        "apiVersion": CATALOG_API_VERSION,
        "kind": "Component",
        "metadata": {
            "name": service.name,
            "namespace": NAMESPACE,
            "description": f"{service.name}, built from the {service.template} golden path",
            "annotations": annotations,
            "labels": {"paved.dev/environment": service.environment, "paved.dev/team": service.team},
            "tags": _tags([service.parameters.get("language"), service.template]),
            "links": entity_links,
        },
        "spec": {
            "type": "service",
            "lifecycle": _lifecycle(service),
            "owner": _ref("group", service.team),
            "system": service.team,
        },
    }
    entities = [component]
    if service.has_database:
        database = _suffixed(service.name, "-database")
        component["spec"]["dependsOn"] = [_ref("resource", database)]
        entities.append(
            {
                "apiVersion": CATALOG_API_VERSION,
                "kind": "Resource",
                "metadata": {
                    "name": database,
                    "namespace": NAMESPACE,
                    "description": f"{service.database_engine or 'managed'} database of {service.name}",
                    "annotations": _annotations(links, {"paved.dev/service": f"services/{service.name}"}),
                    "tags": _tags([service.database_engine]),
                },
                "spec": {
                    "type": "database",
                    "owner": _ref("group", service.team),
                    "system": service.team,
                    "dependencyOf": [_ref("component", service.name)],
                },
            }
        )
    return entities


def _group(team: str, links: ExportLinks) -> dict[str, Any]:
    return {
        "apiVersion": CATALOG_API_VERSION,
        "kind": "Group",
        "metadata": {
            "name": team,
            "namespace": NAMESPACE,
            "description": f"Team {team}",
            "annotations": _annotations(links, {}),
        },
        "spec": {"type": "team", "profile": {"displayName": team}, "children": []},
    }


def _system(team: str, links: ExportLinks) -> dict[str, Any]:
    return {
        "apiVersion": CATALOG_API_VERSION,
        "kind": "System",
        "metadata": {
            "name": team,
            "namespace": NAMESPACE,
            "description": f"Services owned by {team}",
            "annotations": _annotations(links, {}),
        },
        "spec": {"owner": _ref("group", team)},
    }


# -- Software Templates ----------------------------------------------------------------------------

_DNS_LABEL_PATTERN = "^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"
#: Parameters the form takes elsewhere (the owner picker) rather than from the template's own list.
_PLACEMENT_PARAMETERS = frozenset({"team"})


def _json_schema(parameter: ParameterSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"title": parameter.name.replace("_", " ").capitalize()}
    if parameter.description:
        schema["description"] = parameter.description
    if parameter.type in ("string", "enum"):
        schema["type"] = "string"
    elif parameter.type == "int":
        schema["type"] = "integer"
    else:
        schema["type"] = "boolean"
    if parameter.type == "enum":
        schema["enum"] = list(parameter.values)
    if parameter.pattern:
        schema["pattern"] = parameter.pattern
    if parameter.name == "service_name":
        schema.update(pattern=_DNS_LABEL_PATTERN, maxLength=63)
        schema["ui:autofocus"] = True
    if parameter.min is not None:
        schema["minimum"] = parameter.min
    if parameter.max is not None:
        schema["maximum"] = parameter.max
    if parameter.has_default:
        schema["default"] = parameter.default
    return schema


def software_template(
    spec: TemplateSpec, revision: int, links: ExportLinks, proxy_path: str = ""
) -> dict[str, Any]:
    """The ServiceTemplate as a Backstage Software Template whose step calls ``POST <proxy>/api/services``."""
    form = [p for p in spec.parameters if p.name not in _PLACEMENT_PARAMETERS]
    required = [p.name for p in form if p.required and not p.has_default]
    properties = {p.name: _json_schema(p) for p in form}
    body_parameters = {p.name: f"${{{{ parameters.{p.name} }}}}" for p in form}
    name_expression = (
        "${{ parameters.service_name }}" if spec.parameter("service_name") else "${{ parameters.name }}"
    )
    if not spec.parameter("service_name"):
        properties = {
            "name": {"title": "Name", "type": "string", "pattern": _DNS_LABEL_PATTERN, "maxLength": 63},
            **properties,
        }
        required = ["name", *required]
    path = f"{(proxy_path or links.proxy_path).rstrip('/')}/api/services"
    return {
        "apiVersion": SCAFFOLDER_API_VERSION,
        "kind": "Template",
        "metadata": {
            "name": spec.name,
            "title": spec.title or spec.name,
            "description": spec.description or f"Create a service from the {spec.name} golden path",
            "tags": _tags([*spec.tags, "paved"]),
            "annotations": _annotations(
                links, {"paved.dev/template": f"templates/{spec.name}", "paved.dev/revision": str(revision)}
            ),
        },
        "spec": {
            "owner": _ref("group", links.template_owner),
            "type": "service",
            "parameters": [
                {"title": spec.title or spec.name, "required": required, "properties": properties},
                {
                    "title": "Ownership and placement",
                    "required": ["team", "environment"],
                    "properties": {
                        "team": {
                            "title": "Owner team",
                            "type": "string",
                            "ui:field": "OwnerPicker",
                            "ui:options": {"catalogFilter": {"kind": "Group"}},
                        },
                        "environment": {
                            "title": "Environment",
                            "type": "string",
                            "enum": list(ENVIRONMENTS),
                            "default": ENVIRONMENTS[0],
                        },
                    },
                },
            ],
            "steps": [
                {
                    "id": "create",
                    "name": "Create the service with Paved",
                    "action": "http:backstage:request",
                    "input": {
                        "method": "POST",
                        "path": path,
                        "headers": {"content-type": "application/json"},
                        "body": {
                            "name": name_expression,
                            "team": "${{ parameters.team | parseEntityRef | pick('name') }}",
                            "template": spec.name,
                            "environment": "${{ parameters.environment }}",
                            "parameters": body_parameters,
                        },
                    },
                }
            ],
            "output": {
                "links": [
                    {
                        "title": "Open in catalog",
                        "icon": "catalog",
                        "entityRef": f"component:{NAMESPACE}/{name_expression}",
                    }
                ],
                "text": [
                    {
                        "title": "Provisioning",
                        "content": "Operation `${{ steps['create'].output.body.operation }}` is provisioning "
                        "the service.",
                    }
                ],
            },
        },
    }


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """A multi-document YAML stream."""
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=120)
