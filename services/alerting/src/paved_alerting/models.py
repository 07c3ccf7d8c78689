"""The alerting service's tables: rules, alert states, receivers and the notification outbox.

Times are seconds since the epoch (float), the unit the evaluator works in.
"""

from __future__ import annotations

from typing import Any

from paved_kit.db import new_registry
from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel


class AlertingModel(SQLModel, registry=new_registry()):
    """Base of the alerting service's tables (its own MetaData)."""


class AlertRuleRow(AlertingModel, table=True):
    """An alert rule."""

    __tablename__ = "alert_rules"
    __table_args__ = (Index("ix_alert_rules_service_environment", "service", "environment"),)

    rule_id: str = Field(primary_key=True, max_length=100)
    service: str = Field(index=True, max_length=63)
    environment: str = Field(default="development", max_length=63)
    team: str = Field(index=True, max_length=63)
    display_name: str = Field(max_length=100)
    metric: str = Field(max_length=63)
    operator: str = Field(max_length=2)
    threshold: float
    for_ms: int
    severity: str = Field(max_length=16)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = True
    default_rule: bool = False
    kind: str = Field(default="threshold", max_length=16)  # threshold or anomaly
    sensitivity: str = Field(default="", max_length=16)  # anomaly rules: low, medium or high
    etag: str = Field(max_length=64)
    request_id: str | None = Field(default=None, unique=True, max_length=100)
    create_time: float
    update_time: float


class AlertRow(AlertingModel, table=True):
    """The persisted state of a rule's alert (one per rule)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_service_environment", "service", "environment"),)

    rule_id: str = Field(primary_key=True, max_length=100)
    service: str = Field(index=True, max_length=63)
    environment: str = Field(default="development", max_length=63)
    team: str = Field(index=True, max_length=63)
    severity: str = Field(index=True, max_length=16)
    state: str = Field(index=True, max_length=16)
    display_name: str = Field(max_length=100)
    value: float | None = None
    active_at: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    fingerprint: str = Field(max_length=16)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReceiverRow(AlertingModel, table=True):
    """A webhook receiver; ``team`` empty means a default receiver."""

    __tablename__ = "receivers"

    receiver_id: str = Field(primary_key=True, max_length=63)
    team: str = Field(default="", index=True, max_length=63)
    url: str = Field(sa_column=Column(Text, nullable=False))
    send_resolved: bool = True
    create_time: float


class OutboxRow(AlertingModel, table=True):
    """A notification to deliver; written in the transaction that records the alert state it reports."""

    __tablename__ = "notification_outbox"

    id: int | None = Field(default=None, primary_key=True)
    receiver: str = Field(max_length=63)
    kind: str = Field(max_length=16)  # "webhook" or "alertmanager"
    # Notifications with the same key are delivered in order (receiver and alert fingerprint).
    ordering_key: str = Field(index=True, max_length=100)
    url: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))
    attempts: int = 0
    next_attempt_at: float = Field(index=True)
    last_error: str | None = Field(default=None, max_length=500)
    dead: bool = Field(default=False, index=True)
    create_time: float


class MetricSeriesRow(AlertingModel, table=True):
    """A series of the metric history and the time of its newest sample (samples arrive in order)."""

    __tablename__ = "metric_series"

    service: str = Field(primary_key=True, max_length=63)
    environment: str = Field(default="", primary_key=True, max_length=63)
    metric: str = Field(primary_key=True, max_length=63)
    newest_time: float


class MetricRollupRow(AlertingModel, table=True):
    """One bucket of a series' history: count, sum, min, max and a percentile sketch."""

    __tablename__ = "metric_rollups"

    service: str = Field(primary_key=True, max_length=63)
    environment: str = Field(default="", primary_key=True, max_length=63)
    metric: str = Field(primary_key=True, max_length=63)
    resolution: int = Field(primary_key=True)  # seconds per bucket
    bucket_start: int = Field(primary_key=True)  # seconds since the epoch
    count: int
    total: float
    minimum: float
    maximum: float
    sketch: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
