"""Bodies of the drift routes: which services are behind a template revision, what moving them changes,
and which were edited by hand since Paved's last commit."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ChangeName = Literal["added", "changed", "removed"]


class FieldChange(BaseModel):
    """One field of an object; ``before`` is absent when added, ``after`` when removed."""

    path: str = Field(description="JSON pointer (RFC 6901) inside the object.")
    change: ChangeName
    before: Any = None
    after: Any = None


class ObjectChange(BaseModel):
    """One object (Kubernetes object, Terraform block, spec, file) added, removed or changed."""

    key: str = Field(description="`Kind/namespace/name`, or `resource#index` for objects without a kind.")
    kind: str
    name: str
    resource: str = Field(description="The plan resource (or, for hand edits, the file) it belongs to.")
    change: ChangeName
    fields: list[FieldChange] = Field(default_factory=list)


class ChangeCounts(BaseModel):
    added: int = 0
    changed: int = 0
    removed: int = 0


class HandEdits(BaseModel):
    """What differs between Paved's last commit of the service's files and the files now."""

    path: str = Field(description="The service environment's directory in the GitOps repository.")
    paved_commit: str = Field(description="Paved's last commit of the files.")
    last_commit: str = Field(description="The commit that last changed them.")
    files: list[str]
    changes: list[ObjectChange] = Field(description="Paved's last render before, the files now after.")


class Pin(BaseModel):
    """A hold at a template revision: fleet upgrades skip the environment until ``expires_at``."""

    revision: int
    reason: str
    expires_at: str = Field(description="RFC 3339.")
    pinned_by: str
    pinned_at: str | None = Field(default=None, description="RFC 3339.")


class ServiceDrift(BaseModel):
    """One service environment: the revision it is on and what moving it to the compared one changes."""

    service: str
    environment: str
    team: str
    revision: int = Field(description="The template revision its manifests were rendered from.")
    revisions_behind: int = Field(description="Compared revision minus `revision` (negative: ahead).")
    counts: ChangeCounts
    changes: list[ObjectChange]
    problem: str | None = Field(default=None, description="Why no diff could be rendered, if none could.")
    hand_edited: bool = Field(description="Its GitOps files were changed since Paved's last commit.")
    hand_edits: HandEdits | None = None
    pin: Pin | None = Field(default=None, description="Its pin, while one holds (upgrades skip it).")


class TemplateDrift(BaseModel):
    """The services of a template that are not on the compared revision."""

    template: str
    revision: int = Field(description="The revision compared with (the latest unless asked).")
    latest_revision: int
    current_count: int = Field(description="Service environments already on the revision.")
    behind_count: int
    hand_edited_count: int
    pinned_count: int
    services: list[ServiceDrift]


class ServiceDriftReport(BaseModel):
    """Every environment of one service against a revision of its template."""

    service: str
    template: str
    revision: int
    latest_revision: int
    environments: list[ServiceDrift]
