"""The catalog's use cases, as one object the servicer and the entry point hand around."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_catalog.backstage import ExportLinks
from paved_catalog.conflicts import utc_now
from paved_catalog.environment_registry import EnvironmentRegistry
from paved_catalog.platform_view import PlatformView
from paved_catalog.render_context import PlatformDefaults
from paved_catalog.service_registry import ServiceRegistry
from paved_catalog.template_drift import TemplateDriftReader
from paved_catalog.template_library import TemplateLibrary
from paved_catalog.template_pins import TemplatePins


@dataclass(frozen=True)
class Catalog:
    """Templates, the service registry and the platform view over one database."""

    templates: TemplateLibrary
    registry: ServiceRegistry
    platform: PlatformView
    environments: EnvironmentRegistry
    drift: TemplateDriftReader
    pins: TemplatePins

    @classmethod
    def create(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        defaults: PlatformDefaults,
        links: ExportLinks,
        *,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> Catalog:
        templates = TemplateLibrary(sessions, defaults, links, clock, read_sessions)
        return cls(
            templates,
            ServiceRegistry(sessions, links, clock, read_sessions),
            PlatformView(sessions, clock),
            EnvironmentRegistry(sessions, clock, read_sessions),
            TemplateDriftReader(read_sessions or sessions, templates, clock),
            TemplatePins(sessions, templates, clock),
        )
