import datetime

from google.longrunning import operations_pb2 as _operations_pb2
from google.protobuf import duration_pb2 as _duration_pb2
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

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_PENDING: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_SUCCEEDED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_SKIPPED: _ClassVar[StepState]
    STEP_STATE_COMPENSATED: _ClassVar[StepState]
    STEP_STATE_CANCELLED: _ClassVar[StepState]

class DeploymentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEPLOYMENT_STATUS_UNSPECIFIED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_IN_PROGRESS: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_SUCCEEDED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_FAILED: _ClassVar[DeploymentStatus]
    DEPLOYMENT_STATUS_ROLLED_BACK: _ClassVar[DeploymentStatus]

class PerformanceBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERFORMANCE_BAND_UNSPECIFIED: _ClassVar[PerformanceBand]
    PERFORMANCE_BAND_ELITE: _ClassVar[PerformanceBand]
    PERFORMANCE_BAND_HIGH: _ClassVar[PerformanceBand]
    PERFORMANCE_BAND_MEDIUM: _ClassVar[PerformanceBand]
    PERFORMANCE_BAND_LOW: _ClassVar[PerformanceBand]
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_PENDING: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_SUCCEEDED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_SKIPPED: StepState
STEP_STATE_COMPENSATED: StepState
STEP_STATE_CANCELLED: StepState
DEPLOYMENT_STATUS_UNSPECIFIED: DeploymentStatus
DEPLOYMENT_STATUS_IN_PROGRESS: DeploymentStatus
DEPLOYMENT_STATUS_SUCCEEDED: DeploymentStatus
DEPLOYMENT_STATUS_FAILED: DeploymentStatus
DEPLOYMENT_STATUS_ROLLED_BACK: DeploymentStatus
PERFORMANCE_BAND_UNSPECIFIED: PerformanceBand
PERFORMANCE_BAND_ELITE: PerformanceBand
PERFORMANCE_BAND_HIGH: PerformanceBand
PERFORMANCE_BAND_MEDIUM: PerformanceBand
PERFORMANCE_BAND_LOW: PerformanceBand

class Quota(_message.Message):
    __slots__ = ("team", "max_services", "max_instances", "max_monthly_cost", "used_services", "used_instances", "used_monthly_cost", "overridden")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    MAX_SERVICES_FIELD_NUMBER: _ClassVar[int]
    MAX_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    MAX_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    USED_SERVICES_FIELD_NUMBER: _ClassVar[int]
    USED_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    USED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    team: str
    max_services: int
    max_instances: int
    max_monthly_cost: _money_pb2.Money
    used_services: int
    used_instances: int
    used_monthly_cost: _money_pb2.Money
    overridden: bool
    def __init__(self, team: _Optional[str] = ..., max_services: _Optional[int] = ..., max_instances: _Optional[int] = ..., max_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., used_services: _Optional[int] = ..., used_instances: _Optional[int] = ..., used_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., overridden: _Optional[bool] = ...) -> None: ...

class GetQuotaRequest(_message.Message):
    __slots__ = ("team",)
    TEAM_FIELD_NUMBER: _ClassVar[int]
    team: str
    def __init__(self, team: _Optional[str] = ...) -> None: ...

class UpdateQuotaRequest(_message.Message):
    __slots__ = ("quota",)
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    quota: Quota
    def __init__(self, quota: _Optional[_Union[Quota, _Mapping]] = ...) -> None: ...

class CheckQuotaRequest(_message.Message):
    __slots__ = ("team", "plan", "estimated_monthly_cost")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    team: str
    plan: _common_pb2.Plan
    estimated_monthly_cost: _money_pb2.Money
    def __init__(self, team: _Optional[str] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class QuotaCheck(_message.Message):
    __slots__ = ("quota", "current", "requested", "limit", "allowed")
    QUOTA_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    quota: str
    current: float
    requested: float
    limit: float
    allowed: bool
    def __init__(self, quota: _Optional[str] = ..., current: _Optional[float] = ..., requested: _Optional[float] = ..., limit: _Optional[float] = ..., allowed: _Optional[bool] = ...) -> None: ...

class CheckQuotaResponse(_message.Message):
    __slots__ = ("allowed", "checks")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    checks: _containers.RepeatedCompositeFieldContainer[QuotaCheck]
    def __init__(self, allowed: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[QuotaCheck, _Mapping]]] = ...) -> None: ...

