"""Alert rules: conditions, severities, validation naming each bad field, and the defaults.

A rule is of one of two kinds: a threshold over one metric (the seed's rules, exported as PromQL), or
anomaly detection over the metric history (its condition is ``anomaly_score > <sensitivity threshold>``,
the score being computed by :mod:`paved_alerting.anomaly_watch`; it has no PromQL).
"""

from __future__ import annotations

import enum
import hashlib
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_alerting.anomaly_sensitivity import SENSITIVITIES
from paved_alerting.durations import format_duration
from paved_alerting.metrics import METRIC_NAMES
from paved_alerting.templates import template_problems

SERVICE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
TEAM_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")
RULE_ID = re.compile(r"^[a-z]([-a-z0-9]{0,98}[a-z0-9])?$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Labels the platform sets from the rule's own fields; a rule's extra labels may not override them.
RESERVED_LABELS = frozenset({"alertname", "service", "environment", "team", "severity"})
# The environment of a rule, a sample or a health question that names none: the platform's first one.
DEFAULT_ENVIRONMENT = "development"
MAX_FOR_MS = 7 * 24 * 3600 * 1000
MAX_DISPLAY_NAME = 100
MAX_LABELS = 32
MAX_VALUE_LENGTH = 1024
# Rule ids of the defaults are `{scope}-{suffix}`; the longest suffix is 16 characters.
MAX_DEFAULT_SCOPE = 100 - 17


class Operator(enum.StrEnum):
    """A comparison of a metric value with a threshold, spelled as in PromQL."""

    GREATER_THAN = ">"
    GREATER_THAN_OR_EQUAL = ">="
    LESS_THAN = "<"
    LESS_THAN_OR_EQUAL = "<="
    EQUAL = "=="
    NOT_EQUAL = "!="

    @property
    def compare(self) -> Callable[[float, float], bool]:
        """The comparison as a function of (value, threshold)."""
        return _COMPARE[self]


_COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    Operator.GREATER_THAN: operator.gt,
    Operator.GREATER_THAN_OR_EQUAL: operator.ge,
    Operator.LESS_THAN: operator.lt,
    Operator.LESS_THAN_OR_EQUAL: operator.le,
    Operator.EQUAL: operator.eq,
    Operator.NOT_EQUAL: operator.ne,
}


class RuleKind(enum.StrEnum):
    """What a rule watches: a threshold over one metric, or anomalies of the service's metric history."""

    THRESHOLD = "threshold"
    ANOMALY = "anomaly"


ANOMALY_SCORE = "anomaly_score"
"""The value an anomaly rule compares: the largest robust score of the watched metrics' latest hour."""
DEFAULT_SENSITIVITY = "medium"


def anomaly_condition(sensitivity: str) -> Condition:
    """The condition of an anomaly rule of ``sensitivity``."""
    return Condition(ANOMALY_SCORE, Operator.GREATER_THAN, SENSITIVITIES[sensitivity])


class Severity(enum.StrEnum):
    """How urgent an alert is; the value is the ``severity`` label."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Condition:
    """``metric operator threshold``, e.g. ``error_rate > 0.01``."""

    metric: str
    operator: Operator
    threshold: float

    @property
    def expression(self) -> str:
        """The condition as text, e.g. ``error_rate > 0.01``."""
        return f"{self.metric} {self.operator.value} {format_number(self.threshold)}"

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the condition."""
        return self.operator.compare(value, self.threshold)


