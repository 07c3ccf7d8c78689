import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from paved.common.v1 import common_pb2 as _common_pb2
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
    SEVERITY_ERROR: _ClassVar[Severity]
    SEVERITY_WARNING: _ClassVar[Severity]
    SEVERITY_INFO: _ClassVar[Severity]

class EnforcementLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENFORCEMENT_LEVEL_UNSPECIFIED: _ClassVar[EnforcementLevel]
    ENFORCEMENT_LEVEL_ADVISORY: _ClassVar[EnforcementLevel]
    ENFORCEMENT_LEVEL_SOFT_MANDATORY: _ClassVar[EnforcementLevel]
    ENFORCEMENT_LEVEL_HARD_MANDATORY: _ClassVar[EnforcementLevel]

class DecisionOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_OUTCOME_UNSPECIFIED: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_ALLOW: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_ALLOW_WITH_WARNINGS: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_NEEDS_OVERRIDE: _ClassVar[DecisionOutcome]
    DECISION_OUTCOME_DENY: _ClassVar[DecisionOutcome]
SEVERITY_UNSPECIFIED: Severity
SEVERITY_ERROR: Severity
SEVERITY_WARNING: Severity
SEVERITY_INFO: Severity
ENFORCEMENT_LEVEL_UNSPECIFIED: EnforcementLevel
ENFORCEMENT_LEVEL_ADVISORY: EnforcementLevel
ENFORCEMENT_LEVEL_SOFT_MANDATORY: EnforcementLevel
ENFORCEMENT_LEVEL_HARD_MANDATORY: EnforcementLevel
DECISION_OUTCOME_UNSPECIFIED: DecisionOutcome
DECISION_OUTCOME_ALLOW: DecisionOutcome
DECISION_OUTCOME_ALLOW_WITH_WARNINGS: DecisionOutcome
DECISION_OUTCOME_NEEDS_OVERRIDE: DecisionOutcome
DECISION_OUTCOME_DENY: DecisionOutcome

class Scope(_message.Message):
    __slots__ = ("resource_types", "teams", "environments")
    RESOURCE_TYPES_FIELD_NUMBER: _ClassVar[int]
    TEAMS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    resource_types: _containers.RepeatedScalarFieldContainer[str]
    teams: _containers.RepeatedScalarFieldContainer[str]
    environments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, resource_types: _Optional[_Iterable[str]] = ..., teams: _Optional[_Iterable[str]] = ..., environments: _Optional[_Iterable[str]] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("name", "description", "severity", "enforcement_level", "scope", "expression", "message", "parameters", "enabled", "builtin", "revision", "etag", "create_time", "update_time", "environment_levels")
    class EnvironmentLevelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: EnforcementLevel
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[EnforcementLevel, str]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_LEVELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    severity: Severity
    enforcement_level: EnforcementLevel
    scope: Scope
    expression: str
    message: str
    parameters: _struct_pb2.Struct
    enabled: bool
    builtin: bool
    revision: int
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    environment_levels: _containers.ScalarMap[str, EnforcementLevel]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., severity: _Optional[_Union[Severity, str]] = ..., enforcement_level: _Optional[_Union[EnforcementLevel, str]] = ..., scope: _Optional[_Union[Scope, _Mapping]] = ..., expression: _Optional[str] = ..., message: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., enabled: _Optional[bool] = ..., builtin: _Optional[bool] = ..., revision: _Optional[int] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment_levels: _Optional[_Mapping[str, EnforcementLevel]] = ...) -> None: ...

