"""Builds the cost service from settings: the domain objects and the servicer, ready to register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc.aio
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved_kit.client import LazyChannel, channel_from_settings
from paved_kit.db import session_factory
from paved_kit.migrations import prepare_schema
from paved_kit.server import GrpcServer
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_cost.analysis import CostAnalysis
from paved_cost.anomaly_report import CostAnomalies
from paved_cost.attribution import Attribution
from paved_cost.catalog_facts import CatalogFacts
from paved_cost.history_client import AlertingHistory
from paved_cost.ingest import BillingImporter
from paved_cost.migrations import MIGRATIONS
from paved_cost.optimizer import Optimizer
from paved_cost.outcomes import Outcomes
from paved_cost.prices import load_catalog
from paved_cost.provisioning_client import GrpcProvisioning
from paved_cost.rightsizer import Rightsizer
from paved_cost.servicer import CostServicer
from paved_cost.settings import CostSettings
from paved_cost.tracking import Tracking

SERVICE_NAME = cost_pb2.DESCRIPTOR.services_by_name["CostService"].full_name


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CostApp:
    servicer: CostServicer
    channel: grpc.aio.Channel | None
    facts: CatalogFacts | None = None
    alerting: LazyChannel | None = None

    async def close(self) -> None:
        if self.facts is not None:
            await self.facts.close()
        if self.alerting is not None:
            await self.alerting.close()
        if self.channel is not None:
            await self.channel.close()


async def build_app(
    settings: CostSettings, engine: AsyncEngine, clock: Callable[[], datetime] = utc_now
) -> CostApp:
    """Prepare the schema and wire everything; ``clock`` is injectable so tests control "now"."""
    await prepare_schema(engine, MIGRATIONS, migrate=settings.migrate_on_start)
    catalog = load_catalog(settings.price_catalog_file)
    sessions = session_factory(engine)
    attribution = Attribution(tuple(settings.service_tag_keys), tuple(settings.team_tag_keys))
    analysis = CostAnalysis(sessions, settings, catalog, clock)
    channel = (
        channel_from_settings(settings.provisioning_address, settings)
        if settings.provisioning_address
        else None
    )
    facts = CatalogFacts(settings, analysis)
    optimizer = Optimizer(analysis, sessions, GrpcProvisioning(channel) if channel else None, clock)
    alerting = LazyChannel(settings.alerting_address, settings) if settings.alerting_address else None
    rightsizer = Rightsizer(
        sessions,
        AlertingHistory(alerting, settings.alerting_timeout_seconds),
        catalog,
        catalog.currency,
        clock,
    )
    servicer = CostServicer(
        catalog=catalog,
        importer=BillingImporter(
            sessions,
            attribution,
            currency=settings.currency,
            batch_rows=settings.import_batch_rows,
            clock=clock,
            parse_in_database=settings.import_parse_in_database,
        ),
        tracking=Tracking(sessions, settings.currency, clock),
        analysis=analysis,
        optimizer=optimizer,
        clock=clock,
        facts=facts,
        anomalies=CostAnomalies(sessions, clock, settings.currency),
        rightsizer=rightsizer,
        outcomes=Outcomes(sessions, settings.currency, clock),
    )
    return CostApp(servicer, channel, facts, alerting)


def register(server: GrpcServer, app: CostApp) -> None:
    server.add_servicer(cost_pb2_grpc.add_CostServiceServicer_to_server, app.servicer, SERVICE_NAME)