class PolicyDecisionRef(_message.Message):
    __slots__ = ("decision", "outcome", "override_approved_by")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    decision: str
    outcome: str
    override_approved_by: str
    def __init__(self, decision: _Optional[str] = ..., outcome: _Optional[str] = ..., override_approved_by: _Optional[str] = ...) -> None: ...

class ProvisionServiceRequest(_message.Message):
    __slots__ = ("plan", "estimated_monthly_cost", "policy_decision", "request_id", "requester")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    POLICY_DECISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    plan: _common_pb2.Plan
    estimated_monthly_cost: _money_pb2.Money
    policy_decision: PolicyDecisionRef
    request_id: str
    requester: str
    def __init__(self, plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., policy_decision: _Optional[_Union[PolicyDecisionRef, _Mapping]] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ...) -> None: ...

class Step(_message.Message):
    __slots__ = ("name", "state", "attempts", "start_time", "end_time", "error", "detail", "report")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: StepState
    attempts: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    error: str
    detail: str
    report: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[StepState, str]] = ..., attempts: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., detail: _Optional[str] = ..., report: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class OperationMetadata(_message.Message):
    __slots__ = ("kind", "service", "team", "environment", "steps", "create_time", "update_time", "end_time", "requester", "cancel_requested", "upgrade")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    UPGRADE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    service: str
    team: str
    environment: str
    steps: _containers.RepeatedCompositeFieldContainer[Step]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    requester: str
    cancel_requested: bool
    upgrade: _struct_pb2.Struct
    def __init__(self, kind: _Optional[str] = ..., service: _Optional[str] = ..., team: _Optional[str] = ..., environment: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[Step, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requester: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., upgrade: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ProvisionResult(_message.Message):
    __slots__ = ("service", "endpoints", "dashboards", "documentation_url", "commit", "path")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    DASHBOARDS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_URL_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    service: str
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    dashboards: _containers.RepeatedCompositeFieldContainer[_common_pb2.Link]
    documentation_url: str
    commit: str
    path: str
    def __init__(self, service: _Optional[str] = ..., endpoints: _Optional[_Iterable[str]] = ..., dashboards: _Optional[_Iterable[_Union[_common_pb2.Link, _Mapping]]] = ..., documentation_url: _Optional[str] = ..., commit: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class RunWorkflowRequest(_message.Message):
    __slots__ = ("service", "workflow", "version", "image", "environment", "request_id", "requester")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    service: str
    workflow: str
    version: str
    image: str
    environment: str
    request_id: str
    requester: str
    def __init__(self, service: _Optional[str] = ..., workflow: _Optional[str] = ..., version: _Optional[str] = ..., image: _Optional[str] = ..., environment: _Optional[str] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ...) -> None: ...

class WorkflowResult(_message.Message):
    __slots__ = ("deployment",)
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    deployment: Deployment
    def __init__(self, deployment: _Optional[_Union[Deployment, _Mapping]] = ...) -> None: ...

class DeprovisionServiceRequest(_message.Message):
    __slots__ = ("service", "request_id", "requester", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    request_id: str
    requester: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class UpdateInstanceTypeRequest(_message.Message):
    __slots__ = ("service", "resource", "instance_type", "request_id", "requester")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    service: str
    resource: str
    instance_type: str
    request_id: str
    requester: str
    def __init__(self, service: _Optional[str] = ..., resource: _Optional[str] = ..., instance_type: _Optional[str] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ...) -> None: ...

class OptimizeResourcesRequest(_message.Message):
    __slots__ = ("service", "resource", "cpu_request", "cpu_limit", "memory_request", "memory_limit", "min_replicas", "max_replicas", "bake_time", "reason", "request_id", "requester", "scale_out_only")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CPU_REQUEST_FIELD_NUMBER: _ClassVar[int]
    CPU_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_REQUEST_FIELD_NUMBER: _ClassVar[int]
    MEMORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    MAX_REPLICAS_FIELD_NUMBER: _ClassVar[int]
    BAKE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    SCALE_OUT_ONLY_FIELD_NUMBER: _ClassVar[int]
    service: str
    resource: str
    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    min_replicas: int
    max_replicas: int
    bake_time: _duration_pb2.Duration
    reason: str
    request_id: str
    requester: str
    scale_out_only: bool
    def __init__(self, service: _Optional[str] = ..., resource: _Optional[str] = ..., cpu_request: _Optional[str] = ..., cpu_limit: _Optional[str] = ..., memory_request: _Optional[str] = ..., memory_limit: _Optional[str] = ..., min_replicas: _Optional[int] = ..., max_replicas: _Optional[int] = ..., bake_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ..., scale_out_only: _Optional[bool] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("name", "environment", "version", "image", "commit", "status", "start_time", "end_time", "requester", "workflow", "operation", "template", "template_revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    version: str
    image: str
    commit: str
    status: DeploymentStatus
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    requester: str
    workflow: str
    operation: str
    template: str
    template_revision: int
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., version: _Optional[str] = ..., image: _Optional[str] = ..., commit: _Optional[str] = ..., status: _Optional[_Union[DeploymentStatus, str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requester: _Optional[str] = ..., workflow: _Optional[str] = ..., operation: _Optional[str] = ..., template: _Optional[str] = ..., template_revision: _Optional[int] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "filter")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    filter: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ("deployments", "next_page_token")
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    next_page_token: str
    def __init__(self, deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetDeliveryMetricsRequest(_message.Message):
    __slots__ = ("team", "start_time", "end_time", "environment")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    team: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    environment: str
    def __init__(self, team: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ...) -> None: ...

class DeliveryMetrics(_message.Message):
    __slots__ = ("team", "deployments_per_day", "deployment_frequency_band", "lead_time_hours", "lead_time_band", "change_failure_rate", "change_failure_rate_band", "mean_time_to_recovery_hours", "time_to_recovery_band", "time_to_first_deploy_hours", "services_created_per_week", "deployments", "services_created", "failed_deployments", "start_time", "end_time")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FREQUENCY_BAND_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_HOURS_FIELD_NUMBER: _ClassVar[int]
    LEAD_TIME_BAND_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FAILURE_RATE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FAILURE_RATE_BAND_FIELD_NUMBER: _ClassVar[int]
    MEAN_TIME_TO_RECOVERY_HOURS_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_RECOVERY_BAND_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_DEPLOY_HOURS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_CREATED_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_CREATED_FIELD_NUMBER: _ClassVar[int]
    FAILED_DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    team: str
    deployments_per_day: float
    deployment_frequency_band: PerformanceBand
    lead_time_hours: float
    lead_time_band: PerformanceBand
    change_failure_rate: float
    change_failure_rate_band: PerformanceBand
    mean_time_to_recovery_hours: float
    time_to_recovery_band: PerformanceBand
    time_to_first_deploy_hours: float
    services_created_per_week: float
    deployments: int
    services_created: int
    failed_deployments: int
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, team: _Optional[str] = ..., deployments_per_day: _Optional[float] = ..., deployment_frequency_band: _Optional[_Union[PerformanceBand, str]] = ..., lead_time_hours: _Optional[float] = ..., lead_time_band: _Optional[_Union[PerformanceBand, str]] = ..., change_failure_rate: _Optional[float] = ..., change_failure_rate_band: _Optional[_Union[PerformanceBand, str]] = ..., mean_time_to_recovery_hours: _Optional[float] = ..., time_to_recovery_band: _Optional[_Union[PerformanceBand, str]] = ..., time_to_first_deploy_hours: _Optional[float] = ..., services_created_per_week: _Optional[float] = ..., deployments: _Optional[int] = ..., services_created: _Optional[int] = ..., failed_deployments: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PromoteServiceRequest(_message.Message):
    __slots__ = ("service", "source_environment", "target_environment", "version", "plan", "estimated_monthly_cost", "policy_decision", "request_id", "requester")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    POLICY_DECISION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    service: str
    source_environment: str
    target_environment: str
    version: str
    plan: _common_pb2.Plan
    estimated_monthly_cost: _money_pb2.Money
    policy_decision: PolicyDecisionRef
    request_id: str
    requester: str
    def __init__(self, service: _Optional[str] = ..., source_environment: _Optional[str] = ..., target_environment: _Optional[str] = ..., version: _Optional[str] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., estimated_monthly_cost: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., policy_decision: _Optional[_Union[PolicyDecisionRef, _Mapping]] = ..., request_id: _Optional[str] = ..., requester: _Optional[str] = ...) -> None: ...

class ApprovePromotionRequest(_message.Message):
    __slots__ = ("name", "approver", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    approver: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., approver: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectPromotionRequest(_message.Message):
    __slots__ = ("name", "approver", "reason")
    NAME_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    name: str
    approver: str
    reason: str
    def __init__(self, name: _Optional[str] = ..., approver: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class PromotionGate(_message.Message):
    __slots__ = ("gate", "passed", "evidence")
    GATE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    gate: str
    passed: bool
    evidence: str
    def __init__(self, gate: _Optional[str] = ..., passed: _Optional[bool] = ..., evidence: _Optional[str] = ...) -> None: ...

class PromotionResult(_message.Message):
    __slots__ = ("source_environment", "target_environment", "version", "image", "commit", "gates")
    SOURCE_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TARGET_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    GATES_FIELD_NUMBER: _ClassVar[int]
    source_environment: str
    target_environment: str
    version: str
    image: str
    commit: str
    gates: _containers.RepeatedCompositeFieldContainer[PromotionGate]
    def __init__(self, source_environment: _Optional[str] = ..., target_environment: _Optional[str] = ..., version: _Optional[str] = ..., image: _Optional[str] = ..., commit: _Optional[str] = ..., gates: _Optional[_Iterable[_Union[PromotionGate, _Mapping]]] = ...) -> None: ...

class CheckGitOpsEditsRequest(_message.Message):
    __slots__ = ("names",)
    NAMES_FIELD_NUMBER: _ClassVar[int]
    names: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, names: _Optional[_Iterable[str]] = ...) -> None: ...

class CheckGitOpsEditsResponse(_message.Message):
    __slots__ = ("edits",)
    EDITS_FIELD_NUMBER: _ClassVar[int]
    edits: _containers.RepeatedCompositeFieldContainer[GitOpsEdits]
    def __init__(self, edits: _Optional[_Iterable[_Union[GitOpsEdits, _Mapping]]] = ...) -> None: ...

class GitOpsEdits(_message.Message):
    __slots__ = ("name", "tracked", "path", "hand_edited", "paved_commit", "last_commit", "files", "changes")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRACKED_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    HAND_EDITED_FIELD_NUMBER: _ClassVar[int]
    PAVED_COMMIT_FIELD_NUMBER: _ClassVar[int]
    LAST_COMMIT_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    name: str
    tracked: bool
    path: str
    hand_edited: bool
    paved_commit: str
    last_commit: str
    files: _containers.RepeatedScalarFieldContainer[str]
    changes: _containers.RepeatedCompositeFieldContainer[_common_pb2.ObjectChange]
    def __init__(self, name: _Optional[str] = ..., tracked: _Optional[bool] = ..., path: _Optional[str] = ..., hand_edited: _Optional[bool] = ..., paved_commit: _Optional[str] = ..., last_commit: _Optional[str] = ..., files: _Optional[_Iterable[str]] = ..., changes: _Optional[_Iterable[_Union[_common_pb2.ObjectChange, _Mapping]]] = ...) -> None: ...

class UpgradeTarget(_message.Message):
    __slots__ = ("name", "from_revision", "plan", "monthly_cost_delta")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_COST_DELTA_FIELD_NUMBER: _ClassVar[int]
    name: str
    from_revision: int
    plan: _common_pb2.Plan
    monthly_cost_delta: float
    def __init__(self, name: _Optional[str] = ..., from_revision: _Optional[int] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., monthly_cost_delta: _Optional[float] = ...) -> None: ...

class UpgradeWave(_message.Message):
    __slots__ = ("targets",)
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedCompositeFieldContainer[UpgradeTarget]
    def __init__(self, targets: _Optional[_Iterable[_Union[UpgradeTarget, _Mapping]]] = ...) -> None: ...

class UpgradeSkip(_message.Message):
    __slots__ = ("name", "reason", "detail")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    name: str
    reason: str
    detail: str
    def __init__(self, name: _Optional[str] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class StartTemplateUpgradeRequest(_message.Message):
    __slots__ = ("template", "to_revision", "waves", "skipped", "failure_budget", "bake_seconds", "requester", "request_id")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TO_REVISION_FIELD_NUMBER: _ClassVar[int]
    WAVES_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_BUDGET_FIELD_NUMBER: _ClassVar[int]
    BAKE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    template: str
    to_revision: int
    waves: _containers.RepeatedCompositeFieldContainer[UpgradeWave]
    skipped: _containers.RepeatedCompositeFieldContainer[UpgradeSkip]
    failure_budget: int
    bake_seconds: int
    requester: str
    request_id: str
    def __init__(self, template: _Optional[str] = ..., to_revision: _Optional[int] = ..., waves: _Optional[_Iterable[_Union[UpgradeWave, _Mapping]]] = ..., skipped: _Optional[_Iterable[_Union[UpgradeSkip, _Mapping]]] = ..., failure_budget: _Optional[int] = ..., bake_seconds: _Optional[int] = ..., requester: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RollbackTemplateUpgradeRequest(_message.Message):
    __slots__ = ("operation", "requester", "request_id")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    operation: str
    requester: str
    request_id: str
    def __init__(self, operation: _Optional[str] = ..., requester: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...
