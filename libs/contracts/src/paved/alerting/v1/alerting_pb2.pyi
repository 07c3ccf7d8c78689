import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SEVERITY_UNSPECIFIED: _ClassVar[Severity]
    SEVERITY_CRITICAL: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]

class Operator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OPERATOR_UNSPECIFIED: _ClassVar[Operator]
    OPERATOR_GREATER_THAN: _ClassVar[Operator]
    OPERATOR_GREATER_THAN_OR_EQUAL: _ClassVar[Operator]
    OPERATOR_LESS_THAN: _ClassVar[Operator]
    OPERATOR_LESS_THAN_OR_EQUAL: _ClassVar[Operator]
    OPERATOR_EQUAL: _ClassVar[Operator]
    OPERATOR_NOT_EQUAL: _ClassVar[Operator]

class RuleKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RULE_KIND_UNSPECIFIED: _ClassVar[RuleKind]
    RULE_KIND_THRESHOLD: _ClassVar[RuleKind]
    RULE_KIND_ANOMALY: _ClassVar[RuleKind]

class AlertState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_STATE_UNSPECIFIED: _ClassVar[AlertState]
    ALERT_STATE_INACTIVE: _ClassVar[AlertState]
    ALERT_STATE_PENDING: _ClassVar[AlertState]
    ALERT_STATE_FIRING: _ClassVar[AlertState]
    ALERT_STATE_RESOLVED: _ClassVar[AlertState]

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNSPECIFIED: _ClassVar[HealthStatus]
    HEALTH_STATUS_HEALTHY: _ClassVar[HealthStatus]
    HEALTH_STATUS_DEGRADED: _ClassVar[HealthStatus]
    HEALTH_STATUS_DOWN: _ClassVar[HealthStatus]
    HEALTH_STATUS_UNKNOWN: _ClassVar[HealthStatus]

class ExportFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPORT_FORMAT_UNSPECIFIED: _ClassVar[ExportFormat]
    EXPORT_FORMAT_RULE_FILE: _ClassVar[ExportFormat]
    EXPORT_FORMAT_PROMETHEUS_RULE: _ClassVar[ExportFormat]
SEVERITY_UNSPECIFIED: Severity
SEVERITY_CRITICAL: Severity
SEVERITY_WARNING: Severity
SEVERITY_INFO: Severity
OPERATOR_UNSPECIFIED: Operator
OPERATOR_GREATER_THAN: Operator
OPERATOR_GREATER_THAN_OR_EQUAL: Operator
OPERATOR_LESS_THAN: Operator
OPERATOR_LESS_THAN_OR_EQUAL: Operator
OPERATOR_EQUAL: Operator
OPERATOR_NOT_EQUAL: Operator
RULE_KIND_UNSPECIFIED: RuleKind
RULE_KIND_THRESHOLD: RuleKind
RULE_KIND_ANOMALY: RuleKind
ALERT_STATE_UNSPECIFIED: AlertState
ALERT_STATE_INACTIVE: AlertState
ALERT_STATE_PENDING: AlertState
ALERT_STATE_FIRING: AlertState
ALERT_STATE_RESOLVED: AlertState
HEALTH_STATUS_UNSPECIFIED: HealthStatus
HEALTH_STATUS_HEALTHY: HealthStatus
HEALTH_STATUS_DEGRADED: HealthStatus
HEALTH_STATUS_DOWN: HealthStatus
HEALTH_STATUS_UNKNOWN: HealthStatus
EXPORT_FORMAT_UNSPECIFIED: ExportFormat
EXPORT_FORMAT_RULE_FILE: ExportFormat
EXPORT_FORMAT_PROMETHEUS_RULE: ExportFormat

class Condition(_message.Message):
    __slots__ = ("metric", "operator", "threshold")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    metric: str
    operator: Operator
    threshold: float
    def __init__(self, metric: _Optional[str] = ..., operator: _Optional[_Union[Operator, str]] = ..., threshold: _Optional[float] = ...) -> None: ...

