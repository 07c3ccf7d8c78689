import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from paved.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImportMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_MODE_UNSPECIFIED: _ClassVar[ImportMode]
    IMPORT_MODE_ALL_OR_NOTHING: _ClassVar[ImportMode]
    IMPORT_MODE_SKIP_INVALID: _ClassVar[ImportMode]

class FocusDataset(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FOCUS_DATASET_UNSPECIFIED: _ClassVar[FocusDataset]
    FOCUS_DATASET_COST_AND_USAGE: _ClassVar[FocusDataset]
    FOCUS_DATASET_CONTRACT_COMMITMENT: _ClassVar[FocusDataset]

class TrendDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TREND_DIRECTION_UNSPECIFIED: _ClassVar[TrendDirection]
    TREND_DIRECTION_UP: _ClassVar[TrendDirection]
    TREND_DIRECTION_DOWN: _ClassVar[TrendDirection]
    TREND_DIRECTION_FLAT: _ClassVar[TrendDirection]
    TREND_DIRECTION_NEW: _ClassVar[TrendDirection]

class RecommendationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMMENDATION_KIND_UNSPECIFIED: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_RIGHTSIZE: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_SPOT: _ClassVar[RecommendationKind]
    RECOMMENDATION_KIND_RESERVED: _ClassVar[RecommendationKind]

class Risk(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RISK_UNSPECIFIED: _ClassVar[Risk]
    RISK_LOW: _ClassVar[Risk]
    RISK_MEDIUM: _ClassVar[Risk]
    RISK_HIGH: _ClassVar[Risk]
IMPORT_MODE_UNSPECIFIED: ImportMode
IMPORT_MODE_ALL_OR_NOTHING: ImportMode
IMPORT_MODE_SKIP_INVALID: ImportMode
FOCUS_DATASET_UNSPECIFIED: FocusDataset
FOCUS_DATASET_COST_AND_USAGE: FocusDataset
FOCUS_DATASET_CONTRACT_COMMITMENT: FocusDataset
TREND_DIRECTION_UNSPECIFIED: TrendDirection
TREND_DIRECTION_UP: TrendDirection
TREND_DIRECTION_DOWN: TrendDirection
TREND_DIRECTION_FLAT: TrendDirection
TREND_DIRECTION_NEW: TrendDirection
RECOMMENDATION_KIND_UNSPECIFIED: RecommendationKind
RECOMMENDATION_KIND_RIGHTSIZE: RecommendationKind
RECOMMENDATION_KIND_SPOT: RecommendationKind
RECOMMENDATION_KIND_RESERVED: RecommendationKind
RISK_UNSPECIFIED: Risk
RISK_LOW: Risk
RISK_MEDIUM: Risk
RISK_HIGH: Risk

class LineItem(_message.Message):
    __slots__ = ("description", "quantity", "unit", "unit_price", "monthly_cost")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    description: str
    quantity: float
    unit: str
    unit_price: _money_pb2.Money
    monthly_cost: _money_pb2.Money
    def __init__(self, description: _Optional[str] = ..., quantity: _Optional[float] = ..., unit: _Optional[str] = ..., unit_price: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ResourceEstimate(_message.Message):
    __slots__ = ("resource", "type", "monthly_cost", "line_items")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    LINE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    resource: str
    type: str
    monthly_cost: _money_pb2.Money
    line_items: _containers.RepeatedCompositeFieldContainer[LineItem]
    def __init__(self, resource: _Optional[str] = ..., type: _Optional[str] = ..., monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., line_items: _Optional[_Iterable[_Union[LineItem, _Mapping]]] = ...) -> None: ...

class EstimateCostRequest(_message.Message):
    __slots__ = ("resources", "region")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.Resource]
    region: str
    def __init__(self, resources: _Optional[_Iterable[_Union[_common_pb2.Resource, _Mapping]]] = ..., region: _Optional[str] = ...) -> None: ...

class EstimateCostResponse(_message.Message):
    __slots__ = ("total_monthly_cost", "resources", "price_catalog_source", "price_catalog_date", "hours_per_month", "region")
    TOTAL_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PRICE_CATALOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    PRICE_CATALOG_DATE_FIELD_NUMBER: _ClassVar[int]
    HOURS_PER_MONTH_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    total_monthly_cost: _money_pb2.Money
    resources: _containers.RepeatedCompositeFieldContainer[ResourceEstimate]
    price_catalog_source: str
    price_catalog_date: str
    hours_per_month: float
    region: str
    def __init__(self, total_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., resources: _Optional[_Iterable[_Union[ResourceEstimate, _Mapping]]] = ..., price_catalog_source: _Optional[str] = ..., price_catalog_date: _Optional[str] = ..., hours_per_month: _Optional[float] = ..., region: _Optional[str] = ...) -> None: ...

class GetPriceCatalogRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PriceCatalog(_message.Message):
    __slots__ = ("source", "date", "currency", "regions", "instance_types", "database_classes")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DATE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_TYPES_FIELD_NUMBER: _ClassVar[int]
    DATABASE_CLASSES_FIELD_NUMBER: _ClassVar[int]
    source: str
    date: str
    currency: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    instance_types: _containers.RepeatedScalarFieldContainer[str]
    database_classes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source: _Optional[str] = ..., date: _Optional[str] = ..., currency: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., instance_types: _Optional[_Iterable[str]] = ..., database_classes: _Optional[_Iterable[str]] = ...) -> None: ...

class ImportHeader(_message.Message):
    __slots__ = ("source", "mode", "null_token", "metadata", "dataset")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    NULL_TOKEN_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DATASET_FIELD_NUMBER: _ClassVar[int]
    source: str
    mode: ImportMode
    null_token: str
    metadata: str
    dataset: FocusDataset
    def __init__(self, source: _Optional[str] = ..., mode: _Optional[_Union[ImportMode, str]] = ..., null_token: _Optional[str] = ..., metadata: _Optional[str] = ..., dataset: _Optional[_Union[FocusDataset, str]] = ...) -> None: ...

class FocusRow(_message.Message):
    __slots__ = ("billed_cost", "effective_cost", "list_cost", "contracted_cost", "billing_currency", "billing_period_start", "billing_period_end", "charge_period_start", "charge_period_end", "charge_category", "pricing_category", "provider_name", "service_name", "resource_id", "region_id", "sub_account_id", "tags", "commitment_discount_id", "commitment_discount_type", "resource_type", "sku_id", "consumed_quantity", "consumed_unit", "service_category", "allocated_resource_id", "allocated_tags", "contract_applied")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AllocatedTagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BILLED_COST_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_COST_FIELD_NUMBER: _ClassVar[int]
    LIST_COST_FIELD_NUMBER: _ClassVar[int]
    CONTRACTED_COST_FIELD_NUMBER: _ClassVar[int]
    BILLING_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BILLING_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    BILLING_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CHARGE_PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    CHARGE_PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    CHARGE_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PRICING_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SUB_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_DISCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_DISCOUNT_TYPE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SKU_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_UNIT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOCATED_TAGS_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    billed_cost: str
    effective_cost: str
    list_cost: str
    contracted_cost: str
    billing_currency: str
    billing_period_start: _timestamp_pb2.Timestamp
    billing_period_end: _timestamp_pb2.Timestamp
    charge_period_start: _timestamp_pb2.Timestamp
    charge_period_end: _timestamp_pb2.Timestamp
    charge_category: str
    pricing_category: str
    provider_name: str
    service_name: str
    resource_id: str
    region_id: str
    sub_account_id: str
    tags: _containers.ScalarMap[str, str]
    commitment_discount_id: str
    commitment_discount_type: str
    resource_type: str
    sku_id: str
    consumed_quantity: str
    consumed_unit: str
    service_category: str
    allocated_resource_id: str
    allocated_tags: _containers.ScalarMap[str, str]
    contract_applied: str
    def __init__(self, billed_cost: _Optional[str] = ..., effective_cost: _Optional[str] = ..., list_cost: _Optional[str] = ..., contracted_cost: _Optional[str] = ..., billing_currency: _Optional[str] = ..., billing_period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., billing_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charge_period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charge_period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., charge_category: _Optional[str] = ..., pricing_category: _Optional[str] = ..., provider_name: _Optional[str] = ..., service_name: _Optional[str] = ..., resource_id: _Optional[str] = ..., region_id: _Optional[str] = ..., sub_account_id: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ..., commitment_discount_id: _Optional[str] = ..., commitment_discount_type: _Optional[str] = ..., resource_type: _Optional[str] = ..., sku_id: _Optional[str] = ..., consumed_quantity: _Optional[str] = ..., consumed_unit: _Optional[str] = ..., service_category: _Optional[str] = ..., allocated_resource_id: _Optional[str] = ..., allocated_tags: _Optional[_Mapping[str, str]] = ..., contract_applied: _Optional[str] = ...) -> None: ...

class FocusRows(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[FocusRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[FocusRow, _Mapping]]] = ...) -> None: ...

