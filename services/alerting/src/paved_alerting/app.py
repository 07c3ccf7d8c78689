"""Wiring of the alerting service from its settings: engine, servicer and background loops."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from paved.alerting.v1 import alerting_pb2_grpc
from paved_kit.cancellation import raise_if_cancelling
from paved_kit.db import session_factory
from paved_kit.logging import get_logger
from paved_kit.migrations import prepare_schema
from paved_kit.server import GrpcServer
from sqlalchemy.ext.asyncio import AsyncEngine

from paved_alerting.anomaly_watch import AnomalyWatch
from paved_alerting.catalog_facts import CatalogFacts
from paved_alerting.change_log import ChangeLog
from paved_alerting.clock import Clock
from paved_alerting.delivery import Dispatcher, RetryPolicy
from paved_alerting.engine import AlertingEngine
from paved_alerting.forecasting import Forecaster
from paved_alerting.history import Retention
from paved_alerting.http_client import OnDemandClient
from paved_alerting.metric_history import MetricHistory
from paved_alerting.migrations import MIGRATIONS
from paved_alerting.outbox import NotificationQueue, Notifier
from paved_alerting.prometheus_history import PrometheusHistory
from paved_alerting.prometheus_source import PrometheusSource
from paved_alerting.receiver_admin import ReceiverAdmin
from paved_alerting.rule_admin import RuleAdmin
from paved_alerting.samples import SampleStore
from paved_alerting.scaling_actuator import ScalingActuator, actuate_every
from paved_alerting.servicer import SERVICE_NAME, AlertingServicer
from paved_alerting.settings import AlertingSettings

_log = get_logger(__name__)
# Fields whose values IngestSamples judges itself, sample by sample.
SAMPLE_FIELDS = ("paved.alerting.v1.MetricSample.value", "paved.alerting.v1.MetricSample.time")


@dataclass
class AlertingApp:
    """The running parts of one alerting service."""

    settings: AlertingSettings
    engine: AlertingEngine
    servicer: AlertingServicer
    dispatcher: Dispatcher
    http: OnDemandClient
    facts: CatalogFacts | None = None
    history: MetricHistory | None = None
    changes: ChangeLog | None = None
    actuator: ScalingActuator | None = None
    tasks: list[asyncio.Task[object]] = field(default_factory=list)

    def register(self, server: GrpcServer) -> None:
        """Add the AlertingService to a gRPC server."""
        server.add_servicer(
            alerting_pb2_grpc.add_AlertingServiceServicer_to_server, self.servicer, SERVICE_NAME
        )
        # IngestSamples rejects bad samples one by one (counted and explained) and keeps the rest.
        server.leave_to_handlers(*SAMPLE_FIELDS)

    def start_background(self) -> list[asyncio.Task[object]]:
        """Start notification delivery and, when an interval is set, periodic evaluation."""
        self.tasks.append(asyncio.create_task(self.dispatcher.run(), name="alerting-delivery"))
        interval = self.settings.evaluation_interval_seconds
        if interval > 0:
            self.tasks.append(
                asyncio.create_task(evaluate_every(self.engine, interval), name="alerting-evaluation")
            )
        prune = self.settings.history_prune_interval_seconds
        if self.history is not None and prune > 0:
            self.tasks.append(asyncio.create_task(prune_every(self.history, prune), name="history-prune"))
        if self.actuator is not None:
            self.tasks.append(
                asyncio.create_task(
                    actuate_every(self.actuator, self.settings.scaling_actuation_interval_seconds),
                    name="predictive-scaling",
                )
            )
        return self.tasks

    async def close(self) -> None:
        """Stop the loops and close the HTTP client."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        if self.facts is not None:
            await self.facts.close()
        if self.changes is not None:
            await self.changes.close()
        if self.actuator is not None:
            await self.actuator.close()
        await self.http.aclose()


async def build_app(settings: AlertingSettings, database: AsyncEngine, clock: Clock) -> AlertingApp:
    """Prepare the schema, load rules and alert states, and assemble the service."""
    await prepare_schema(database, MIGRATIONS, migrate=settings.migrate_on_start)
    sessions = session_factory(database)
    http = OnDemandClient(timeout=settings.notification_timeout_seconds, follow_redirects=False)
    dispatcher = Dispatcher(
        sessions,
        http,
        RetryPolicy(settings.retry_initial_seconds, settings.retry_max_seconds, settings.retry_max_attempts),
        poll_seconds=settings.notification_poll_seconds,
        # Longer than one send can take, so a claimed notification is only retried if its sender died.
        lease_seconds=2 * settings.notification_timeout_seconds + 5,
    )
    default_webhook = (
        settings.default_webhook_url.get_secret_value() if settings.default_webhook_url else None
    )
    notifier = Notifier(
        settings.external_url,
        settings.alertmanager_url,
        default_webhook,
        settings.alertmanager_resend_seconds,
    )
    engine = AlertingEngine(
        sessions,
        clock,
        SampleStore(settings.sample_window, settings.lookback_seconds, max_series=settings.max_series),
        NotificationQueue(notifier, dispatcher),
        prometheus=PrometheusSource(settings.prometheus_url, http) if settings.prometheus_url else None,
    )
    await engine.load()
    facts = CatalogFacts(settings)
    changes = ChangeLog(settings)
    history = (
        MetricHistory(
            sessions,
            clock,
            Retention(settings.history_fine_days * 86400, settings.history_coarse_days * 86400),
            prometheus=PrometheusHistory(settings.prometheus_url, http) if settings.prometheus_url else None,
        )
        if settings.history_enabled
        else None
    )
    forecaster = watch = None
    if history is not None:
        forecaster = Forecaster(
            history,
            clock,
            history_days=settings.anomaly_history_days,
            mape_threshold=settings.scaling_mape_threshold,
        )
        watch = AnomalyWatch(
            history,
            engine.evaluator,
            clock,
            changes,
            interval=settings.anomaly_interval_seconds,
            history_days=settings.anomaly_history_days,
            cause_window=settings.cause_window_seconds,
        )
        engine.watch = watch
    servicer = AlertingServicer(
        engine, RuleAdmin(sessions, engine, facts), ReceiverAdmin(sessions, clock), history, forecaster, watch
    )
    actuator = (
        ScalingActuator(settings, clock, forecaster)
        if forecaster is not None and settings.provisioning_address and settings.scaling_actuation_services
        else None
    )
    return AlertingApp(settings, engine, servicer, dispatcher, http, facts, history, changes, actuator)


async def prune_every(history: MetricHistory, interval: float) -> None:
    """Delete expired history buckets every ``interval`` seconds until cancelled; failures are logged."""
    while True:
        try:
            await history.prune()
        except Exception:
            raise_if_cancelling()
            _log.exception("metric history pruning failed")
        await asyncio.sleep(interval)


async def evaluate_every(engine: AlertingEngine, interval: float) -> None:
    """Evaluate the rules every ``interval`` seconds until cancelled; a failed cycle is logged, not fatal."""
    loop = asyncio.get_running_loop()
    # Ticks at a fixed rate, as Prometheus evaluates rule groups: a slow cycle does not shift the next.
    next_tick = loop.time() + interval
    while True:
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
        next_tick = max(next_tick + interval, loop.time())
        try:
            await engine.evaluate()
        except Exception:
            raise_if_cancelling()
            _log.exception("rule evaluation failed")