class AlertRule(_message.Message):
    __slots__ = ("name", "service", "team", "display_name", "condition", "for_duration", "severity", "labels", "annotations", "enabled", "default_rule", "etag", "create_time", "update_time", "expression", "environment", "kind", "anomaly")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    FOR_DURATION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_RULE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    name: str
    service: str
    team: str
    display_name: str
    condition: Condition
    for_duration: _duration_pb2.Duration
    severity: Severity
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    enabled: bool
    default_rule: bool
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    expression: str
    environment: str
    kind: RuleKind
    anomaly: AnomalySpec
    def __init__(self, name: _Optional[str] = ..., service: _Optional[str] = ..., team: _Optional[str] = ..., display_name: _Optional[str] = ..., condition: _Optional[_Union[Condition, _Mapping]] = ..., for_duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., severity: _Optional[_Union[Severity, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., enabled: _Optional[bool] = ..., default_rule: _Optional[bool] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expression: _Optional[str] = ..., environment: _Optional[str] = ..., kind: _Optional[_Union[RuleKind, str]] = ..., anomaly: _Optional[_Union[AnomalySpec, _Mapping]] = ...) -> None: ...

class AnomalySpec(_message.Message):
    __slots__ = ("sensitivity",)
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    sensitivity: str
    def __init__(self, sensitivity: _Optional[str] = ...) -> None: ...

class CreateAlertRuleRequest(_message.Message):
    __slots__ = ("alert_rule", "alert_rule_id", "request_id")
    ALERT_RULE_FIELD_NUMBER: _ClassVar[int]
    ALERT_RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    alert_rule: AlertRule
    alert_rule_id: str
    request_id: str
    def __init__(self, alert_rule: _Optional[_Union[AlertRule, _Mapping]] = ..., alert_rule_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetAlertRuleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListAlertRulesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAlertRulesResponse(_message.Message):
    __slots__ = ("alert_rules", "next_page_token")
    ALERT_RULES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alert_rules: _containers.RepeatedCompositeFieldContainer[AlertRule]
    next_page_token: str
    def __init__(self, alert_rules: _Optional[_Iterable[_Union[AlertRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateAlertRuleRequest(_message.Message):
    __slots__ = ("alert_rule", "update_mask")
    ALERT_RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    alert_rule: AlertRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, alert_rule: _Optional[_Union[AlertRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteAlertRuleRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteAlertRuleResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CreateDefaultAlertsRequest(_message.Message):
    __slots__ = ("service", "team", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    team: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., team: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class CreateDefaultAlertsResponse(_message.Message):
    __slots__ = ("alert_rules", "created")
    ALERT_RULES_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    alert_rules: _containers.RepeatedCompositeFieldContainer[AlertRule]
    created: int
    def __init__(self, alert_rules: _Optional[_Iterable[_Union[AlertRule, _Mapping]]] = ..., created: _Optional[int] = ...) -> None: ...

class DeleteServiceAlertsRequest(_message.Message):
    __slots__ = ("service", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class DeleteServiceAlertsResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: int
    def __init__(self, deleted: _Optional[int] = ...) -> None: ...

class MetricSample(_message.Message):
    __slots__ = ("service", "metric", "value", "time", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    metric: str
    value: float
    time: _timestamp_pb2.Timestamp
    environment: str
    def __init__(self, service: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ...) -> None: ...

class IngestSamplesRequest(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[MetricSample]
    def __init__(self, samples: _Optional[_Iterable[_Union[MetricSample, _Mapping]]] = ...) -> None: ...

class IngestSamplesResponse(_message.Message):
    __slots__ = ("accepted", "rejected", "errors", "history_skipped")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    errors: _containers.RepeatedScalarFieldContainer[str]
    history_skipped: int
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., errors: _Optional[_Iterable[str]] = ..., history_skipped: _Optional[int] = ...) -> None: ...

class QueryMetricHistoryRequest(_message.Message):
    __slots__ = ("service", "environment", "metric", "start_time", "end_time", "step", "quantiles", "include_histogram")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    QUANTILES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HISTOGRAM_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    metric: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    step: _duration_pb2.Duration
    quantiles: _containers.RepeatedScalarFieldContainer[float]
    include_histogram: bool
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ..., metric: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., step: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., quantiles: _Optional[_Iterable[float]] = ..., include_histogram: _Optional[bool] = ...) -> None: ...

class HistogramBucket(_message.Message):
    __slots__ = ("lower", "upper", "count")
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    lower: float
    upper: float
    count: float
    def __init__(self, lower: _Optional[float] = ..., upper: _Optional[float] = ..., count: _Optional[float] = ...) -> None: ...

class HistoryPoint(_message.Message):
    __slots__ = ("time", "count", "sum", "min", "max", "mean", "quantile_values", "buckets")
    TIME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    QUANTILE_VALUES_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    count: int
    sum: float
    min: float
    max: float
    mean: float
    quantile_values: _containers.RepeatedScalarFieldContainer[float]
    buckets: _containers.RepeatedCompositeFieldContainer[HistogramBucket]
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ..., sum: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., mean: _Optional[float] = ..., quantile_values: _Optional[_Iterable[float]] = ..., buckets: _Optional[_Iterable[_Union[HistogramBucket, _Mapping]]] = ...) -> None: ...

class QueryMetricHistoryResponse(_message.Message):
    __slots__ = ("source", "step", "points")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    source: str
    step: _duration_pb2.Duration
    points: _containers.RepeatedCompositeFieldContainer[HistoryPoint]
    def __init__(self, source: _Optional[str] = ..., step: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., points: _Optional[_Iterable[_Union[HistoryPoint, _Mapping]]] = ...) -> None: ...

class ForecastRequest(_message.Message):
    __slots__ = ("service", "environment", "metric", "horizon_hours", "confidence", "capacity_per_replica", "min_replicas", "max_replicas")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    HORIZON_HOURS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_PER_REPLICA_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    metric: str
    horizon_hours: int
    confidence: float
    capacity_per_replica: float
    min_replicas: int
    max_replicas: int
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ..., metric: _Optional[str] = ..., horizon_hours: _Optional[int] = ..., confidence: _Optional[float] = ..., capacity_per_replica: _Optional[float] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ...) -> None: ...

class ForecastPoint(_message.Message):
    __slots__ = ("time", "mean", "lower", "upper")
    TIME_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    mean: float
    lower: float
    upper: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mean: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ...) -> None: ...

class Backtest(_message.Message):
    __slots__ = ("folds", "horizon_hours", "mape", "mase", "naive_mape", "naive_mase")
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    HORIZON_HOURS_FIELD_NUMBER: _ClassVar[int]
    MAPE_FIELD_NUMBER: _ClassVar[int]
    MASE_FIELD_NUMBER: _ClassVar[int]
    NAIVE_MAPE_FIELD_NUMBER: _ClassVar[int]
    NAIVE_MASE_FIELD_NUMBER: _ClassVar[int]
    folds: int
    horizon_hours: int
    mape: float
    mase: float
    naive_mape: float
    naive_mase: float
    def __init__(self, folds: _Optional[int] = ..., horizon_hours: _Optional[int] = ..., mape: _Optional[float] = ..., mase: _Optional[float] = ..., naive_mape: _Optional[float] = ..., naive_mase: _Optional[float] = ...) -> None: ...

class ScheduledReplicas(_message.Message):
    __slots__ = ("time", "min_replicas", "forecast_upper")
    TIME_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    FORECAST_UPPER_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    min_replicas: int
    forecast_upper: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., min_replicas: _Optional[int] = ..., forecast_upper: _Optional[float] = ...) -> None: ...

class ScalingSchedule(_message.Message):
    __slots__ = ("mode", "reason", "capacity_per_replica", "capacity_source", "hours", "shadow")
    MODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_PER_REPLICA_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    HOURS_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    mode: str
    reason: str
    capacity_per_replica: float
    capacity_source: str
    hours: _containers.RepeatedCompositeFieldContainer[ScheduledReplicas]
    shadow: _containers.RepeatedCompositeFieldContainer[ShadowHour]
    def __init__(self, mode: _Optional[str] = ..., reason: _Optional[str] = ..., capacity_per_replica: _Optional[float] = ..., capacity_source: _Optional[str] = ..., hours: _Optional[_Iterable[_Union[ScheduledReplicas, _Mapping]]] = ..., shadow: _Optional[_Iterable[_Union[ShadowHour, _Mapping]]] = ...) -> None: ...

class ShadowHour(_message.Message):
    __slots__ = ("time", "would_set", "observed", "load")
    TIME_FIELD_NUMBER: _ClassVar[int]
    WOULD_SET_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    would_set: int
    observed: float
    load: float
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., would_set: _Optional[int] = ..., observed: _Optional[float] = ..., load: _Optional[float] = ...) -> None: ...

class ForecastResponse(_message.Message):
    __slots__ = ("service", "metric", "points", "backtest", "history_hours", "period_hours", "confidence", "scaling")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    BACKTEST_FIELD_NUMBER: _ClassVar[int]
    HISTORY_HOURS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_HOURS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SCALING_FIELD_NUMBER: _ClassVar[int]
    service: str
    metric: str
    points: _containers.RepeatedCompositeFieldContainer[ForecastPoint]
    backtest: Backtest
    history_hours: int
    period_hours: int
    confidence: float
    scaling: ScalingSchedule
    def __init__(self, service: _Optional[str] = ..., metric: _Optional[str] = ..., points: _Optional[_Iterable[_Union[ForecastPoint, _Mapping]]] = ..., backtest: _Optional[_Union[Backtest, _Mapping]] = ..., history_hours: _Optional[int] = ..., period_hours: _Optional[int] = ..., confidence: _Optional[float] = ..., scaling: _Optional[_Union[ScalingSchedule, _Mapping]] = ...) -> None: ...

class ListAnomaliesRequest(_message.Message):
    __slots__ = ("service", "environment", "metric", "start_time", "end_time", "sensitivity")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    metric: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    sensitivity: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ..., metric: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sensitivity: _Optional[str] = ...) -> None: ...

class Change(_message.Message):
    __slots__ = ("kind", "operation", "time", "environment", "state", "requester", "lead_seconds", "template", "template_revision")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    LEAD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REVISION_FIELD_NUMBER: _ClassVar[int]
    kind: str
    operation: str
    time: _timestamp_pb2.Timestamp
    environment: str
    state: str
    requester: str
    lead_seconds: float
    template: str
    template_revision: int
    def __init__(self, kind: _Optional[str] = ..., operation: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ..., state: _Optional[str] = ..., requester: _Optional[str] = ..., lead_seconds: _Optional[float] = ..., template: _Optional[str] = ..., template_revision: _Optional[int] = ...) -> None: ...

class Anomaly(_message.Message):
    __slots__ = ("metric", "start_time", "end_time", "kind", "score", "likely_causes")
    METRIC_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    LIKELY_CAUSES_FIELD_NUMBER: _ClassVar[int]
    metric: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    kind: str
    score: float
    likely_causes: _containers.RepeatedCompositeFieldContainer[Change]
    def __init__(self, metric: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., score: _Optional[float] = ..., likely_causes: _Optional[_Iterable[_Union[Change, _Mapping]]] = ...) -> None: ...

class ListAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies", "sensitivity", "causes_unavailable", "hours_scored", "skipped")
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    CAUSES_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    HOURS_SCORED_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[Anomaly]
    sensitivity: str
    causes_unavailable: str
    hours_scored: int
    skipped: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, anomalies: _Optional[_Iterable[_Union[Anomaly, _Mapping]]] = ..., sensitivity: _Optional[str] = ..., causes_unavailable: _Optional[str] = ..., hours_scored: _Optional[int] = ..., skipped: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluateRulesRequest(_message.Message):
    __slots__ = ("time",)
    TIME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EvaluateRulesResponse(_message.Message):
    __slots__ = ("rules_evaluated", "transitions")
    RULES_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    rules_evaluated: int
    transitions: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, rules_evaluated: _Optional[int] = ..., transitions: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ("name", "rule", "service", "team", "state", "severity", "value", "active_time", "fire_time", "resolve_time", "labels", "annotations", "fingerprint", "display_name", "environment")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    FIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    rule: str
    service: str
    team: str
    state: AlertState
    severity: Severity
    value: float
    active_time: _timestamp_pb2.Timestamp
    fire_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    fingerprint: str
    display_name: str
    environment: str
    def __init__(self, name: _Optional[str] = ..., rule: _Optional[str] = ..., service: _Optional[str] = ..., team: _Optional[str] = ..., state: _Optional[_Union[AlertState, str]] = ..., severity: _Optional[_Union[Severity, str]] = ..., value: _Optional[float] = ..., active_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., fire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., fingerprint: _Optional[str] = ..., display_name: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ListAlertsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListAlertsResponse(_message.Message):
    __slots__ = ("alerts", "next_page_token")
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    next_page_token: str
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetServiceHealthRequest(_message.Message):
    __slots__ = ("service", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class ServiceHealth(_message.Message):
    __slots__ = ("service", "status", "requests_per_second", "error_rate", "latency_p99", "firing_alerts", "sample_time", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_FIELD_NUMBER: _ClassVar[int]
    FIRING_ALERTS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    status: HealthStatus
    requests_per_second: float
    error_rate: float
    latency_p99: float
    firing_alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    sample_time: _timestamp_pb2.Timestamp
    environment: str
    def __init__(self, service: _Optional[str] = ..., status: _Optional[_Union[HealthStatus, str]] = ..., requests_per_second: _Optional[float] = ..., error_rate: _Optional[float] = ..., latency_p99: _Optional[float] = ..., firing_alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., sample_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ...) -> None: ...

class Receiver(_message.Message):
    __slots__ = ("name", "team", "url", "send_resolved", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SEND_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    team: str
    url: str
    send_resolved: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., team: _Optional[str] = ..., url: _Optional[str] = ..., send_resolved: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateReceiverRequest(_message.Message):
    __slots__ = ("receiver", "receiver_id")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_ID_FIELD_NUMBER: _ClassVar[int]
    receiver: Receiver
    receiver_id: str
    def __init__(self, receiver: _Optional[_Union[Receiver, _Mapping]] = ..., receiver_id: _Optional[str] = ...) -> None: ...

class ListReceiversRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListReceiversResponse(_message.Message):
    __slots__ = ("receivers", "next_page_token")
    RECEIVERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    receivers: _containers.RepeatedCompositeFieldContainer[Receiver]
    next_page_token: str
    def __init__(self, receivers: _Optional[_Iterable[_Union[Receiver, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteReceiverRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteReceiverResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportRulesRequest(_message.Message):
    __slots__ = ("service", "format", "namespace")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    service: str
    format: ExportFormat
    namespace: str
    def __init__(self, service: _Optional[str] = ..., format: _Optional[_Union[ExportFormat, str]] = ..., namespace: _Optional[str] = ...) -> None: ...

class ExportRulesResponse(_message.Message):
    __slots__ = ("content", "assumed_metrics")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_METRICS_FIELD_NUMBER: _ClassVar[int]
    content: str
    assumed_metrics: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, content: _Optional[str] = ..., assumed_metrics: _Optional[_Iterable[str]] = ...) -> None: ...
