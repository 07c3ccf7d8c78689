import datetime

from google.protobuf import duration_pb2 as _duration_pb2
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

class ServiceView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVICE_VIEW_UNSPECIFIED: _ClassVar[ServiceView]
    SERVICE_VIEW_BASIC: _ClassVar[ServiceView]
    SERVICE_VIEW_FULL: _ClassVar[ServiceView]
SERVICE_VIEW_UNSPECIFIED: ServiceView
SERVICE_VIEW_BASIC: ServiceView
SERVICE_VIEW_FULL: ServiceView

class Template(_message.Message):
    __slots__ = ("name", "description", "document", "parameters", "resources", "workflows", "revision", "etag", "builtin", "create_time", "update_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    document: str
    parameters: _containers.RepeatedCompositeFieldContainer[TemplateParameter]
    resources: _containers.RepeatedCompositeFieldContainer[TemplateResource]
    workflows: _containers.RepeatedCompositeFieldContainer[_common_pb2.Workflow]
    revision: int
    etag: str
    builtin: bool
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., document: _Optional[str] = ..., parameters: _Optional[_Iterable[_Union[TemplateParameter, _Mapping]]] = ..., resources: _Optional[_Iterable[_Union[TemplateResource, _Mapping]]] = ..., workflows: _Optional[_Iterable[_Union[_common_pb2.Workflow, _Mapping]]] = ..., revision: _Optional[int] = ..., etag: _Optional[str] = ..., builtin: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TemplateParameter(_message.Message):
    __slots__ = ("name", "type", "required", "default_value", "values", "pattern", "min", "max", "description")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TYPE_UNSPECIFIED: _ClassVar[TemplateParameter.Type]
        TYPE_STRING: _ClassVar[TemplateParameter.Type]
        TYPE_ENUM: _ClassVar[TemplateParameter.Type]
        TYPE_INT: _ClassVar[TemplateParameter.Type]
        TYPE_BOOL: _ClassVar[TemplateParameter.Type]
    TYPE_UNSPECIFIED: TemplateParameter.Type
    TYPE_STRING: TemplateParameter.Type
    TYPE_ENUM: TemplateParameter.Type
    TYPE_INT: TemplateParameter.Type
    TYPE_BOOL: TemplateParameter.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: TemplateParameter.Type
    required: bool
    default_value: _struct_pb2.Value
    values: _containers.RepeatedScalarFieldContainer[str]
    pattern: str
    min: int
    max: int
    description: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[TemplateParameter.Type, str]] = ..., required: _Optional[bool] = ..., default_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., values: _Optional[_Iterable[str]] = ..., pattern: _Optional[str] = ..., min: _Optional[int] = ..., max: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class TemplateResource(_message.Message):
    __slots__ = ("type", "template", "condition", "automatic", "includes", "name")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    AUTOMATIC_FIELD_NUMBER: _ClassVar[int]
    INCLUDES_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    type: str
    template: str
    condition: str
    automatic: bool
    includes: _containers.RepeatedScalarFieldContainer[str]
    name: str
    def __init__(self, type: _Optional[str] = ..., template: _Optional[str] = ..., condition: _Optional[str] = ..., automatic: _Optional[bool] = ..., includes: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ...) -> None: ...

class CreateTemplateRequest(_message.Message):
    __slots__ = ("document", "request_id", "change_note")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    document: str
    request_id: str
    change_note: str
    def __init__(self, document: _Optional[str] = ..., request_id: _Optional[str] = ..., change_note: _Optional[str] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ...) -> None: ...

class TemplateRevision(_message.Message):
    __slots__ = ("template", "revision", "digest", "author", "change_note", "create_time", "document")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    template: str
    revision: int
    digest: str
    author: str
    change_note: str
    create_time: _timestamp_pb2.Timestamp
    document: str
    def __init__(self, template: _Optional[str] = ..., revision: _Optional[int] = ..., digest: _Optional[str] = ..., author: _Optional[str] = ..., change_note: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., document: _Optional[str] = ...) -> None: ...

