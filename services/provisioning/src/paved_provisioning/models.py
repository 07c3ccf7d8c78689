"""Tables of the provisioning service: quotas, provisioned services, operations, steps and deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paved_kit.db import new_registry
from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProvisioningModel(SQLModel, registry=new_registry()):
    """Base of the provisioning service's tables (its own MetaData)."""


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


class TeamQuota(ProvisioningModel, table=True):
    """A team's quota row; also the row locked to make quota checks and creations atomic."""

    __tablename__ = "team_quotas"

    team: str = Field(primary_key=True)
    max_services: int | None = None
    max_instances: int | None = None
    max_monthly_cost: float | None = None
    overridden: bool = False
    # Bumped by every reservation: on SQLite the write takes the database's write lock first thing.
    version: int = 0


class ProvisionedService(ProvisioningModel, table=True):
    """A service provisioned in one environment: what it uses of its team's quota and its current plan
    there. A service in three environments has three rows."""

    __tablename__ = "provisioned_services"

    name: str = Field(primary_key=True)
    team: str = Field(index=True)
    environment: str = Field(primary_key=True)
    state: str = "provisioning"  # provisioning, active, failed, deprovisioning, deleted
    instances: int = 0
    monthly_cost: float = 0.0
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    image: str = ""
    version: str = ""
    operation_id: str = ""
    create_time: datetime | None = _ts()
    update_time: datetime | None = _ts()


class Operation(ProvisioningModel, table=True):
    """A long-running operation and its lease."""

    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("request_key", name="uq_operations_request_key"),
        Index("ix_operations_claim", "done", "lease_expires_at"),
    )

    id: str = Field(primary_key=True)
    kind: str
    service: str = Field(index=True)
    team: str = ""
    environment: str = ""
    requester: str = ""
    request_key: str | None = None
    state: str = "pending"  # pending, running, compensating, succeeded, failed, cancelled
    done: bool = False
    cancel_requested: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_code: int = 0
    error_message: str = ""
    lease_owner: str | None = None
    lease_expires_at: datetime | None = _ts()
    create_time: datetime | None = _ts()
    update_time: datetime | None = _ts()
    end_time: datetime | None = _ts()


class OperationStep(ProvisioningModel, table=True):
    """One recorded step of an operation."""

    __tablename__ = "operation_steps"

    operation_id: str = Field(primary_key=True, foreign_key="operations.id")
    position: int = Field(primary_key=True)
    name: str
    state: str = "pending"  # pending, running, succeeded, failed, skipped, compensated, cancelled
    attempts: int = 0
    error: str = ""
    detail: str = ""
    output: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    start_time: datetime | None = _ts()
    end_time: datetime | None = _ts()


class Deployment(ProvisioningModel, table=True):
    """A deployment of a service to an environment, with the plan it deployed (for rollback)."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_service_env", "service", "environment"),)

    id: str = Field(primary_key=True)
    # Microseconds since the epoch: orders deployments newest first without relying on clock ties.
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))
    service: str
    environment: str
    version: str = ""
    image: str = ""
    commit: str = ""
    status: str = "in_progress"  # in_progress, succeeded, failed, rolled_back
    requester: str = ""
    workflow: str = ""
    operation_id: str = ""
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    start_time: datetime | None = _ts()
    end_time: datetime | None = _ts()
