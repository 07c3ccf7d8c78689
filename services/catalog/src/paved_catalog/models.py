"""The catalog's tables: templates and their revisions, built-in seeding records, registered services,
the platform's environments and each service's environments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paved_kit.db import new_registry
from sqlalchemy import JSON, Column, DateTime, Dialect, Index, Integer, LargeBinary, String, Text
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Field, SQLModel


class JsonDocument(TypeDecorator[Any]):
    """JSON, stored as JSONB on PostgreSQL."""

    impl = JSON
    cache_ok = True
    hashable = False  # as JSON: dicts and lists are not hashable

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # Imported on first use: the package loads every PostgreSQL driver, which SQLite never needs.
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


_JSON = JsonDocument()


class CatalogModel(SQLModel, registry=new_registry()):
    """Base of the catalog's tables (its own MetaData, apart from other services')."""


class TemplateRow(CatalogModel, table=True):
    """A ServiceTemplate; ``document`` is the source of truth, the rest is derived or bookkeeping."""

    __tablename__ = "catalog_templates"

    name: str = Field(primary_key=True, max_length=63)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    document: str = Field(sa_column=Column(Text, nullable=False))
    revision: int = 1
    etag: str = Field(max_length=64)
    builtin: bool = False
    request_id: str | None = Field(default=None, max_length=128, unique=True)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TemplateRevisionRow(CatalogModel, table=True):
    """One immutable revision of a template: the document as it was, who wrote it, when and why."""

    __tablename__ = "catalog_template_revisions"

    template: str = Field(primary_key=True, max_length=63)
    revision: int = Field(primary_key=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    # sha256 of the document's text, hex: equal documents have equal digests across templates.
    digest: str = Field(max_length=64)
    author: str = Field(default="", max_length=255)
    change_note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class BuiltinSeedRow(CatalogModel, table=True):
    """A built-in template loaded once; deleting it later does not bring it back on restart."""

    __tablename__ = "catalog_builtin_seeds"

    name: str = Field(primary_key=True, max_length=63)
    seed_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ServiceRow(CatalogModel, table=True):
    """A service in the registry; ``name`` is the bare id of ``services/{id}``."""

    __tablename__ = "catalog_services"
    # Keyset paging reads (filter column, name) in order: each index serves one filter straight off.
    __table_args__ = (
        Index("ix_catalog_services_team_name", "team", "name"),
        Index("ix_catalog_services_state_name", "state", "name"),
        Index("ix_catalog_services_template_name", "template", "name"),
        Index("ix_catalog_services_environment_name", "environment", "name"),
    )

    name: str = Field(primary_key=True, max_length=63)
    uid: str = Field(max_length=36, unique=True)
    team: str = Field(max_length=63)
    template: str = Field(max_length=63)
    template_revision: int = 0
    environment: str = Field(max_length=63)
    state: str = Field(max_length=16)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    endpoints: list[str] = Field(default_factory=list, sa_column=Column(_JSON, nullable=False))
    dashboards: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(_JSON, nullable=False))
    documentation_url: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    # The paved.common.v1.Plan in its binary encoding: parsing it back is ~50x faster than from JSON.
    plan: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Resource names, types and properties of the plan (no manifests), for scorecards.
    plan_summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    database_engine: str = Field(default="", max_length=32)
    namespace: str = Field(default="", max_length=63)
    annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    etag: str = Field(max_length=64)
    request_id: str | None = Field(default=None, max_length=128, unique=True)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ServiceFactRow(CatalogModel, table=True):
    """Facts one source (provisioning, alerting, policy, cost) reported about a service, merged by key."""

    __tablename__ = "catalog_service_facts"

    service: str = Field(primary_key=True, max_length=63)
    source: str = Field(primary_key=True, max_length=32)
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class EnvironmentRow(CatalogModel, table=True):
    """One environment of the platform's promotion path and the settings services get there."""

    __tablename__ = "catalog_environments"

    name: str = Field(primary_key=True, max_length=63)
    position: int = Field(unique=True)
    namespace: str = Field(default="", max_length=63)
    region: str = Field(default="", max_length=63)
    replicas_floor: int = 0
    approval_required: bool = False
    soak_seconds: int = 0
    approval_timeout_seconds: int = 86400
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    etag: str = Field(max_length=64)
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ServiceEnvironmentRow(CatalogModel, table=True):
    """A service in one environment (``services/{service}/environments/{environment}``): what runs there."""

    __tablename__ = "catalog_service_environments"
    __table_args__ = (Index("ix_catalog_service_environments_environment", "environment", "service"),)

    service: str = Field(primary_key=True, max_length=63)
    environment: str = Field(primary_key=True, max_length=63)
    state: str = Field(max_length=16)
    parameter_overrides: dict[str, Any] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    plan: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The template revision the plan was rendered from.
    template_revision: int = 1
    # A pin holding it at a template revision (0: none) until pin_expire_time; fleet upgrades skip it.
    pin_revision: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    pin_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    pin_expire_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    pinned_by: str = Field(default="", sa_column=Column(String(255), nullable=False, server_default=""))
    pin_create_time: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    version: str = Field(default="", max_length=128)
    image: str = Field(default="", max_length=255)
    namespace: str = Field(default="", max_length=63)
    endpoints: list[str] = Field(default_factory=list, sa_column=Column(_JSON, nullable=False))
    annotations: dict[str, str] = Field(default_factory=dict, sa_column=Column(_JSON, nullable=False))
    etag: str = Field(max_length=64)
    # Idempotency key of the registration that added this environment (AIP-155 replays).
    request_id: str | None = Field(default=None, max_length=128)
    create_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    update_time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
