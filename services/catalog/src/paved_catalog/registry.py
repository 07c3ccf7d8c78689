"""Rules of the service registry: what a service record must hold, lifecycle transitions, update masks."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from paved_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, PreconditionViolation

from paved_catalog.filtering import FieldRule
from paved_catalog.render_context import is_dns_label

MAX_ANNOTATIONS = 64
MAX_ENDPOINTS = 32
MAX_REQUEST_ID_LENGTH = 128


class State(enum.StrEnum):
    """Lifecycle of a registered service."""

    PROVISIONING = "PROVISIONING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    DEPROVISIONING = "DEPROVISIONING"
    DELETED = "DELETED"


_TRANSITIONS: dict[State, frozenset[State]] = {
    State.PROVISIONING: frozenset({State.PROVISIONING, State.ACTIVE, State.FAILED, State.DEPROVISIONING}),
    State.ACTIVE: frozenset({State.ACTIVE, State.PROVISIONING, State.FAILED, State.DEPROVISIONING}),
    State.FAILED: frozenset({State.FAILED, State.PROVISIONING, State.DEPROVISIONING, State.DELETED}),
    State.DEPROVISIONING: frozenset({State.DEPROVISIONING, State.DELETED, State.FAILED}),
    State.DELETED: frozenset({State.DELETED}),
}

#: Fields UpdateService may change (team: an ownership transfer; environment: a re-provision elsewhere).
UPDATABLE_FIELDS = frozenset(
    {
        "state",
        "endpoints",
        "dashboards",
        "documentation_url",
        "annotations",
        "plan",
        "parameters",
        "template_revision",
        "team",
        "environment",
    }
)
IMMUTABLE_FIELDS = frozenset({"name", "uid", "template", "create_time", "update_time", "etag"})


@dataclass
class ServiceDraft:
    """The fields of a service as a caller supplies them (create, or the new values of an update)."""

    service_id: str
    team: str = ""
    template: str = ""
    template_revision: int = 0
    environment: str = ""
    state: State | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    endpoints: list[str] = field(default_factory=list)
    dashboards: list[dict[str, str]] = field(default_factory=list)
    documentation_url: str = ""
    plan: bytes | None = None  # the plan, opaque to the registry
    annotations: dict[str, str] = field(default_factory=dict)
    plan_summary: dict[str, Any] = field(default_factory=dict)  # the plan's resources without manifests
    database_engine: str = ""  # from the plan: engine of its database resource, if any
    namespace: str = ""  # from the plan: Kubernetes namespace


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)


def link_violations(draft: ServiceDraft, prefix: str = "service") -> list[FieldViolation]:
    """Problems with the URL-bearing and free-form fields (endpoints, dashboards, docs, annotations)."""
    problems: list[FieldViolation] = []
    if len(draft.endpoints) > MAX_ENDPOINTS:
        problems.append(FieldViolation(f"{prefix}.endpoints", f"at most {MAX_ENDPOINTS} endpoints"))
    for i, endpoint in enumerate(draft.endpoints):
        if not _is_url(endpoint):
            problems.append(FieldViolation(f"{prefix}.endpoints[{i}]", "must be an absolute http(s) URL"))
    for i, link in enumerate(draft.dashboards):
        if not link.get("title"):
            problems.append(FieldViolation(f"{prefix}.dashboards[{i}].title", "required"))
        if not _is_url(link.get("url", "")):
            problems.append(
                FieldViolation(f"{prefix}.dashboards[{i}].url", "must be an absolute http(s) URL")
            )
    if draft.documentation_url and not _is_url(draft.documentation_url):
        problems.append(FieldViolation(f"{prefix}.documentation_url", "must be an absolute http(s) URL"))
    if len(draft.annotations) > MAX_ANNOTATIONS:
        problems.append(FieldViolation(f"{prefix}.annotations", f"at most {MAX_ANNOTATIONS} annotations"))
    for key, value in draft.annotations.items():
        if not key or len(key) > 253 or len(value) > 4096:
            problems.append(
                FieldViolation(
                    f"{prefix}.annotations", f"key {key[:40]!r}: keys 1-253, values up to 4096 chars"
                )
            )
    return problems


def check_new_service(draft: ServiceDraft, request_id: str) -> None:
    """Raise InvalidArgument naming every problem of a service to create."""
    problems: list[FieldViolation] = []
    if not is_dns_label(draft.team):
        problems.append(FieldViolation("service.team", "required; must be a DNS-1123 label"))
    if not is_dns_label(draft.template):
        problems.append(FieldViolation("service.template", "required; must be templates/{template}"))
    if not is_dns_label(draft.environment):
        problems.append(FieldViolation("service.environment", "must be a DNS-1123 label, e.g. production"))
    if draft.template_revision < 0:
        problems.append(FieldViolation("service.template_revision", "must not be negative"))
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        problems.append(FieldViolation("request_id", f"at most {MAX_REQUEST_ID_LENGTH} characters"))
    problems += link_violations(draft)
    if problems:
        raise InvalidArgument("the service is invalid", problems)


def update_violations(draft: ServiceDraft, paths: list[str]) -> list[FieldViolation]:
    """Problems with the new values of the fields an update changes."""
    problems = [v for v in link_violations(draft) if v.field.split(".")[1].split("[")[0] in paths]
    if "team" in paths and not is_dns_label(draft.team):
        problems.append(FieldViolation("service.team", "must be a DNS-1123 label"))
    if "environment" in paths and not is_dns_label(draft.environment):
        problems.append(FieldViolation("service.environment", "must be a DNS-1123 label"))
    if "template_revision" in paths and draft.template_revision < 0:
        problems.append(FieldViolation("service.template_revision", "must not be negative"))
    if "state" in paths and draft.state is None:
        problems.append(FieldViolation("service.state", "required when state is in the update mask"))
    return problems


def check_update_mask(paths: list[str]) -> list[str]:
    """The mask's paths, checked; raises InvalidArgument on field ``update_mask``."""
    problems: list[FieldViolation] = []
    for path in paths:
        if path in IMMUTABLE_FIELDS:
            problems.append(FieldViolation("update_mask", f"{path} cannot be changed"))
        elif path not in UPDATABLE_FIELDS:
            problems.append(
                FieldViolation(
                    "update_mask", f"unknown field {path!r}; updatable: {', '.join(sorted(UPDATABLE_FIELDS))}"
                )
            )
    if problems:
        raise InvalidArgument("invalid update mask", problems)
    return paths


def check_transition(service_id: str, current: State, target: State) -> None:
    """Raise FailedPrecondition when the lifecycle does not allow ``current`` → ``target``."""
    if target not in _TRANSITIONS[current]:
        raise FailedPrecondition(
            f"services/{service_id} cannot go from {current} to {target}",
            [
                PreconditionViolation(
                    "STATE", f"services/{service_id}", f"{current} → {target} is not allowed"
                )
            ],
            reason="INVALID_STATE_TRANSITION",
        )


def _state(value: str) -> str:
    normalised = value.upper().removeprefix("STATE_")
    if normalised not in State.__members__:
        raise ValueError(f"must be one of: {', '.join(State.__members__)}")
    return normalised


def _label(prefix: str) -> FieldRule:
    def normalise(value: str) -> str:
        bare = value.removeprefix(prefix)
        if not is_dns_label(bare):
            raise ValueError("must be a DNS-1123 label")
        return bare

    return FieldRule(normalise=normalise)


#: Fields ListServices can filter on, and how their values are written.
SERVICE_FILTER_FIELDS: dict[str, FieldRule] = {
    "team": _label(""),
    "state": FieldRule(normalise=_state),
    "template": _label("templates/"),
    "environment": _label(""),
    "name": _label("services/"),
}
