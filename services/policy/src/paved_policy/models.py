"""Tables of the policy service: policies (with every revision kept), exceptions, and the decision log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paved_kit.db import new_registry
from sqlalchemy import JSON, Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class PolicyModel(SQLModel, registry=new_registry()):
    """Base of the policy service's tables (its own MetaData)."""


def _ts(*, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=False, index=index))


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class PolicyRow(PolicyModel, table=True):
    """The current revision of a policy."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("request_id", name="uq_policies_request_id"),)

    policy_id: str = Field(primary_key=True)
    description: str = ""
    severity: str
    enforcement_level: str
    resource_types: list[str] = _json(list)
    teams: list[str] = _json(list)
    environments: list[str] = _json(list)
    # Environment id → enforcement level there (overrides enforcement_level).
    environment_levels: dict[str, str] = _json(dict)
    expression: str = Field(sa_column=Column(Text, nullable=False))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    parameters: dict[str, Any] = _json(dict)
    enabled: bool = True
    builtin: bool = False
    revision: int = 1
    request_id: str | None = None
    create_time: datetime = _ts()
    update_time: datetime = _ts()


class PolicyRevisionRow(PolicyModel, table=True):
    """Every revision a policy ever had, so a recorded decision can be traced to the exact rule."""

    __tablename__ = "policy_revisions"

    policy_id: str = Field(primary_key=True)
    revision: int = Field(primary_key=True)
    snapshot: dict[str, Any] = _json(dict)
    create_time: datetime = _ts()


class ExceptionRow(PolicyModel, table=True):
    """A waiver of one policy for matching resources until it expires."""

    __tablename__ = "policy_exceptions"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_policy_exceptions_request_id"),
        Index("ix_policy_exceptions_policy_expire", "policy_id", "expire_time"),
    )

    exception_id: str = Field(primary_key=True)
    policy_id: str
    resource_pattern: str = ""
    team: str = ""
    approved_by: str
    reason: str = Field(sa_column=Column(Text, nullable=False))
    expire_time: datetime = _ts()
    request_id: str | None = None
    create_time: datetime = _ts()


class DecisionRow(PolicyModel, table=True):
    """One evaluation's decision and evidence: the audit log. Ids sort by time (newest = greatest)."""

    __tablename__ = "decisions"

    decision_id: str = Field(primary_key=True)
    outcome: str = Field(index=True)
    inputs_digest: str = Field(index=True)
    policy_revisions: dict[str, int] = _json(dict)
    override_approved_by: str | None = None
    override_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    override_applied: bool = False
    requester: str = Field(default="", index=True)
    team: str = Field(default="", index=True)
    environment: str = Field(default="", index=True)
    service: str = Field(default="", index=True)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    results: list[dict[str, Any]] = _json(list)
    create_time: datetime = _ts(index=True)
