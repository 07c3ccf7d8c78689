"""``paved.alerting.v1.AlertingService`` over gRPC: converts requests and delegates to the domain."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeAlias

import grpc.aio
from paved.alerting.v1 import alerting_pb2 as pb
from paved.alerting.v1 import alerting_pb2_grpc
from paved_kit.errors import FailedPrecondition, PreconditionViolation

from paved_alerting.analysis_convert import (
    anomalies_to_proto,
    forecast_query,
    forecast_to_proto,
    optional_time,
)
from paved_alerting.anomaly_watch import AnomalyWatch
from paved_alerting.convert import (
    alert_to_proto,
    draft_from_proto,
    health_to_proto,
    receiver_to_proto,
    rule_to_proto,
    seconds_of,
)
from paved_alerting.engine import AlertingEngine
from paved_alerting.forecasting import Forecaster
from paved_alerting.history_convert import history_to_proto, query_from_proto
from paved_alerting.metric_history import MetricHistory
from paved_alerting.receiver_admin import ReceiverAdmin
from paved_alerting.rule_admin import RuleAdmin
from paved_alerting.samples import IngestResult

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["AlertingService"].full_name
Context: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class AlertingServicer(alerting_pb2_grpc.AlertingServiceServicer):
    """The gRPC face of the engine and the rule and receiver administration."""

    def __init__(
        self,
        engine: AlertingEngine,
        rules: RuleAdmin,
        receivers: ReceiverAdmin,
        history: MetricHistory | None = None,
        forecaster: Forecaster | None = None,
        watch: AnomalyWatch | None = None,
    ) -> None:
        self._engine = engine
        self._rules = rules
        self._receivers = receivers
        self._history = history
        self._forecaster = forecaster
        self._watch = watch

    async def CreateAlertRule(self, request: pb.CreateAlertRuleRequest, context: Context) -> pb.AlertRule:
        stored = await self._rules.create_rule(
            request.alert_rule_id, draft_from_proto(request.alert_rule), request.request_id
        )
        return rule_to_proto(stored)

    async def GetAlertRule(self, request: pb.GetAlertRuleRequest, context: Context) -> pb.AlertRule:
        return rule_to_proto(await self._rules.get_rule(request.name))

    async def ListAlertRules(
        self, request: pb.ListAlertRulesRequest, context: Context
    ) -> pb.ListAlertRulesResponse:
        rules, token = await self._rules.list_rules(request.filter, request.page_size, request.page_token)
        return pb.ListAlertRulesResponse(
            alert_rules=[rule_to_proto(rule) for rule in rules], next_page_token=token
        )

    async def UpdateAlertRule(self, request: pb.UpdateAlertRuleRequest, context: Context) -> pb.AlertRule:
        stored = await self._rules.update_rule(
            request.alert_rule.name,
            draft_from_proto(request.alert_rule),
            list(request.update_mask.paths),
            request.alert_rule.etag,
        )
        return rule_to_proto(stored)

    async def DeleteAlertRule(
        self, request: pb.DeleteAlertRuleRequest, context: Context
    ) -> pb.DeleteAlertRuleResponse:
        await self._rules.delete_rule(request.name)
        return pb.DeleteAlertRuleResponse()

    async def CreateDefaultAlerts(
        self, request: pb.CreateDefaultAlertsRequest, context: Context
    ) -> pb.CreateDefaultAlertsResponse:
        rules, created = await self._rules.create_default_alerts(
            request.service, request.team, request.environment
        )
        return pb.CreateDefaultAlertsResponse(
            alert_rules=[rule_to_proto(rule) for rule in rules], created=created
        )

    async def DeleteServiceAlerts(
        self, request: pb.DeleteServiceAlertsRequest, context: Context
    ) -> pb.DeleteServiceAlertsResponse:
        return pb.DeleteServiceAlertsResponse(
            deleted=await self._rules.delete_service_alerts(request.service, request.environment)
        )

    async def IngestSamples(
        self, request_iterator: AsyncIterator[pb.IngestSamplesRequest], context: Context
    ) -> pb.IngestSamplesResponse:
        result = IngestResult()
        history_skipped = 0
        history_reasons: list[str] = []
        async for request in request_iterator:
            # A sample without a time is taken as observed now.
            samples = list(_tuples(request, self._engine.clock.now()))
            self._engine.ingest(samples, result)
            if self._history is not None:
                admission = await self._history.record(samples)
                history_skipped += admission.skipped
                history_reasons.extend(admission.reasons)
        errors = [*(result.errors or []), *history_reasons][: self._engine.samples.max_errors]
        return pb.IngestSamplesResponse(
            accepted=result.accepted, rejected=result.rejected, errors=errors, history_skipped=history_skipped
        )

    async def QueryMetricHistory(
        self, request: pb.QueryMetricHistoryRequest, context: Context
    ) -> pb.QueryMetricHistoryResponse:
        if self._history is None:
            raise _history_disabled()
        query = query_from_proto(request, self._history)
        result = await self._history.query(query)
        return history_to_proto(result, list(request.quantiles), request.include_histogram)

    async def Forecast(self, request: pb.ForecastRequest, context: Context) -> pb.ForecastResponse:
        query = forecast_query(request)
        if self._forecaster is None:
            raise _history_disabled()
        return forecast_to_proto(await self._forecaster.forecast(query))

    async def ListAnomalies(
        self, request: pb.ListAnomaliesRequest, context: Context
    ) -> pb.ListAnomaliesResponse:
        if self._watch is None:
            raise _history_disabled()
        found = await self._watch.list_anomalies(
            request.service,
            request.environment,
            request.metric,
            optional_time(request, "start_time"),
            optional_time(request, "end_time"),
            request.sensitivity,
        )
        return anomalies_to_proto(found)

    async def EvaluateRules(
        self, request: pb.EvaluateRulesRequest, context: Context
    ) -> pb.EvaluateRulesResponse:
        at = seconds_of(request.time) if request.HasField("time") else None
        # Asked for explicitly: anomaly rules are rescored too, whatever their interval.
        evaluated, transitions = await self._engine.evaluate(at, rescore=True)
        views = [self._engine.view_of(t.rule, t.status) for t in transitions]
        return pb.EvaluateRulesResponse(
            rules_evaluated=evaluated, transitions=[alert_to_proto(view) for view in views]
        )

    async def ListAlerts(self, request: pb.ListAlertsRequest, context: Context) -> pb.ListAlertsResponse:
        alerts, token = await self._engine.list_alerts(request.filter, request.page_size, request.page_token)
        return pb.ListAlertsResponse(alerts=[alert_to_proto(view) for view in alerts], next_page_token=token)

    async def GetServiceHealth(
        self, request: pb.GetServiceHealthRequest, context: Context
    ) -> pb.ServiceHealth:
        return health_to_proto(self._engine.health(request.service, request.environment))

    async def CreateReceiver(self, request: pb.CreateReceiverRequest, context: Context) -> pb.Receiver:
        receiver = request.receiver
        created = await self._receivers.create_receiver(
            request.receiver_id, receiver.team, receiver.url, receiver.send_resolved
        )
        return receiver_to_proto(created)

    async def ListReceivers(
        self, request: pb.ListReceiversRequest, context: Context
    ) -> pb.ListReceiversResponse:
        receivers, token = await self._receivers.list_receivers(request.page_size, request.page_token)
        return pb.ListReceiversResponse(
            receivers=[receiver_to_proto(receiver) for receiver in receivers], next_page_token=token
        )

    async def DeleteReceiver(
        self, request: pb.DeleteReceiverRequest, context: Context
    ) -> pb.DeleteReceiverResponse:
        await self._receivers.delete_receiver(request.name)
        return pb.DeleteReceiverResponse()

    async def ExportRules(self, request: pb.ExportRulesRequest, context: Context) -> pb.ExportRulesResponse:
        content, metrics = self._engine.export(
            request.service, request.format == pb.EXPORT_FORMAT_PROMETHEUS_RULE, request.namespace
        )
        return pb.ExportRulesResponse(content=content, assumed_metrics=metrics)


def _history_disabled() -> FailedPrecondition:
    return FailedPrecondition(
        "metric history is turned off",
        [PreconditionViolation("CONFIGURATION", "PAVED_ALERTING_HISTORY_ENABLED", "set it to true")],
        reason="HISTORY_DISABLED",
    )


def _tuples(request: pb.IngestSamplesRequest, now: float) -> Iterator[tuple[str, str, float, float, str]]:
    for sample in request.samples:
        time = sample.time
        seconds, nanos = time.seconds, time.nanos
        yield (
            sample.service,
            sample.metric,
            sample.value,
            (seconds + nanos / 1e9 if seconds or nanos else now),
            sample.environment,
        )
