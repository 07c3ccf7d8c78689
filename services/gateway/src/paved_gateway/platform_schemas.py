"""Bodies of the platform-success routes: delivery metrics, ROI, maturity scorecards, people's inputs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Band = Literal["elite", "high", "medium", "low"]


class Metric(BaseModel):
    """One measure: its value (null when there is no data or no source), how it is derived, and when
    it was taken."""

    value: float | None
    unit: str
    basis: str = Field(description="Where the number comes from, or why it is unavailable.")
    band: Band | None = Field(default=None, description="DORA performance band, for the four DORA measures.")
    as_of: str | None = Field(default=None, description="When a person last set it (inputs only), RFC 3339.")


class RoiTerm(BaseModel):
    """One term of the ROI arithmetic."""

    name: str
    formula: str
    value: float


class Roi(BaseModel):
    """The source design's ROI: benefits against the platform's cost over the window."""

    benefits: list[RoiTerm]
    costs: list[RoiTerm]
    total_benefit: float
    total_cost: float
    roi_percent: float
    currency: str
    notes: list[str] = Field(default_factory=list, description="Where the counts come from.")


class Window(BaseModel):
    start: str
    end: str
    days: float


class PlatformMetrics(BaseModel):
    """The source design's ``PlatformMetrics`` record, each measure with its basis, plus the ROI."""

    team: str | None = Field(default=None, description="The team measured; null for the whole platform.")
    window: Window
    time_to_first_deploy: Metric
    deployments_per_day: Metric
    services_created_per_week: Metric
    platform_uptime: Metric
    mttr: Metric
    change_failure_rate: Metric
    lead_time: Metric
    infrastructure_cost_per_service: Metric
    cost_optimization_savings: Metric
    resource_utilization: Metric
    developer_nps: Metric
    self_service_adoption: Metric
    support_ticket_volume: Metric
    deployments: int
    failed_deployments: int
    services_created: int
    roi: Roi | None = Field(
        default=None, description="Platform-wide only: the platform's cost is not split by team."
    )


class ScorecardCheck(BaseModel):
    id: str
    title: str
    passed: bool
    remediation: str | None
    evidence: str


class Scorecard(BaseModel):
    """A service's maturity scorecard: level 0-4, checks, and how to fix the failing ones."""

    service: str
    team: str
    level: int
    level_name: str
    score: float
    checks: list[ScorecardCheck]
    failing: list[ScorecardCheck]
    evaluate_time: str | None
    # The environment scored (null: the service as it is where it was created).
    environment: str | None = None


class LevelEvidence(BaseModel):
    level: int
    name: str
    evidence: str


class TeamScorecard(BaseModel):
    """Scorecards of a team's (or the platform's) services rolled up: the level with the evidence for each
    level, the pass rate of each check."""

    team: str | None = Field(description="The team; null for the whole platform.")
    level: int
    level_name: str
    average_score: float
    levels: list[LevelEvidence]
    check_pass_rates: dict[str, float]
    services: list[Scorecard]


class TechInsightsCheckResult(BaseModel):
    """One check result in Backstage Tech Insights' shape (``CheckResult`` of the tech-insights-common
    package: ``facts``, ``result``, ``check``)."""

    model_config = ConfigDict(populate_by_name=True)

    facts: dict[str, dict[str, object]]
    result: bool
    check: dict[str, object]


class TechInsightsResults(BaseModel):
    """Every check of one entity, as Tech Insights' ``/checks/run/{namespace}/{kind}/{name}`` answers."""

    entity: str
    results: list[TechInsightsCheckResult]


class PlatformInputBody(BaseModel):
    """A measure only people can give, as an admin records it."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(description="developer-nps: -100 to 100; support-tickets: tickets per month.")
    note: str = Field(default="", max_length=500, description="Where the number comes from.")


class PlatformInput(BaseModel):
    """A recorded platform input with who set it and when."""

    input: str
    value: float
    note: str
    set_by: str
    set_time: str | None


class PlatformInputs(BaseModel):
    inputs: list[PlatformInput]
