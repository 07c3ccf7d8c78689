"""``python -m paved_catalog``: the catalog service with its settings from ``PAVED_CATALOG_*``."""

from __future__ import annotations

from paved_kit.db import session_factory
from paved_kit.migrations import prepare_schema
from paved_kit.server import GrpcServer
from paved_kit.service import run_service
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_catalog.backstage import ExportLinks
from paved_catalog.catalog import Catalog
from paved_catalog.migrations import MIGRATIONS
from paved_catalog.registration import add_catalog_servicer_to_server
from paved_catalog.servicer import SERVICE_NAME, CatalogServicer
from paved_catalog.settings import CatalogSettings


def build_catalog(settings: CatalogSettings, engine: AsyncEngine) -> Catalog:
    """The catalog's use cases over ``engine``, configured from ``settings``."""
    links = ExportLinks(
        location_url=settings.backstage_location_url,
        source_url=settings.source_url,
        template_owner=settings.template_owner,
        proxy_path=settings.gateway_proxy_path,
    )
    reads = session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))
    return Catalog.create(session_factory(engine), settings.platform_defaults(), links, read_sessions=reads)


async def build(settings: CatalogSettings, engine: AsyncEngine, server: GrpcServer) -> None:
    """Prepare the schema, load the golden paths on first start and register the servicer."""
    await prepare_schema(engine, MIGRATIONS, migrate=settings.migrate_on_start)
    catalog = build_catalog(settings, engine)
    if settings.load_builtin_templates:
        await catalog.templates.seed_builtins()
    server.add_servicer(add_catalog_servicer_to_server, CatalogServicer(catalog), SERVICE_NAME)


def main() -> None:
    run_service("catalog", CatalogSettings, build, migrations=MIGRATIONS)


if __name__ == "__main__":
    main()