class ImportBillingRequest(_message.Message):
    __slots__ = ("header", "csv_chunk", "rows")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CSV_CHUNK_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    header: ImportHeader
    csv_chunk: bytes
    rows: FocusRows
    def __init__(self, header: _Optional[_Union[ImportHeader, _Mapping]] = ..., csv_chunk: _Optional[bytes] = ..., rows: _Optional[_Union[FocusRows, _Mapping]] = ...) -> None: ...

class RowRejection(_message.Message):
    __slots__ = ("row", "column", "message")
    ROW_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    row: int
    column: str
    message: str
    def __init__(self, row: _Optional[int] = ..., column: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ImportBillingResponse(_message.Message):
    __slots__ = ("rows_read", "rows_imported", "rows_rejected", "rejections", "rows_replaced", "billing_periods", "billed_cost", "focus_version", "provisional_periods", "incomplete_sectors")
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    ROWS_IMPORTED_FIELD_NUMBER: _ClassVar[int]
    ROWS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    ROWS_REPLACED_FIELD_NUMBER: _ClassVar[int]
    BILLING_PERIODS_FIELD_NUMBER: _ClassVar[int]
    BILLED_COST_FIELD_NUMBER: _ClassVar[int]
    FOCUS_VERSION_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_PERIODS_FIELD_NUMBER: _ClassVar[int]
    INCOMPLETE_SECTORS_FIELD_NUMBER: _ClassVar[int]
    rows_read: int
    rows_imported: int
    rows_rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[RowRejection]
    rows_replaced: int
    billing_periods: _containers.RepeatedScalarFieldContainer[str]
    billed_cost: _money_pb2.Money
    focus_version: str
    provisional_periods: _containers.RepeatedScalarFieldContainer[str]
    incomplete_sectors: _containers.RepeatedCompositeFieldContainer[IncompleteTimeSector]
    def __init__(self, rows_read: _Optional[int] = ..., rows_imported: _Optional[int] = ..., rows_rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RowRejection, _Mapping]]] = ..., rows_replaced: _Optional[int] = ..., billing_periods: _Optional[_Iterable[str]] = ..., billed_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., focus_version: _Optional[str] = ..., provisional_periods: _Optional[_Iterable[str]] = ..., incomplete_sectors: _Optional[_Iterable[_Union[IncompleteTimeSector, _Mapping]]] = ...) -> None: ...