_EXPRESSION = re.compile(
    r"^\s*(?P<metric>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<threshold>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)


def parse_expression(text: str) -> tuple[str, Operator, float]:
    """Split ``error_rate > 0.01`` into its parts; raises ValueError with the rule it breaks."""
    match = _EXPRESSION.match(text)
    if match is None:
        raise ValueError(
            "must be `<metric> <operator> <number>` with operator one of >, >=, <, <=, ==, != "
            "(e.g. `error_rate > 0.01`)"
        )
    return match["metric"], Operator(match["op"]), float(match["threshold"])


def format_number(value: float) -> str:
    """A threshold as a person writes it: ``1000`` rather than ``1000.0``, ``0.01`` as is."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True)
class Rule:
    """A validated alert rule; ``rule_id`` is the last segment of ``alertRules/{rule}``."""

    rule_id: str
    service: str
    team: str
    display_name: str
    condition: Condition
    for_ms: int
    severity: Severity
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    default_rule: bool = False
    environment: str = DEFAULT_ENVIRONMENT
    kind: RuleKind = RuleKind.THRESHOLD
    sensitivity: str = ""

    @property
    def name(self) -> str:
        """Resource name ``alertRules/{rule}``."""
        return f"alertRules/{self.rule_id}"

    @property
    def alertname(self) -> str:
        """The ``alertname`` label: the display name in CamelCase, as Prometheus alerts are named."""
        return alertname_of(self.display_name)

    def alert_labels(self) -> dict[str, str]:
        """Every label of the rule's alert: its extra labels plus alertname, service, team and severity."""
        return {
            **self.labels,
            "alertname": self.alertname,
            "service": self.service,
            "environment": self.environment,
            "team": self.team,
            "severity": self.severity.value,
        }


def alertname_of(display_name: str) -> str:
    """``High Error Rate`` → ``HighErrorRate``."""
    words = re.findall(r"[A-Za-z0-9]+", display_name)
    return "".join(word[0].upper() + word[1:] for word in words)


@dataclass
class RuleDraft:
    """A rule as a caller sent it, before validation; None means "not given"."""

    service: str = ""
    team: str = ""
    display_name: str = ""
    metric: str | None = None
    operator: Operator | None = None
    threshold: float | None = None
    expression: str = ""
    for_ms: int | None = 0
    for_error: str | None = None
    severity: Severity | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    environment: str = ""
    kind: RuleKind = RuleKind.THRESHOLD
    sensitivity: str = ""


def default_annotations(display_name: str, condition: Condition) -> dict[str, str]:
    """Summary and description naming the service and the value, for rules that bring none."""
    if condition.metric == ANOMALY_SCORE:
        return {
            "summary": f"{display_name} on {{{{ $labels.service }}}}",
            "description": (
                "Service {{ $labels.service }} departs from its usual daily and weekly pattern: robust score "
                f"{{{{ $value }}}} (alert above {format_number(condition.threshold)})."
            ),
        }
    return {
        "summary": f"{display_name} on {{{{ $labels.service }}}}",
        "description": (
            f"{condition.metric} of service {{{{ $labels.service }}}} is {{{{ $value }}}} "
            f"(alert when {condition.expression})."
        ),
    }


def build_rule(
    rule_id: str, draft: RuleDraft, *, prefix: str = "alert_rule.", default_rule: bool = False
) -> Rule:
    """Validate ``draft`` and return the rule; raises InvalidArgument naming every bad field at once."""
    violations: list[FieldViolation] = []

    def bad(path: str, description: str) -> None:
        violations.append(FieldViolation(f"{prefix}{path}", description))

    if not SERVICE_NAME.match(draft.service):
        bad("service", "required; a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters")
    if not TEAM_NAME.match(draft.team):
        bad("team", "required; lowercase letters, digits, '-', '_' or '.', at most 63 characters")
    if draft.environment and not SERVICE_NAME.match(draft.environment):
        bad("environment", "a DNS-1123 label, e.g. production; empty for the default environment")
    display_name = draft.display_name.strip()
    if not display_name or not alertname_of(display_name):
        bad("display_name", "required; must contain a letter or digit")
    elif len(display_name) > MAX_DISPLAY_NAME:
        bad("display_name", f"at most {MAX_DISPLAY_NAME} characters")
    elif not alertname_of(display_name)[0].isalpha():
        bad("display_name", "must start with a letter")

    condition = _anomaly_condition(draft, bad) if draft.kind is RuleKind.ANOMALY else _condition(draft, bad)
    if draft.kind is not RuleKind.ANOMALY and draft.sensitivity:
        bad("anomaly.sensitivity", "only anomaly rules (kind ANOMALY) have a sensitivity")

    if draft.for_error is not None:
        bad("for_duration", draft.for_error)
    elif draft.for_ms is None or draft.for_ms < 0:
        bad("for_duration", "must not be negative")
    elif draft.for_ms > MAX_FOR_MS:
        bad("for_duration", f"at most {format_duration(MAX_FOR_MS)}")
    if draft.severity is None:
        bad("severity", "required: one of CRITICAL, WARNING, INFO")

    if len(draft.labels) > MAX_LABELS:
        bad("labels", f"at most {MAX_LABELS} labels")
    for key, value in draft.labels.items():
        if not LABEL_NAME.match(key) or key.startswith("__"):
            bad(f"labels[{key}]", "label names match [a-zA-Z_][a-zA-Z0-9_]* and do not start with '__'")
        elif key in RESERVED_LABELS:
            bad(
                f"labels[{key}]",
                f"reserved: {', '.join(sorted(RESERVED_LABELS))} come from the rule's fields",
            )
        elif len(value) > MAX_VALUE_LENGTH:
            bad(f"labels[{key}]", f"at most {MAX_VALUE_LENGTH} characters")
    if len(draft.annotations) > MAX_LABELS:
        bad("annotations", f"at most {MAX_LABELS} annotations")
    for key, value in draft.annotations.items():
        if not LABEL_NAME.match(key) or key.startswith("__"):
            bad(f"annotations[{key}]", "annotation names match [a-zA-Z_][a-zA-Z0-9_]*")
        elif len(value) > 4 * MAX_VALUE_LENGTH:
            bad(f"annotations[{key}]", f"at most {4 * MAX_VALUE_LENGTH} characters")
        else:
            for problem in template_problems(value):
                bad(f"annotations[{key}]", problem)

    if violations or condition is None or draft.severity is None or draft.for_ms is None:
        raise InvalidArgument("the alert rule is invalid", violations)
    annotations = {**default_annotations(display_name, condition), **draft.annotations}
    return Rule(
        rule_id=rule_id,
        service=draft.service,
        team=draft.team,
        display_name=display_name,
        condition=condition,
        for_ms=draft.for_ms,
        severity=draft.severity,
        labels=dict(draft.labels),
        annotations=annotations,
        enabled=draft.enabled,
        default_rule=default_rule,
        environment=draft.environment or DEFAULT_ENVIRONMENT,
        kind=draft.kind,
        sensitivity=draft.sensitivity or DEFAULT_SENSITIVITY if draft.kind is RuleKind.ANOMALY else "",
    )


def _anomaly_condition(draft: RuleDraft, bad: Callable[[str, str], None]) -> Condition | None:
    given = draft.expression.strip() or any(
        part is not None for part in (draft.metric, draft.operator, draft.threshold)
    )
    if given:
        bad("condition", "anomaly rules have no condition or expression: they score the metric history")
        return None
    sensitivity = draft.sensitivity or DEFAULT_SENSITIVITY
    if sensitivity not in SENSITIVITIES:
        bad("anomaly.sensitivity", f"must be one of {', '.join(SENSITIVITIES)}")
        return None
    return anomaly_condition(sensitivity)


def _condition(draft: RuleDraft, bad: Callable[[str, str], None]) -> Condition | None:
    structured = draft.metric is not None or draft.operator is not None or draft.threshold is not None
    op: Operator | None
    threshold: float | None
    if draft.expression.strip():
        try:
            metric, op, threshold = parse_expression(draft.expression)
        except ValueError as exc:
            bad("expression", str(exc))
            return None
        if structured and (draft.metric, draft.operator, draft.threshold) != (metric, op, threshold):
            bad("expression", "disagrees with condition; send one of them, or both saying the same")
            return None
        path = "expression"
    elif structured:
        metric, op, threshold = draft.metric or "", draft.operator, draft.threshold
        path = "condition.metric"
        if op is None:
            bad("condition.operator", "required: one of >, >=, <, <=, ==, !=")
    else:
        bad("condition", "required: a condition (metric, operator, threshold) or an expression")
        return None
    ok = True
    if metric not in METRIC_NAMES:
        bad(path, f"unknown metric {metric!r}; known metrics: {', '.join(METRIC_NAMES)}")
        ok = False
    if threshold is None or not math.isfinite(threshold):
        bad("condition.threshold", "must be a finite number")
        ok = False
    if not ok or op is None or threshold is None:
        return None
    return Condition(metric, op, threshold)


def default_rule_drafts(
    service: str, team: str, environment: str = DEFAULT_ENVIRONMENT
) -> list[tuple[str, RuleDraft]]:
    """The default rules every service gets in each environment (the seed's three and anomalies), keyed
    by their rule id (the default environment's keep the ids they had before services had environments)."""
    environment = environment or DEFAULT_ENVIRONMENT
    scope = service if environment == DEFAULT_ENVIRONMENT else f"{service}-{environment}"
    if len(scope) > MAX_DEFAULT_SCOPE:
        # Both names may be 63 long; a digest of the pair keeps the id unique and within RULE_ID.
        digest = hashlib.sha256(f"{service}/{environment}".encode()).hexdigest()[:12]
        scope = f"{service[: MAX_DEFAULT_SCOPE - 13]}-{digest}"
    defaults = (
        ("high-error-rate", "High Error Rate", "error_rate > 0.01", 5 * 60_000, Severity.WARNING),
        ("service-down", "Service Down", "up == 0", 60_000, Severity.CRITICAL),
        ("high-latency", "High Latency", "latency_p99 > 1000", 10 * 60_000, Severity.WARNING),
    )
    return [
        (
            f"{scope}-{suffix}",
            RuleDraft(
                service=service,
                environment=environment,
                team=team,
                display_name=display_name,
                expression=expression,
                for_ms=for_ms,
                severity=severity,
            ),
        )
        for suffix, display_name, expression, for_ms, severity in defaults
    ] + [
        (
            f"{scope}-anomalies",
            RuleDraft(
                service=service,
                environment=environment,
                team=team,
                display_name="Anomaly Detected",
                kind=RuleKind.ANOMALY,
                sensitivity=DEFAULT_SENSITIVITY,
                metric=None,
                operator=None,
                threshold=None,
                for_ms=0,
                severity=Severity.WARNING,
            ),
        )
    ]


def draft_of(rule: Rule) -> RuleDraft:
    """A draft that rebuilds ``rule``; annotations it got by default are left out, so they follow changes."""
    defaults = default_annotations(rule.display_name, rule.condition)
    anomaly = rule.kind is RuleKind.ANOMALY
    return RuleDraft(
        service=rule.service,
        environment=rule.environment,
        team=rule.team,
        display_name=rule.display_name,
        metric=None if anomaly else rule.condition.metric,
        operator=None if anomaly else rule.condition.operator,
        threshold=None if anomaly else rule.condition.threshold,
        kind=rule.kind,
        sensitivity=rule.sensitivity,
        for_ms=rule.for_ms,
        severity=rule.severity,
        labels=dict(rule.labels),
        annotations={key: text for key, text in rule.annotations.items() if defaults.get(key) != text},
        enabled=rule.enabled,
    )


@dataclass(frozen=True)
class StoredRule:
    """A rule with what storage adds: its etag and times."""

    rule: Rule
    etag: str
    create_time: float
    update_time: float


UPDATABLE_PATHS = (
    "display_name",
    "team",
    "condition",
    "condition.metric",
    "condition.operator",
    "condition.threshold",
    "expression",
    "for_duration",
    "severity",
    "labels",
    "annotations",
    "enabled",
    "anomaly",
    "anomaly.sensitivity",
)


def apply_mask(base: RuleDraft, incoming: RuleDraft, paths: list[str]) -> RuleDraft:
    """``base`` with the fields named by an update mask taken from ``incoming``."""
    if not paths:
        raise InvalidArgument(
            "update_mask is required",
            [FieldViolation("update_mask", f"name the fields to change: {', '.join(UPDATABLE_PATHS)}")],
        )
    bad = [path for path in paths if path not in UPDATABLE_PATHS]
    if bad:
        raise InvalidArgument(
            "update_mask names fields that cannot change",
            [
                FieldViolation(
                    "update_mask", f"{path!r} cannot be updated; updatable: {', '.join(UPDATABLE_PATHS)}"
                )
                for path in bad
            ],
        )
    merged = RuleDraft(
        **{**base.__dict__, "labels": dict(base.labels), "annotations": dict(base.annotations)}
    )
    for path in paths:
        if path == "expression":
            merged.expression = incoming.expression
            merged.metric = merged.operator = merged.threshold = None
        elif path == "condition":
            merged.expression = ""
            merged.metric, merged.operator, merged.threshold = (
                incoming.metric,
                incoming.operator,
                incoming.threshold,
            )
        elif path.startswith("condition."):
            merged.expression = ""
            attribute = path.removeprefix("condition.")
            setattr(merged, attribute, getattr(incoming, attribute))
        elif path in ("anomaly", "anomaly.sensitivity"):
            merged.sensitivity = incoming.sensitivity
        elif path == "for_duration":
            merged.for_ms, merged.for_error = incoming.for_ms, incoming.for_error
        else:
            setattr(merged, path, getattr(incoming, path))
    return merged