class CreatePolicyRequest(_message.Message):
    __slots__ = ("policy", "policy_id", "request_id")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    policy_id: str
    request_id: str
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ..., policy_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListPoliciesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListPoliciesResponse(_message.Message):
    __slots__ = ("policies", "next_page_token")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[Policy]
    next_page_token: str
    def __init__(self, policies: _Optional[_Iterable[_Union[Policy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdatePolicyRequest(_message.Message):
    __slots__ = ("policy", "update_mask")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: Policy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[Policy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeletePolicyRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeletePolicyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PolicyException(_message.Message):
    __slots__ = ("name", "resource_pattern", "team", "approved_by", "reason", "expire_time", "create_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_PATTERN_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    resource_pattern: str
    team: str
    approved_by: str
    reason: str
    expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., resource_pattern: _Optional[str] = ..., team: _Optional[str] = ..., approved_by: _Optional[str] = ..., reason: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateExceptionRequest(_message.Message):
    __slots__ = ("parent", "exception", "request_id")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    EXCEPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    exception: PolicyException
    request_id: str
    def __init__(self, parent: _Optional[str] = ..., exception: _Optional[_Union[PolicyException, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ListExceptionsRequest(_message.Message):
    __slots__ = ("parent", "page_size", "page_token", "show_expired")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHOW_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    parent: str
    page_size: int
    page_token: str
    show_expired: bool
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., show_expired: _Optional[bool] = ...) -> None: ...

class ListExceptionsResponse(_message.Message):
    __slots__ = ("exceptions", "next_page_token")
    EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    exceptions: _containers.RepeatedCompositeFieldContainer[PolicyException]
    next_page_token: str
    def __init__(self, exceptions: _Optional[_Iterable[_Union[PolicyException, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteExceptionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteExceptionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EvaluationContext(_message.Message):
    __slots__ = ("team", "environment", "requester", "time", "service", "estimated_monthly_cost", "currency", "attributes")
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MONTHLY_COST_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    team: str
    environment: str
    requester: str
    time: _timestamp_pb2.Timestamp
    service: str
    estimated_monthly_cost: float
    currency: str
    attributes: _struct_pb2.Struct
    def __init__(self, team: _Optional[str] = ..., environment: _Optional[str] = ..., requester: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., service: _Optional[str] = ..., estimated_monthly_cost: _Optional[float] = ..., currency: _Optional[str] = ..., attributes: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Override(_message.Message):
    __slots__ = ("approved_by", "reason")
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    approved_by: str
    reason: str
    def __init__(self, approved_by: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class Violation(_message.Message):
    __slots__ = ("policy", "policy_revision", "severity", "enforcement_level", "message", "resource")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISION_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    policy: str
    policy_revision: int
    severity: Severity
    enforcement_level: EnforcementLevel
    message: str
    resource: str
    def __init__(self, policy: _Optional[str] = ..., policy_revision: _Optional[int] = ..., severity: _Optional[_Union[Severity, str]] = ..., enforcement_level: _Optional[_Union[EnforcementLevel, str]] = ..., message: _Optional[str] = ..., resource: _Optional[str] = ...) -> None: ...

class WaivedViolation(_message.Message):
    __slots__ = ("violation", "exception")
    VIOLATION_FIELD_NUMBER: _ClassVar[int]
    EXCEPTION_FIELD_NUMBER: _ClassVar[int]
    violation: Violation
    exception: str
    def __init__(self, violation: _Optional[_Union[Violation, _Mapping]] = ..., exception: _Optional[str] = ...) -> None: ...

class EvaluationError(_message.Message):
    __slots__ = ("policy", "resource", "message", "enforcement_level")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_LEVEL_FIELD_NUMBER: _ClassVar[int]
    policy: str
    resource: str
    message: str
    enforcement_level: EnforcementLevel
    def __init__(self, policy: _Optional[str] = ..., resource: _Optional[str] = ..., message: _Optional[str] = ..., enforcement_level: _Optional[_Union[EnforcementLevel, str]] = ...) -> None: ...

class ResourceResult(_message.Message):
    __slots__ = ("resource", "type", "violations", "waived", "errors", "policies_evaluated")
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    WAIVED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    resource: str
    type: str
    violations: _containers.RepeatedCompositeFieldContainer[Violation]
    waived: _containers.RepeatedCompositeFieldContainer[WaivedViolation]
    errors: _containers.RepeatedCompositeFieldContainer[EvaluationError]
    policies_evaluated: int
    def __init__(self, resource: _Optional[str] = ..., type: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[Violation, _Mapping]]] = ..., waived: _Optional[_Iterable[_Union[WaivedViolation, _Mapping]]] = ..., errors: _Optional[_Iterable[_Union[EvaluationError, _Mapping]]] = ..., policies_evaluated: _Optional[int] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("resources", "context", "override")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.Resource]
    context: EvaluationContext
    override: Override
    def __init__(self, resources: _Optional[_Iterable[_Union[_common_pb2.Resource, _Mapping]]] = ..., context: _Optional[_Union[EvaluationContext, _Mapping]] = ..., override: _Optional[_Union[Override, _Mapping]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("outcome", "results", "decision", "override_applied", "summary")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_APPLIED_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    outcome: DecisionOutcome
    results: _containers.RepeatedCompositeFieldContainer[ResourceResult]
    decision: str
    override_applied: bool
    summary: str
    def __init__(self, outcome: _Optional[_Union[DecisionOutcome, str]] = ..., results: _Optional[_Iterable[_Union[ResourceResult, _Mapping]]] = ..., decision: _Optional[str] = ..., override_applied: _Optional[bool] = ..., summary: _Optional[str] = ...) -> None: ...

class DryRunPoliciesRequest(_message.Message):
    __slots__ = ("policies", "resources", "context")
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedCompositeFieldContainer[Policy]
    resources: _containers.RepeatedCompositeFieldContainer[_common_pb2.Resource]
    context: EvaluationContext
    def __init__(self, policies: _Optional[_Iterable[_Union[Policy, _Mapping]]] = ..., resources: _Optional[_Iterable[_Union[_common_pb2.Resource, _Mapping]]] = ..., context: _Optional[_Union[EvaluationContext, _Mapping]] = ...) -> None: ...

class DryRunPoliciesResponse(_message.Message):
    __slots__ = ("outcome", "results")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    outcome: DecisionOutcome
    results: _containers.RepeatedCompositeFieldContainer[ResourceResult]
    def __init__(self, outcome: _Optional[_Union[DecisionOutcome, str]] = ..., results: _Optional[_Iterable[_Union[ResourceResult, _Mapping]]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("name", "outcome", "inputs_digest", "policy_revisions", "override", "requester", "team", "environment", "service", "results", "create_time")
    class PolicyRevisionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    INPUTS_DIGEST_FIELD_NUMBER: _ClassVar[int]
    POLICY_REVISIONS_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    outcome: DecisionOutcome
    inputs_digest: str
    policy_revisions: _containers.ScalarMap[str, int]
    override: Override
    requester: str
    team: str
    environment: str
    service: str
    results: _containers.RepeatedCompositeFieldContainer[ResourceResult]
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., outcome: _Optional[_Union[DecisionOutcome, str]] = ..., inputs_digest: _Optional[str] = ..., policy_revisions: _Optional[_Mapping[str, int]] = ..., override: _Optional[_Union[Override, _Mapping]] = ..., requester: _Optional[str] = ..., team: _Optional[str] = ..., environment: _Optional[str] = ..., service: _Optional[str] = ..., results: _Optional[_Iterable[_Union[ResourceResult, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