class IncompleteTimeSector(_message.Message):
    __slots__ = ("start", "end", "dataset_instance_id")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    DATASET_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    start: _timestamp_pb2.Timestamp
    end: _timestamp_pb2.Timestamp
    dataset_instance_id: str
    def __init__(self, start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dataset_instance_id: _Optional[str] = ...) -> None: ...

class UtilizationSample(_message.Message):
    __slots__ = ("service", "resource", "metric", "value", "time")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    service: str
    resource: str
    metric: str
    value: float
    time: _timestamp_pb2.Timestamp
    def __init__(self, service: _Optional[str] = ..., resource: _Optional[str] = ..., metric: _Optional[str] = ..., value: _Optional[float] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordUtilizationRequest(_message.Message):
    __slots__ = ("samples",)
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    samples: _containers.RepeatedCompositeFieldContainer[UtilizationSample]
    def __init__(self, samples: _Optional[_Iterable[_Union[UtilizationSample, _Mapping]]] = ...) -> None: ...

class RecordUtilizationResponse(_message.Message):
    __slots__ = ("accepted",)
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    def __init__(self, accepted: _Optional[int] = ...) -> None: ...

class RegisterResourcesRequest(_message.Message):
    __slots__ = ("service", "team", "environment", "resources", "estimated_monthly_cost", "optimization_operation", "template")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZATION_OPERATION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    service: str
    team: str
    environment: str
    resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.Resource]
    estimated_monthly_cost: _money_pb2.Money
    optimization_operation: str
    template: str
    def __init__(self, service: _Optional[str] = ..., team: _Optional[str] = ..., environment: _Optional[str] = ..., resources: _Optional[_Iterable[_Union[_common_pb2.Resource, _Mapping]]] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., optimization_operation: _Optional[str] = ..., template: _Optional[str] = ...) -> None: ...