class ListTemplateRevisionsRequest(_message.Message):
    __slots__ = ("name", "page_size", "page_token")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    name: str
    page_size: int
    page_token: str
    def __init__(self, name: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTemplateRevisionsResponse(_message.Message):
    __slots__ = ("revisions", "next_page_token")
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    revisions: _containers.RepeatedCompositeFieldContainer[TemplateRevision]
    next_page_token: str
    def __init__(self, revisions: _Optional[_Iterable[_Union[TemplateRevision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetTemplateDriftRequest(_message.Message):
    __slots__ = ("name", "revision", "service", "include_plans")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_PLANS_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    service: str
    include_plans: bool
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ..., service: _Optional[str] = ..., include_plans: _Optional[bool] = ...) -> None: ...

class TemplateDrift(_message.Message):
    __slots__ = ("template", "revision", "latest_revision", "services", "current_count", "pinned_count")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    LATEST_REVISION_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    PINNED_COUNT_FIELD_NUMBER: _ClassVar[int]
    template: str
    revision: int
    latest_revision: int
    services: _containers.RepeatedCompositeFieldContainer[ServiceDrift]
    current_count: int
    pinned_count: int
    def __init__(self, template: _Optional[str] = ..., revision: _Optional[int] = ..., latest_revision: _Optional[int] = ..., services: _Optional[_Iterable[_Union[ServiceDrift, _Mapping]]] = ..., current_count: _Optional[int] = ..., pinned_count: _Optional[int] = ...) -> None: ...

class ServiceDrift(_message.Message):
    __slots__ = ("name", "service", "environment", "team", "revision", "revisions_behind", "changes", "problem", "pin", "plan", "current_plan")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_BEHIND_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PLAN_FIELD_NUMBER: _ClassVar[int]
    name: str
    service: str
    environment: str
    team: str
    revision: int
    revisions_behind: int
    changes: _containers.RepeatedCompositeFieldContainer[_common_pb2.ObjectChange]
    problem: str
    pin: TemplatePin
    plan: _common_pb2.Plan
    current_plan: _common_pb2.Plan
    def __init__(self, name: _Optional[str] = ..., service: _Optional[str] = ..., environment: _Optional[str] = ..., team: _Optional[str] = ..., revision: _Optional[int] = ..., revisions_behind: _Optional[int] = ..., changes: _Optional[_Iterable[_Union[_common_pb2.ObjectChange, _Mapping]]] = ..., problem: _Optional[str] = ..., pin: _Optional[_Union[TemplatePin, _Mapping]] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., current_plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ...) -> None: ...

class TemplatePin(_message.Message):
    __slots__ = ("revision", "reason", "expire_time", "pinned_by", "create_time")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    PINNED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    revision: int
    reason: str
    expire_time: _timestamp_pb2.Timestamp
    pinned_by: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, revision: _Optional[int] = ..., reason: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pinned_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PinTemplateRevisionRequest(_message.Message):
    __slots__ = ("name", "revision", "reason", "expire_time")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: int
    reason: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[int] = ..., reason: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UnpinTemplateRevisionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates", "next_page_token")
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    next_page_token: str
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateTemplateRequest(_message.Message):
    __slots__ = ("name", "document", "etag", "change_note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CHANGE_NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    document: str
    etag: str
    change_note: str
    def __init__(self, name: _Optional[str] = ..., document: _Optional[str] = ..., etag: _Optional[str] = ..., change_note: _Optional[str] = ...) -> None: ...

class DeleteTemplateRequest(_message.Message):
    __slots__ = ("name", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteTemplateResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ValidateTemplateRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: str
    def __init__(self, document: _Optional[str] = ...) -> None: ...

class DocumentViolation(_message.Message):
    __slots__ = ("path", "message", "line", "column")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    COLUMN_FIELD_NUMBER: _ClassVar[int]
    path: str
    message: str
    line: int
    column: int
    def __init__(self, path: _Optional[str] = ..., message: _Optional[str] = ..., line: _Optional[int] = ..., column: _Optional[int] = ...) -> None: ...

class ValidateTemplateResponse(_message.Message):
    __slots__ = ("valid", "violations")
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[DocumentViolation]
    def __init__(self, valid: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[DocumentViolation, _Mapping]]] = ...) -> None: ...

class ParameterViolation(_message.Message):
    __slots__ = ("field", "rule", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    rule: str
    description: str
    def __init__(self, field: _Optional[str] = ..., rule: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ValidateParametersRequest(_message.Message):
    __slots__ = ("template", "parameters")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    template: str
    parameters: _struct_pb2.Struct
    def __init__(self, template: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ValidateParametersResponse(_message.Message):
    __slots__ = ("valid", "violations", "resolved")
    VALID_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    violations: _containers.RepeatedCompositeFieldContainer[ParameterViolation]
    resolved: _struct_pb2.Struct
    def __init__(self, valid: _Optional[bool] = ..., violations: _Optional[_Iterable[_Union[ParameterViolation, _Mapping]]] = ..., resolved: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RenderContext(_message.Message):
    __slots__ = ("service_name", "team", "environment", "namespace", "image", "region", "cost_center", "replicas_floor")
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    COST_CENTER_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FLOOR_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    team: str
    environment: str
    namespace: str
    image: str
    region: str
    cost_center: str
    replicas_floor: int
    def __init__(self, service_name: _Optional[str] = ..., team: _Optional[str] = ..., environment: _Optional[str] = ..., namespace: _Optional[str] = ..., image: _Optional[str] = ..., region: _Optional[str] = ..., cost_center: _Optional[str] = ..., replicas_floor: _Optional[int] = ...) -> None: ...

class RenderTemplateRequest(_message.Message):
    __slots__ = ("template", "parameters", "context")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    template: str
    parameters: _struct_pb2.Struct
    context: RenderContext
    def __init__(self, template: _Optional[str] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., context: _Optional[_Union[RenderContext, _Mapping]] = ...) -> None: ...

class RenderTemplateResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: _common_pb2.Plan
    def __init__(self, plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("name", "team", "template", "template_revision", "parameters", "environment", "state", "endpoints", "dashboards", "documentation_url", "plan", "annotations", "etag", "create_time", "update_time", "uid", "environments")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Service.State]
        STATE_PROVISIONING: _ClassVar[Service.State]
        STATE_ACTIVE: _ClassVar[Service.State]
        STATE_FAILED: _ClassVar[Service.State]
        STATE_DEPROVISIONING: _ClassVar[Service.State]
        STATE_DELETED: _ClassVar[Service.State]
    STATE_UNSPECIFIED: Service.State
    STATE_PROVISIONING: Service.State
    STATE_ACTIVE: Service.State
    STATE_FAILED: Service.State
    STATE_DEPROVISIONING: Service.State
    STATE_DELETED: Service.State
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REVISION_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    DASHBOARDS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTATION_URL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    team: str
    template: str
    template_revision: int
    parameters: _struct_pb2.Struct
    environment: str
    state: Service.State
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    dashboards: _containers.RepeatedCompositeFieldContainer[_common_pb2.Link]
    documentation_url: str
    plan: _common_pb2.Plan
    annotations: _containers.ScalarMap[str, str]
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    uid: str
    environments: _containers.RepeatedCompositeFieldContainer[ServiceEnvironment]
    def __init__(self, name: _Optional[str] = ..., team: _Optional[str] = ..., template: _Optional[str] = ..., template_revision: _Optional[int] = ..., parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., environment: _Optional[str] = ..., state: _Optional[_Union[Service.State, str]] = ..., endpoints: _Optional[_Iterable[str]] = ..., dashboards: _Optional[_Iterable[_Union[_common_pb2.Link, _Mapping]]] = ..., documentation_url: _Optional[str] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., uid: _Optional[str] = ..., environments: _Optional[_Iterable[_Union[ServiceEnvironment, _Mapping]]] = ...) -> None: ...

class Environment(_message.Message):
    __slots__ = ("name", "position", "namespace", "region", "replicas_floor", "approval_required", "soak_time", "approval_timeout", "description", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FLOOR_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    SOAK_TIME_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    position: int
    namespace: str
    region: str
    replicas_floor: int
    approval_required: bool
    soak_time: _duration_pb2.Duration
    approval_timeout: _duration_pb2.Duration
    description: str
    etag: str
    def __init__(self, name: _Optional[str] = ..., position: _Optional[int] = ..., namespace: _Optional[str] = ..., region: _Optional[str] = ..., replicas_floor: _Optional[int] = ..., approval_required: _Optional[bool] = ..., soak_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., approval_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., description: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ServiceEnvironment(_message.Message):
    __slots__ = ("name", "environment", "state", "parameter_overrides", "plan", "version", "image", "namespace", "endpoints", "annotations", "etag", "create_time", "update_time", "template_revision", "pin")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REVISION_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    name: str
    environment: str
    state: Service.State
    parameter_overrides: _struct_pb2.Struct
    plan: _common_pb2.Plan
    version: str
    image: str
    namespace: str
    endpoints: _containers.RepeatedScalarFieldContainer[str]
    annotations: _containers.ScalarMap[str, str]
    etag: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    template_revision: int
    pin: TemplatePin
    def __init__(self, name: _Optional[str] = ..., environment: _Optional[str] = ..., state: _Optional[_Union[Service.State, str]] = ..., parameter_overrides: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., plan: _Optional[_Union[_common_pb2.Plan, _Mapping]] = ..., version: _Optional[str] = ..., image: _Optional[str] = ..., namespace: _Optional[str] = ..., endpoints: _Optional[_Iterable[str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., etag: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., template_revision: _Optional[int] = ..., pin: _Optional[_Union[TemplatePin, _Mapping]] = ...) -> None: ...

class ListEnvironmentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEnvironmentsResponse(_message.Message):
    __slots__ = ("environments",)
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    environments: _containers.RepeatedCompositeFieldContainer[Environment]
    def __init__(self, environments: _Optional[_Iterable[_Union[Environment, _Mapping]]] = ...) -> None: ...

class UpdateEnvironmentRequest(_message.Message):
    __slots__ = ("environment", "update_mask")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    environment: Environment
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, environment: _Optional[_Union[Environment, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class GetServiceEnvironmentRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListServiceEnvironmentsRequest(_message.Message):
    __slots__ = ("parent", "view")
    PARENT_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    parent: str
    view: ServiceView
    def __init__(self, parent: _Optional[str] = ..., view: _Optional[_Union[ServiceView, str]] = ...) -> None: ...

class ListServiceEnvironmentsResponse(_message.Message):
    __slots__ = ("service_environments",)
    SERVICE_ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    service_environments: _containers.RepeatedCompositeFieldContainer[ServiceEnvironment]
    def __init__(self, service_environments: _Optional[_Iterable[_Union[ServiceEnvironment, _Mapping]]] = ...) -> None: ...

class UpdateServiceEnvironmentRequest(_message.Message):
    __slots__ = ("service_environment", "update_mask")
    SERVICE_ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    service_environment: ServiceEnvironment
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, service_environment: _Optional[_Union[ServiceEnvironment, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class CreateServiceRequest(_message.Message):
    __slots__ = ("service", "request_id")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    service: Service
    request_id: str
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetServiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "filter", "view")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    filter: str
    view: ServiceView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., filter: _Optional[str] = ..., view: _Optional[_Union[ServiceView, str]] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("services", "next_page_token")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[Service]
    next_page_token: str
    def __init__(self, services: _Optional[_Iterable[_Union[Service, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateServiceRequest(_message.Message):
    __slots__ = ("service", "update_mask")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    service: Service
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class DeleteServiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteServiceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExportBackstageEntitiesRequest(_message.Message):
    __slots__ = ("filter", "location_url")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    LOCATION_URL_FIELD_NUMBER: _ClassVar[int]
    filter: str
    location_url: str
    def __init__(self, filter: _Optional[str] = ..., location_url: _Optional[str] = ...) -> None: ...

class ExportBackstageEntitiesResponse(_message.Message):
    __slots__ = ("entities", "yaml")
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    entities: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    yaml: str
    def __init__(self, entities: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., yaml: _Optional[str] = ...) -> None: ...

class ExportBackstageTemplateRequest(_message.Message):
    __slots__ = ("template", "proxy_path")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    PROXY_PATH_FIELD_NUMBER: _ClassVar[int]
    template: str
    proxy_path: str
    def __init__(self, template: _Optional[str] = ..., proxy_path: _Optional[str] = ...) -> None: ...

class ExportBackstageTemplateResponse(_message.Message):
    __slots__ = ("template", "yaml")
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    template: _struct_pb2.Struct
    yaml: str
    def __init__(self, template: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., yaml: _Optional[str] = ...) -> None: ...

class ReportServiceFactsRequest(_message.Message):
    __slots__ = ("service", "source", "facts")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    service: str
    source: str
    facts: _struct_pb2.Struct
    def __init__(self, service: _Optional[str] = ..., source: _Optional[str] = ..., facts: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ReportServiceFactsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScorecardCheck(_message.Message):
    __slots__ = ("id", "title", "passed", "remediation", "evidence")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    REMEDIATION_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    passed: bool
    remediation: str
    evidence: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., passed: _Optional[bool] = ..., remediation: _Optional[str] = ..., evidence: _Optional[str] = ...) -> None: ...

class Scorecard(_message.Message):
    __slots__ = ("service", "team", "level", "checks", "score", "evaluate_time", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EVALUATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    team: str
    level: int
    checks: _containers.RepeatedCompositeFieldContainer[ScorecardCheck]
    score: float
    evaluate_time: _timestamp_pb2.Timestamp
    environment: str
    def __init__(self, service: _Optional[str] = ..., team: _Optional[str] = ..., level: _Optional[int] = ..., checks: _Optional[_Iterable[_Union[ScorecardCheck, _Mapping]]] = ..., score: _Optional[float] = ..., evaluate_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., environment: _Optional[str] = ...) -> None: ...

class GetScorecardRequest(_message.Message):
    __slots__ = ("service", "environment")
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    service: str
    environment: str
    def __init__(self, service: _Optional[str] = ..., environment: _Optional[str] = ...) -> None: ...

class SummarizeScorecardsRequest(_message.Message):
    __slots__ = ("team",)
    TEAM_FIELD_NUMBER: _ClassVar[int]
    team: str
    def __init__(self, team: _Optional[str] = ...) -> None: ...

class SummarizeScorecardsResponse(_message.Message):
    __slots__ = ("scorecards", "average_score", "level", "level_evidence", "check_pass_rates")
    class LevelEvidenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: str
        def __init__(self, key: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...
    class CheckPassRatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SCORECARDS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_SCORE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    LEVEL_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    CHECK_PASS_RATES_FIELD_NUMBER: _ClassVar[int]
    scorecards: _containers.RepeatedCompositeFieldContainer[Scorecard]
    average_score: float
    level: int
    level_evidence: _containers.ScalarMap[int, str]
    check_pass_rates: _containers.ScalarMap[str, float]
    def __init__(self, scorecards: _Optional[_Iterable[_Union[Scorecard, _Mapping]]] = ..., average_score: _Optional[float] = ..., level: _Optional[int] = ..., level_evidence: _Optional[_Mapping[int, str]] = ..., check_pass_rates: _Optional[_Mapping[str, float]] = ...) -> None: ...

class PlatformInput(_message.Message):
    __slots__ = ("name", "value", "set_time", "set_by", "note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SET_TIME_FIELD_NUMBER: _ClassVar[int]
    SET_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    set_time: _timestamp_pb2.Timestamp
    set_by: str
    note: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., set_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., set_by: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class SetPlatformInputRequest(_message.Message):
    __slots__ = ("platform_input",)
    PLATFORM_INPUT_FIELD_NUMBER: _ClassVar[int]
    platform_input: PlatformInput
    def __init__(self, platform_input: _Optional[_Union[PlatformInput, _Mapping]] = ...) -> None: ...

class ListPlatformInputsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPlatformInputsResponse(_message.Message):
    __slots__ = ("platform_inputs",)
    PLATFORM_INPUTS_FIELD_NUMBER: _ClassVar[int]
    platform_inputs: _containers.RepeatedCompositeFieldContainer[PlatformInput]
    def __init__(self, platform_inputs: _Optional[_Iterable[_Union[PlatformInput, _Mapping]]] = ...) -> None: ...
