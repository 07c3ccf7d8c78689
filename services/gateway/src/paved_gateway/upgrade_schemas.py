"""Bodies of the fleet upgrade routes: the request, the plan (what a dry run answers and a real run starts
with) and the report of a running or finished upgrade."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from paved_gateway.drift_schemas import ChangeCounts, ObjectChange
from paved_gateway.schemas import DNS_LABEL

Label = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
WaveSize = int | Annotated[str, StringConstraints(max_length=8)]


class Selector(BaseModel):
    """Which of the template's services to upgrade; each given list narrows (all of them must match)."""

    model_config = ConfigDict(extra="forbid")

    teams: list[Label] | None = Field(default=None, max_length=100)
    environments: list[Label] | None = Field(default=None, max_length=20)
    services: list[Label] | None = Field(default=None, max_length=5000)


class UpgradeRequest(BaseModel):
    """Move the template's services to ``to_revision`` (default: the latest) in waves."""

    model_config = ConfigDict(extra="forbid")

    to_revision: int | None = Field(default=None, ge=1, le=2**31 - 1)
    waves: list[WaveSize] | None = Field(
        default=None,
        description="Wave sizes: a count, a share such as '10%', or 'rest' last. Default 1, 10%, rest.",
    )
    selector: Selector | None = None
    dry_run: bool = False
    failure_budget: int = Field(default=0, ge=0, le=5000, description="Failures tolerated before halting.")
    bake_seconds: int = Field(
        default=0, ge=0, le=3600, description="How long each wave bakes before its alerts are read."
    )
    allow_downgrade: bool = Field(default=False, description="Allow moving services to an older revision.")


class PlannedTarget(BaseModel):
    service: str
    environment: str
    team: str
    from_revision: int
    counts: ChangeCounts
    changes: list[ObjectChange]
    monthly_cost_before: float
    monthly_cost_after: float
    monthly_cost_delta: float
    policy: str = Field(description="The policy decision on the new plan: ALLOW or ALLOW_WITH_WARNINGS.")


class SkippedTarget(BaseModel):
    service: str
    environment: str
    reason: str = Field(description="hand_edited, pinned, policy or render.")
    detail: str


class UpgradePlan(BaseModel):
    """What the upgrade does: the waves in order, what it skips and why, and the monthly cost delta."""

    template: str
    to_revision: int
    latest_revision: int
    dry_run: bool
    operation: str | None = Field(default=None, description="The started operation (none on a dry run).")
    id: str | None = None
    waves: list[list[PlannedTarget]]
    skipped: list[SkippedTarget]
    target_count: int
    monthly_cost_delta: float
    currency: str
    failure_budget: int
    bake_seconds: int


class ReportEntry(BaseModel):
    service: str
    environment: str
    wave: int | None = None
    commit: str | None = None
    reason: str | None = None


class WaveReport(BaseModel):
    wave: int
    state: str
    detail: str
    targets: int
    upgraded: int
    failed: int


class UpgradeReport(BaseModel):
    """Where an upgrade (or its rollback) is: each wave's state, and the services upgraded, skipped and
    failed with reasons."""

    id: str
    operation: str
    kind: str
    template: str
    to_revision: int
    state: str
    done: bool
    error: str | None
    waves: list[WaveReport]
    upgraded: list[ReportEntry]
    restored: list[ReportEntry]
    failed: list[ReportEntry]
    skipped: list[ReportEntry]