class RegisterResourcesResponse(_message.Message):
    __slots__ = ("tracked",)
    TRACKED_FIELD_NUMBER: _ClassVar[int]
    tracked: int
    def __init__(self, tracked: _Optional[int] = ...) -> None: ...

class UnregisterResourcesRequest(_message.Message):
    __slots__ = ("service", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class UnregisterResourcesResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class Trend(_message.Message):
    __slots__ = ("direction", "percent")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    PERCENT_FIELD_NUMBER: _ClassVar[int]
    direction: TrendDirection
    percent: float
    def __init__(self, direction: _Optional[_Union[TrendDirection, str]] = ..., percent: _Optional[float] = ...) -> None: ...

class DailyCost(_message.Message):
    __slots__ = ("date", "cost")
    DATE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    date: str
    cost: _money_pb2.Money
    def __init__(self, date: _Optional[str] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetServiceCostRequest(_message.Message):
    __slots__ = ("service", "month")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    service: str
    month: str
    def __init__(self, service: _Optional[str] = ..., month: _Optional[str] = ...) -> None: ...

class ServiceCost(_message.Message):
    __slots__ = ("service", "team", "current_month", "projected_month", "previous_month", "trend", "daily", "estimated_monthly_cost", "projection_method", "environments")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    CURRENT_MONTH_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_MONTH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MONTH_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    DAILY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    PROJECTION_METHOD_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    service: str
    team: str
    current_month: _money_pb2.Money
    projected_month: _money_pb2.Money
    previous_month: _money_pb2.Money
    trend: Trend
    daily: _containers.RepeatedCompositeFieldContainer[DailyCost]
    estimated_monthly_cost: _money_pb2.Money
    projection_method: str
    environments: _containers.RepeatedCompositeFieldContainer[EnvironmentCost]
    def __init__(self, service: _Optional[str] = ..., team: _Optional[str] = ..., current_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., projected_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., previous_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., trend: _Optional[_Union[Trend, _Mapping]] = ..., daily: _Optional[_Iterable[_Union[DailyCost, _Mapping]]] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., projection_method: _Optional[str] = ..., environments: _Optional[_Iterable[_Union[EnvironmentCost, _Mapping]]] = ...) -> None: ...

class EnvironmentCost(_message.Message):
    __slots__ = ("environment", "estimated_monthly_cost")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    environment: str
    estimated_monthly_cost: _money_pb2.Money
    def __init__(self, environment: _Optional[str] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetTeamCostsRequest(_message.Message):
    __slots__ = ("month", "team")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    month: str
    team: str
    def __init__(self, month: _Optional[str] = ..., team: _Optional[str] = ...) -> None: ...

class TeamCost(_message.Message):
    __slots__ = ("team", "current_month", "projected_month", "previous_month", "trend", "services")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    CURRENT_MONTH_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_MONTH_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_MONTH_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    team: str
    current_month: _money_pb2.Money
    projected_month: _money_pb2.Money
    previous_month: _money_pb2.Money
    trend: Trend
    services: int
    def __init__(self, team: _Optional[str] = ..., current_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., projected_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., previous_month: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., trend: _Optional[_Union[Trend, _Mapping]] = ..., services: _Optional[int] = ...) -> None: ...

class GetTeamCostsResponse(_message.Message):
    __slots__ = ("month", "teams", "unallocated", "total")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    UNALLOCATED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    month: str
    teams: _containers.RepeatedCompositeFieldContainer[TeamCost]
    unallocated: _money_pb2.Money
    total: _money_pb2.Money
    def __init__(self, month: _Optional[str] = ..., teams: _Optional[_Iterable[_Union[TeamCost, _Mapping]]] = ..., unallocated: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class SummarizeBillingRequest(_message.Message):
    __slots__ = ("group_by", "month")
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    group_by: str
    month: str
    def __init__(self, group_by: _Optional[str] = ..., month: _Optional[str] = ...) -> None: ...

class BillingTotal(_message.Message):
    __slots__ = ("key", "billed_cost", "effective_cost", "rows")
    KEY_FIELD_NUMBER: _ClassVar[int]
    BILLED_COST_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_COST_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    key: str
    billed_cost: str
    effective_cost: str
    rows: int
    def __init__(self, key: _Optional[str] = ..., billed_cost: _Optional[str] = ..., effective_cost: _Optional[str] = ..., rows: _Optional[int] = ...) -> None: ...

class SummarizeBillingResponse(_message.Message):
    __slots__ = ("totals", "currency")
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    totals: _containers.RepeatedCompositeFieldContainer[BillingTotal]
    currency: str
    def __init__(self, totals: _Optional[_Iterable[_Union[BillingTotal, _Mapping]]] = ..., currency: _Optional[str] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ("name", "service", "resource", "kind", "description", "current_instance_type", "recommended_instance_type", "monthly_savings", "risk", "evidence", "team")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CURRENT_INSTANCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_INSTANCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_SAVINGS_FIELD_NUMBER: _ClassVar[int]
    RISK_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    name: str
    service: str
    resource: str
    kind: RecommendationKind
    description: str
    current_instance_type: str
    recommended_instance_type: str
    monthly_savings: _money_pb2.Money
    risk: Risk
    evidence: _struct_pb2.Struct
    team: str
    def __init__(self, name: _Optional[str] = ..., service: _Optional[str] = ..., resource: _Optional[str] = ..., kind: _Optional[_Union[RecommendationKind, str]] = ..., description: _Optional[str] = ..., current_instance_type: _Optional[str] = ..., recommended_instance_type: _Optional[str] = ..., monthly_savings: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., risk: _Optional[_Union[Risk, str]] = ..., evidence: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., team: _Optional[str] = ...) -> None: ...

class ListRecommendationsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListRecommendationsResponse(_message.Message):
    __slots__ = ("recommendations", "next_page_token", "total_monthly_savings")
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MONTHLY_SAVINGS_FIELD_NUMBER: _ClassVar[int]
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    next_page_token: str
    total_monthly_savings: _money_pb2.Money
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_monthly_savings: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class AutoOptimizeRequest(_message.Message):
    __slots__ = ("dry_run", "team", "service")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    team: str
    service: str
    def __init__(self, dry_run: _Optional[bool] = ..., team: _Optional[str] = ..., service: _Optional[str] = ...) -> None: ...

class OptimizationAction(_message.Message):
    __slots__ = ("recommendation", "applied", "operation", "error")
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    recommendation: Recommendation
    applied: bool
    operation: str
    error: str
    def __init__(self, recommendation: _Optional[_Union[Recommendation, _Mapping]] = ..., applied: _Optional[bool] = ..., operation: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...

class AutoOptimizeResponse(_message.Message):
    __slots__ = ("dry_run", "actions", "total_monthly_savings")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MONTHLY_SAVINGS_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    actions: _containers.RepeatedCompositeFieldContainer[OptimizationAction]
    total_monthly_savings: _money_pb2.Money
    def __init__(self, dry_run: _Optional[bool] = ..., actions: _Optional[_Iterable[_Union[OptimizationAction, _Mapping]]] = ..., total_monthly_savings: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ListAppliedOptimizationsRequest(_message.Message):
    __slots__ = ("teams", "service", "start_time", "end_time")
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    teams: _containers.RepeatedScalarFieldContainer[str]
    service: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, teams: _Optional[_Iterable[str]] = ..., service: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RealisedSaving(_message.Message):
    __slots__ = ("days", "before_per_day", "after_per_day", "saving_per_day", "monthly_saving")
    DAYS_FIELD_NUMBER: _ClassVar[int]
    BEFORE_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    AFTER_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    SAVING_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_SAVING_FIELD_NUMBER: _ClassVar[int]
    days: int
    before_per_day: _money_pb2.Money
    after_per_day: _money_pb2.Money
    saving_per_day: _money_pb2.Money
    monthly_saving: _money_pb2.Money
    def __init__(self, days: _Optional[int] = ..., before_per_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., after_per_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., saving_per_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., monthly_saving: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class AppliedOptimization(_message.Message):
    __slots__ = ("service", "team", "resource", "change", "operation", "apply_time", "estimated_monthly_saving", "realised")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    APPLY_TIME_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_SAVING_FIELD_NUMBER: _ClassVar[int]
    REALISED_FIELD_NUMBER: _ClassVar[int]
    service: str
    team: str
    resource: str
    change: str
    operation: str
    apply_time: _timestamp_pb2.Timestamp
    estimated_monthly_saving: _money_pb2.Money
    realised: RealisedSaving
    def __init__(self, service: _Optional[str] = ..., team: _Optional[str] = ..., resource: _Optional[str] = ..., change: _Optional[str] = ..., operation: _Optional[str] = ..., apply_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., estimated_monthly_saving: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., realised: _Optional[_Union[RealisedSaving, _Mapping]] = ...) -> None: ...

class TeamRealisedSavings(_message.Message):
    __slots__ = ("team", "optimizations", "measured", "saving_per_day", "monthly_saving")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    OPTIMIZATIONS_FIELD_NUMBER: _ClassVar[int]
    MEASURED_FIELD_NUMBER: _ClassVar[int]
    SAVING_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_SAVING_FIELD_NUMBER: _ClassVar[int]
    team: str
    optimizations: int
    measured: int
    saving_per_day: _money_pb2.Money
    monthly_saving: _money_pb2.Money
    def __init__(self, team: _Optional[str] = ..., optimizations: _Optional[int] = ..., measured: _Optional[int] = ..., saving_per_day: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., monthly_saving: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class ListAppliedOptimizationsResponse(_message.Message):
    __slots__ = ("optimizations", "teams")
    OPTIMIZATIONS_FIELD_NUMBER: _ClassVar[int]
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    optimizations: _containers.RepeatedCompositeFieldContainer[AppliedOptimization]
    teams: _containers.RepeatedCompositeFieldContainer[TeamRealisedSavings]
    def __init__(self, optimizations: _Optional[_Iterable[_Union[AppliedOptimization, _Mapping]]] = ..., teams: _Optional[_Iterable[_Union[TeamRealisedSavings, _Mapping]]] = ...) -> None: ...

class GetEstimateAccuracyRequest(_message.Message):
    __slots__ = ("teams", "days")
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    teams: _containers.RepeatedScalarFieldContainer[str]
    days: int
    def __init__(self, teams: _Optional[_Iterable[str]] = ..., days: _Optional[int] = ...) -> None: ...

class EstimateGrade(_message.Message):
    __slots__ = ("service", "template", "team", "estimated_monthly_cost", "actual_monthly_cost", "days", "error")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    service: str
    template: str
    team: str
    estimated_monthly_cost: _money_pb2.Money
    actual_monthly_cost: _money_pb2.Money
    days: int
    error: float
    def __init__(self, service: _Optional[str] = ..., template: _Optional[str] = ..., team: _Optional[str] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., actual_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., days: _Optional[int] = ..., error: _Optional[float] = ...) -> None: ...

class TemplateEstimateAccuracy(_message.Message):
    __slots__ = ("template", "services", "estimated_monthly_cost", "actual_monthly_cost", "error", "mean_absolute_error")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MEAN_ABSOLUTE_ERROR_FIELD_NUMBER: _ClassVar[int]
    template: str
    services: int
    estimated_monthly_cost: _money_pb2.Money
    actual_monthly_cost: _money_pb2.Money
    error: float
    mean_absolute_error: float
    def __init__(self, template: _Optional[str] = ..., services: _Optional[int] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., actual_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., error: _Optional[float] = ..., mean_absolute_error: _Optional[float] = ...) -> None: ...

class GetEstimateAccuracyResponse(_message.Message):
    __slots__ = ("templates", "services", "ungraded")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    UNGRADED_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[TemplateEstimateAccuracy]
    services: _containers.RepeatedCompositeFieldContainer[EstimateGrade]
    ungraded: int
    def __init__(self, templates: _Optional[_Iterable[_Union[TemplateEstimateAccuracy, _Mapping]]] = ..., services: _Optional[_Iterable[_Union[EstimateGrade, _Mapping]]] = ..., ungraded: _Optional[int] = ...) -> None: ...

class GetPlatformRoiRequest(_message.Message):
    __slots__ = ("deployments", "services_created", "incidents_avoided", "start_time", "end_time")
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_CREATED_FIELD_NUMBER: _ClassVar[int]
    INCIDENTS_AVOIDED_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    deployments: int
    services_created: int
    incidents_avoided: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, deployments: _Optional[int] = ..., services_created: _Optional[int] = ..., incidents_avoided: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RoiTerm(_message.Message):
    __slots__ = ("name", "formula", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    formula: str
    value: _money_pb2.Money
    def __init__(self, name: _Optional[str] = ..., formula: _Optional[str] = ..., value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetPlatformRoiResponse(_message.Message):
    __slots__ = ("benefits", "costs", "total_benefit", "total_cost", "roi_percent", "realized_savings", "average_utilization", "cost_per_service")
    BENEFITS_FIELD_NUMBER: _ClassVar[int]
    COSTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BENEFIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    ROI_PERCENT_FIELD_NUMBER: _ClassVar[int]
    REALIZED_SAVINGS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SERVICE_FIELD_NUMBER: _ClassVar[int]
    benefits: _containers.RepeatedCompositeFieldContainer[RoiTerm]
    costs: _containers.RepeatedCompositeFieldContainer[RoiTerm]
    total_benefit: _money_pb2.Money
    total_cost: _money_pb2.Money
    roi_percent: float
    realized_savings: _money_pb2.Money
    average_utilization: float
    cost_per_service: _money_pb2.Money
    def __init__(self, benefits: _Optional[_Iterable[_Union[RoiTerm, _Mapping]]] = ..., costs: _Optional[_Iterable[_Union[RoiTerm, _Mapping]]] = ..., total_benefit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., roi_percent: _Optional[float] = ..., realized_savings: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., average_utilization: _Optional[float] = ..., cost_per_service: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class RecommendResourcesRequest(_message.Message):
    __slots__ = ("service", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class UsageEvidence(_message.Message):
    __slots__ = ("p50", "p90", "p95", "p99", "peak", "samples", "days")
    P50_FIELD_NUMBER: _ClassVar[int]
    P90_FIELD_NUMBER: _ClassVar[int]
    P95_FIELD_NUMBER: _ClassVar[int]
    P99_FIELD_NUMBER: _ClassVar[int]
    PEAK_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    p50: float
    p90: float
    p95: float
    p99: float
    peak: float
    samples: float
    days: float
    def __init__(self, p50: _Optional[float] = ..., p90: _Optional[float] = ..., p95: _Optional[float] = ..., p99: _Optional[float] = ..., peak: _Optional[float] = ..., samples: _Optional[float] = ..., days: _Optional[float] = ...) -> None: ...

class ResourceAdvice(_message.Message):
    __slots__ = ("resource", "current_request", "recommended_request", "current_limit", "recommended_limit", "vpa_target", "lower_bound", "upper_bound", "evidence", "reasons", "recommended_quantity")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REQUEST_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    CURRENT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_LIMIT_FIELD_NUMBER: _ClassVar[int]
    VPA_TARGET_FIELD_NUMBER: _ClassVar[int]
    LOWER_BOUND_FIELD_NUMBER: _ClassVar[int]
    UPPER_BOUND_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    resource: str
    current_request: float
    recommended_request: float
    current_limit: float
    recommended_limit: float
    vpa_target: float
    lower_bound: float
    upper_bound: float
    evidence: UsageEvidence
    reasons: _containers.RepeatedScalarFieldContainer[str]
    recommended_quantity: str
    def __init__(self, resource: _Optional[str] = ..., current_request: _Optional[float] = ..., recommended_request: _Optional[float] = ..., current_limit: _Optional[float] = ..., recommended_limit: _Optional[float] = ..., vpa_target: _Optional[float] = ..., lower_bound: _Optional[float] = ..., upper_bound: _Optional[float] = ..., evidence: _Optional[_Union[UsageEvidence, _Mapping]] = ..., reasons: _Optional[_Iterable[str]] = ..., recommended_quantity: _Optional[str] = ...) -> None: ...

class ResourceRecommendation(_message.Message):
    __slots__ = ("service", "environment", "resource", "team", "cpu", "memory", "current_replicas", "min_replicas", "max_replicas", "current_instance_type", "recommended_instance_type", "monthly_savings", "confidence", "decrease_allowed", "changes", "reasons", "history_source", "generate_time")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_INSTANCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_INSTANCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_SAVINGS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    DECREASE_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    HISTORY_SOURCE_FIELD_NUMBER: _ClassVar[int]
    GENERATE_TIME_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    resource: str
    team: str
    cpu: ResourceAdvice
    memory: ResourceAdvice
    current_replicas: int
    min_replicas: int
    max_replicas: int
    current_instance_type: str
    recommended_instance_type: str
    monthly_savings: _money_pb2.Money
    confidence: float
    decrease_allowed: bool
    changes: bool
    reasons: _containers.RepeatedScalarFieldContainer[str]
    history_source: str
    generate_time: _timestamp_pb2.Timestamp
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ..., resource: _Optional[str] = ..., team: _Optional[str] = ..., cpu: _Optional[_Union[ResourceAdvice, _Mapping]] = ..., memory: _Optional[_Union[ResourceAdvice, _Mapping]] = ..., current_replicas: _Optional[int] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ..., current_instance_type: _Optional[str] = ..., recommended_instance_type: _Optional[str] = ..., monthly_savings: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., confidence: _Optional[float] = ..., decrease_allowed: _Optional[bool] = ..., changes: _Optional[bool] = ..., reasons: _Optional[_Iterable[str]] = ..., history_source: _Optional[str] = ..., generate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListCostAnomaliesRequest(_message.Message):
    __slots__ = ("team", "service", "days", "sensitivity")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    team: str
    service: str
    days: int
    sensitivity: str
    def __init__(self, team: _Optional[str] = ..., service: _Optional[str] = ..., days: _Optional[int] = ..., sensitivity: _Optional[str] = ...) -> None: ...

class CostDriver(_message.Message):
    __slots__ = ("dimension", "value", "cost", "usual", "change")
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    USUAL_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    dimension: str
    value: str
    cost: _money_pb2.Money
    usual: _money_pb2.Money
    change: float
    def __init__(self, dimension: _Optional[str] = ..., value: _Optional[str] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., usual: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., change: _Optional[float] = ...) -> None: ...

class CostAnomaly(_message.Message):
    __slots__ = ("scope", "name", "day", "cost", "expected", "score", "kind", "drivers")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DAY_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DRIVERS_FIELD_NUMBER: _ClassVar[int]
    scope: str
    name: str
    day: str
    cost: _money_pb2.Money
    expected: _money_pb2.Money
    score: float
    kind: str
    drivers: _containers.RepeatedCompositeFieldContainer[CostDriver]
    def __init__(self, scope: _Optional[str] = ..., name: _Optional[str] = ..., day: _Optional[str] = ..., cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., expected: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., score: _Optional[float] = ..., kind: _Optional[str] = ..., drivers: _Optional[_Iterable[_Union[CostDriver, _Mapping]]] = ...) -> None: ...

class ListCostAnomaliesResponse(_message.Message):
    __slots__ = ("anomalies", "sensitivity")
    ANOMALIES_FIELD_NUMBER: _ClassVar[int]
    SENSITIVITY_FIELD_NUMBER: _ClassVar[int]
    anomalies: _containers.RepeatedCompositeFieldContainer[CostAnomaly]
    sensitivity: str
    def __init__(self, anomalies: _Optional[_Iterable[_Union[CostAnomaly, _Mapping]]] = ..., sensitivity: _Optional[str] = ...) -> None: ...

class GetCommitmentUtilisationRequest(_message.Message):
    __slots__ = ("month",)
    MONTH_FIELD_NUMBER: _ClassVar[int]
    month: str
    def __init__(self, month: _Optional[str] = ...) -> None: ...

class CommitmentUtilisation(_message.Message):
    __slots__ = ("contract_commitment_id", "contract_id", "category", "commitment_type", "unit", "committed", "applied", "utilisation")
    CONTRACT_COMMITMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    COMMITMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    UTILISATION_FIELD_NUMBER: _ClassVar[int]
    contract_commitment_id: str
    contract_id: str
    category: str
    commitment_type: str
    unit: str
    committed: str
    applied: str
    utilisation: float
    def __init__(self, contract_commitment_id: _Optional[str] = ..., contract_id: _Optional[str] = ..., category: _Optional[str] = ..., commitment_type: _Optional[str] = ..., unit: _Optional[str] = ..., committed: _Optional[str] = ..., applied: _Optional[str] = ..., utilisation: _Optional[float] = ...) -> None: ...

class GetCommitmentUtilisationResponse(_message.Message):
    __slots__ = ("month", "commitments")
    MONTH_FIELD_NUMBER: _ClassVar[int]
    COMMITMENTS_FIELD_NUMBER: _ClassVar[int]
    month: str
    commitments: _containers.RepeatedCompositeFieldContainer[CommitmentUtilisation]
    def __init__(self, month: _Optional[str] = ..., commitments: _Optional[_Iterable[_Union[CommitmentUtilisation, _Mapping]]] = ...) -> None: ...
