"""Protobuf ⇄ domain conversion for forecasts and anomalies."""

from __future__ import annotations

from paved.alerting.v1 import alerting_pb2 as pb

from paved_alerting.anomaly_watch import AnomalyList
from paved_alerting.changes import Cause
from paved_alerting.convert import seconds_of, timestamp
from paved_alerting.forecasting import ForecastQuery, ForecastResult, validate
from paved_alerting.hourly import HOUR


def forecast_query(request: pb.ForecastRequest) -> ForecastQuery:
    return validate(
        request.service,
        request.environment,
        request.metric,
        request.horizon_hours,
        request.confidence,
        request.capacity_per_replica,
        request.min_replicas,
        request.max_replicas,
    )


def forecast_to_proto(found: ForecastResult) -> pb.ForecastResponse:
    result, backtest = found.result, found.backtest
    response = pb.ForecastResponse(
        service=found.query.service,
        metric=found.query.metric,
        points=[
            pb.ForecastPoint(time=timestamp(found.first_hour + HOUR * i), mean=mean, lower=lower, upper=upper)
            for i, (mean, lower, upper) in enumerate(
                zip(result.mean, result.lower, result.upper, strict=True)
            )
        ],
        backtest=pb.Backtest(
            folds=backtest.folds,
            horizon_hours=backtest.horizon,
            mape=backtest.mape,
            mase=backtest.mase,
            naive_mape=backtest.naive_mape,
            naive_mase=backtest.naive_mase,
        ),
        history_hours=found.history_hours,
        period_hours=result.period,
        confidence=found.query.confidence,
    )
    schedule = found.schedule
    if schedule is not None:
        response.scaling.CopyFrom(
            pb.ScalingSchedule(
                mode=schedule.mode,
                reason=schedule.reason,
                capacity_per_replica=schedule.capacity,
                capacity_source=schedule.capacity_source,
                hours=[
                    pb.ScheduledReplicas(time=timestamp(time), min_replicas=count, forecast_upper=upper)
                    for time, count, upper in schedule.hours
                ],
                shadow=[
                    pb.ShadowHour(time=timestamp(time), would_set=count, observed=observed, load=load)
                    for time, count, observed, load in schedule.shadow
                ],
            )
        )
    return response


def _change(cause: Cause) -> pb.Change:
    change = cause.change
    return pb.Change(
        kind=change.kind,
        operation=change.operation,
        time=timestamp(change.time),
        environment=change.environment,
        state=change.state,
        requester=change.requester,
        lead_seconds=cause.lead_seconds,
        template=change.template,
        template_revision=change.template_revision,
    )


def anomalies_to_proto(found: AnomalyList) -> pb.ListAnomaliesResponse:
    return pb.ListAnomaliesResponse(
        anomalies=[
            pb.Anomaly(
                metric=item.metric,
                start_time=timestamp(item.start),
                end_time=timestamp(item.end),
                kind=item.kind,
                score=item.score,
                likely_causes=[_change(cause) for cause in item.causes],
            )
            for item in found.anomalies
        ],
        sensitivity=found.sensitivity,
        causes_unavailable=found.causes_unavailable,
        hours_scored=found.hours,
        skipped=found.skipped,
    )


def optional_time(request: pb.ListAnomaliesRequest, name: str) -> float | None:
    return seconds_of(getattr(request, name)) if request.HasField(name) else None
