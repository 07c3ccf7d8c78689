"""The HTTP API's request and response bodies (they are the OpenAPI document's schemas)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DNS_LABEL = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_FIELD = Field(min_length=1, max_length=63, pattern=DNS_LABEL)


class Override(BaseModel):
    """An override of soft-mandatory policy failures: who takes responsibility and why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)
    approved_by: str | None = Field(None, min_length=1, max_length=200, description="Defaults to the caller.")


class CreateServiceRequest(BaseModel):
    """A new service from a golden-path template."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=63, pattern=DNS_LABEL, description="DNS-1123 label, e.g. `checkout`."
    )
    team: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL, description="Owner team.")
    template: str = Field(
        min_length=1,
        max_length=80,
        pattern=r"^(templates/)?[a-z]([-a-z0-9]*[a-z0-9])?$",
        description="Template id, e.g. `web-service` (or `templates/web-service`).",
    )
    parameters: dict[str, Any] = Field(default_factory=dict, description="Template parameters.")
    environment: str = Field("development", min_length=1, max_length=63, pattern=DNS_LABEL)
    override: Override | None = None
    validate_only: bool = Field(
        False,
        description="AIP-163: run every check of the create (fields, parameters, name, pricing, quota, "
        "policy) and answer 200 with the outcome, changing nothing.",
    )


class Link(BaseModel):
    """A titled link."""

    title: str
    url: str


class Money(BaseModel):
    """An amount in a currency."""

    amount: float
    currency: str


class PolicySummary(BaseModel):
    """The policy decision a create was allowed under."""

    outcome: str
    decision: str
    override_applied: bool = False
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class CreateServiceAccepted(BaseModel):
    """202 answer: the service is being provisioned by the named operation."""

    id: str
    name: str
    team: str
    environment: str
    status: Literal["provisioning"] = "provisioning"
    operation: str
    endpoints: list[str]
    dashboards: list[Link]
    documentation: str | None
    estimated_monthly_cost: Money | None = None
    policy: PolicySummary | None = None


class QuotaCheck(BaseModel):
    """One quota the plan was checked against."""

    quota: str
    current: float
    requested: float
    limit: float
    allowed: bool


class PlannedResource(BaseModel):
    """A resource the plan would create."""

    name: str
    type: str


class CreateServiceValidated(BaseModel):
    """200 answer of a validate-only create: what the create would do; nothing was changed."""

    validate_only: Literal[True] = True
    name: str
    team: str
    template: str
    environment: str
    resources: list[PlannedResource]
    endpoints: list[str]
    dashboards: list[Link]
    estimated_monthly_cost: Money | None = None
    quota: list[QuotaCheck] = Field(default_factory=list)
    policy: PolicySummary | None = None


class Metrics(BaseModel):
    """Current metrics from alerting; null values mean no data."""

    requests_per_second: float | None
    error_rate: float | None
    latency_p99: float | None


class Cost(BaseModel):
    """Cost of the current month from the cost service."""

    current_month: float
    projected_month: float
    currency: str
    previous_month: float | None = None
    trend: str | None = None
    estimated_monthly_cost: float | None = None


class EnvironmentCost(BaseModel):
    """What the service is estimated to cost per month in one environment (billing itself is per
    service: its actual figures are the service's ``cost``)."""

    estimated_monthly_cost: float
    currency: str


class EnvironmentStatus(BaseModel):
    """The service in one environment: its state, the version running there, its own health and metrics
    (alert rules and samples are per environment) and its monthly estimate (null where none is known)."""

    name: str
    status: str
    version: str | None = None
    image: str | None = None
    endpoints: list[str] = Field(default_factory=list)
    health: str | None = None
    metrics: Metrics | None = None
    cost: EnvironmentCost | None = None


class ServiceStatus(BaseModel):
    """A service as the portal shows it; parts whose service is down are null and listed in
    ``unavailable``."""

    id: str
    name: str
    team: str | None
    template: str | None
    environment: str | None
    status: str
    health: str
    metrics: Metrics | None
    cost: Cost | None
    endpoints: list[str] = Field(default_factory=list)
    dashboards: list[Link] = Field(default_factory=list)
    documentation: str | None = None
    unavailable: list[str] = Field(default_factory=list)
    environments: list[EnvironmentStatus] = Field(default_factory=list)


class ServiceSummary(BaseModel):
    """A service in a list."""

    id: str
    name: str
    team: str
    template: str
    environment: str
    status: str
    endpoints: list[str]
    create_time: str | None
    update_time: str | None


class ServiceList(BaseModel):
    """A page of services."""

    services: list[ServiceSummary]
    next_page_token: str | None


class WorkflowRequest(BaseModel):
    """A deploy or rollback."""

    model_config = ConfigDict(extra="forbid")

    version: str | None = Field(None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    image: str | None = Field(None, min_length=1, max_length=512)
    environment: str | None = Field(None, min_length=1, max_length=63, pattern=DNS_LABEL)


class OperationAccepted(BaseModel):
    """202 answer: the work runs as the named operation."""

    id: str
    operation: str
    service: str
    workflow: str
    status: Literal["running"] = "running"


class Step(BaseModel):
    """One step of an operation."""

    name: str
    state: str
    attempts: int
    start_time: str | None
    end_time: str | None
    error: str | None
    detail: str | None


class OperationError(BaseModel):
    """Why an operation failed."""

    code: str
    message: str


class Operation(BaseModel):
    """A long-running operation and its steps."""

    id: str
    name: str
    kind: str
    service: str
    team: str
    environment: str
    requester: str
    done: bool
    status: Literal["running", "succeeded", "failed"]
    summary: str = Field(
        description="The outcome in words; a success with skipped steps names them, e.g. "
        "`succeeded (3 of 6 steps skipped: run_tests, build_image, run_smoke_tests)`."
    )
    steps: list[Step]
    result: dict[str, Any] | None
    error: OperationError | None
    create_time: str | None
    update_time: str | None
    end_time: str | None


class Template(BaseModel):
    """A golden-path template."""

    id: str
    name: str
    description: str
    parameters: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    workflows: list[dict[str, Any]]
    revision: int
    builtin: bool


class TemplateList(BaseModel):
    """A page of templates."""

    templates: list[Template]
    next_page_token: str | None


class TeamCost(BaseModel):
    """A team's cost for a month."""

    team: str
    current_month: float
    projected_month: float
    previous_month: float
    currency: str
    trend: str = Field(description="`up`, `down`, `flat`, or `new` (no cost the month before).")
    trend_percent: float | None = Field(description="Change against the month before; null when `new`.")
    services: int


class TeamCosts(BaseModel):
    """Costs per team."""

    month: str
    teams: list[TeamCost]
    unallocated: float | None
    total: float | None
    currency: str


class Items(BaseModel):
    """A page of pass-through items (recommendations, policies, alerts, entities)."""

    items: list[dict[str, Any]]
    next_page_token: str | None = None
    total_monthly_savings: Money | None = None


class Entities(BaseModel):
    """Backstage entities (Component, Resource, Group, System) for a catalog location: nothing else."""

    items: list[dict[str, Any]]


class EvaluationContextBody(BaseModel):
    """Facts policies may read as ``context``."""

    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=63, pattern=DNS_LABEL)
    environment: str = Field("development", min_length=1, max_length=63, pattern=DNS_LABEL)
    service: str | None = Field(None, min_length=1, max_length=63, pattern=DNS_LABEL)
    estimated_monthly_cost: float | None = Field(None, ge=0)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")


class ResourceBody(BaseModel):
    """A rendered resource as in ``paved.common.v1.Resource``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    type: str = Field(min_length=1, max_length=63)
    properties: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class EvaluateRequest(BaseModel):
    """Resources to evaluate against the enabled policies."""

    model_config = ConfigDict(extra="forbid")

    resources: list[ResourceBody] = Field(min_length=1, max_length=200)
    context: EvaluationContextBody
    override: Override | None = None


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    services: dict[str, str] = Field(default_factory=dict)


class ErrorDetail(BaseModel):
    """What went wrong; extra fields carry details (fieldViolations, violations, quota numbers, ...)."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(description="Backstage error class name, e.g. InputError, NotAllowedError.")
    message: str
    requestId: str | None = None  # Backstage's casing


class ErrorRequest(BaseModel):
    """The request that failed."""

    method: str
    url: str


class ErrorResponse(BaseModel):
    """The status of the answer."""

    statusCode: int  # Backstage's casing


class ErrorBody(BaseModel):
    """Backstage's ErrorResponseBody."""

    model_config = ConfigDict(extra="allow")

    error: ErrorDetail
    request: ErrorRequest
    response: ErrorResponse


class PromotionRequest(BaseModel):
    """Promote what runs in ``from`` into ``to`` (a later environment)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(
        alias="from", min_length=1, max_length=63, pattern=DNS_LABEL, description="Source environment."
    )
    target: str = Field(
        alias="to", min_length=1, max_length=63, pattern=DNS_LABEL, description="Target environment."
    )
    version: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._+-]+$",
        description="A version that ran in the source; what runs there now by default.",
    )


class ApprovalRequest(BaseModel):
    """An approval or rejection of a promotion waiting at its approval gate."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="Why.")


class PromotionGateView(BaseModel):
    """One gate of a promotion: pending, running (approval: waiting), succeeded, skipped or failed."""

    gate: str
    state: str
    evidence: str | None = None


class PromotionStatus(BaseModel):
    """A promotion: where it is (gating, waiting_for_approval, deploying, succeeded, failed) and each
    gate's evidence."""

    id: str
    operation: str
    service: str
    target: str
    source: str | None = None
    version: str | None = None
    phase: str
    gates: list[PromotionGateView]
    error: OperationError | None = None


class EnvironmentUpdate(BaseModel):
    """Settings of an environment to change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    namespace: str | None = Field(None, max_length=63, description="Namespace; {team} is the owner team.")
    region: str | None = Field(None, max_length=63)
    replicas_floor: int | None = Field(None, ge=0, le=1000)
    approval_required: bool | None = None
    soak_seconds: int | None = Field(None, ge=0, le=30 * 86400)
    approval_timeout_seconds: int | None = Field(None, ge=1, le=30 * 86400)
    description: str | None = Field(None, max_length=1000)
