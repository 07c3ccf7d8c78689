"""Protobuf ⇄ domain conversion for the metric history RPC."""

from __future__ import annotations

from google.protobuf import duration_pb2
from paved.alerting.v1 import alerting_pb2 as pb
from paved_kit.errors import FieldViolation, InvalidArgument

from paved_alerting import sketch
from paved_alerting.convert import seconds_of, timestamp
from paved_alerting.history import HistoryQuery
from paved_alerting.metric_history import HistoryResult, MetricHistory


def query_from_proto(request: pb.QueryMetricHistoryRequest, history: MetricHistory) -> HistoryQuery:
    """The validated query of a request (every bad field reported at once)."""
    quantile_violations = [
        FieldViolation(f"quantiles[{index}]", "must be between 0 and 1")
        for index, q in enumerate(request.quantiles)
        if not 0 <= q <= 1
    ]
    step = request.step.seconds if request.HasField("step") else None
    if request.HasField("step") and (request.step.nanos or request.step.seconds <= 0):
        quantile_violations.append(FieldViolation("step", "a positive whole number of seconds"))
    try:
        query = history.validate(
            request.service,
            request.environment,
            request.metric,
            seconds_of(request.start_time) if request.HasField("start_time") else None,
            seconds_of(request.end_time) if request.HasField("end_time") else None,
            step or None,
        )
    except InvalidArgument as err:
        raise InvalidArgument(err.message, [*err.field_violations, *quantile_violations]) from None
    if quantile_violations:
        raise InvalidArgument("history query is invalid", quantile_violations)
    return query


def history_to_proto(
    result: HistoryResult, quantiles: list[float], include_histogram: bool
) -> pb.QueryMetricHistoryResponse:
    """The response of a query."""
    points = []
    for point in result.points:
        bucket = point.bucket
        message = pb.HistoryPoint(
            time=timestamp(point.start),
            count=bucket.count,
            sum=bucket.total,
            min=bucket.minimum,
            max=bucket.maximum,
            mean=bucket.mean,
            quantile_values=[sketch.quantile(bucket.sketch, q) or 0.0 for q in quantiles],
        )
        if include_histogram:
            for index in sorted(bucket.sketch):
                lower, upper = sketch.bucket_bounds(index)
                message.buckets.add(lower=lower, upper=upper, count=bucket.sketch[index])
        points.append(message)
    return pb.QueryMetricHistoryResponse(
        source=result.source, step=duration_pb2.Duration(seconds=result.query.step), points=points
    )
