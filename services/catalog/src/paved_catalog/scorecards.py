"""Maturity scorecards: checks over what the registry knows about a service and the facts other services
report, the maturity level (0-4) they add up to, and roll-ups per team or for the whole platform.

Levels follow the platform maturity model: 0 ad hoc (none of the below), 1 standardised (owned, cost
center tagged, from a golden path, documented), 2 self-service (provisioned by the platform, managed
through GitOps), 3 observable and secure (full telemetry, default alerts, encrypted data, policy
compliant), 4 optimised (deployed recently, within budget, costs tracked, no open cost recommendations).
A service is at the highest level whose checks, and those of every level below, all pass.

Facts other services report (``ReportServiceFacts``), by source:
provisioning ``last_deploy_time`` (RFC 3339), ``gitops_commit``, and per environment
``deployed_<environment>`` and ``commit_<environment>`` (``-`` written ``_``);
alerting ``default_alerts`` (bool);
policy ``policy_violations`` (number of hard or soft failures in the last decision),
``cost_within_limit`` (bool: no cost_limit violation in it); cost
``cost_registered`` (bool), ``open_recommendations`` (number).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from paved_kit.errors import FieldViolation

RECENT_DEPLOY = timedelta(days=30)
PLATFORM_LEVEL_SHARE = 0.75
SOURCES = ("provisioning", "alerting", "policy", "cost")
MAX_FACTS = 64
_FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def environment_fact(prefix: str, environment: str) -> str:
    """The key of a per-environment fact, e.g. ``deployed_us_east`` (empty when it would be too long)."""
    key = f"{prefix}_{environment.replace('-', '_')}"
    return key if _FACT_KEY.match(key) else ""


def in_environment(facts: Mapping[str, Mapping[str, Any]], environment: str) -> dict[str, dict[str, Any]]:
    """The facts as one environment sees them: provisioning's deployment and GitOps commit are that
    environment's own (none when nothing was deployed there); the other facts are the service's."""
    scoped = {source: dict(values) for source, values in facts.items()}
    provisioning = scoped.setdefault("provisioning", {})
    for fact, prefix in (("last_deploy_time", "deployed"), ("gitops_commit", "commit")):
        key = environment_fact(prefix, environment)
        provisioning[fact] = provisioning.get(key) if key else None
    return scoped


@dataclass(frozen=True)
class ServiceRecord:
    """What a scorecard reads: the registry's view of one service plus the reported facts by source."""

    service: str
    team: str
    template: str
    state: str
    documentation_url: str
    endpoints: Sequence[str]
    plan_summary: Mapping[str, Any]
    facts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    environment: str = ""
    # The template revision it was rendered from, and its template's latest (0: the template is gone).
    template_revision: int = 0
    latest_revision: int = 0

    def fact(self, source: str, key: str) -> Any:
        return self.facts.get(source, {}).get(key)

    def resources(self, rtype: str) -> list[Mapping[str, Any]]:
        return [r for r in self.plan_summary.get("resources", []) if r.get("type") == rtype]


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    passed: bool
    remediation: str
    evidence: str


@dataclass(frozen=True)
class Scorecard:
    service: str
    team: str
    level: int
    checks: tuple[CheckResult, ...]
    score: float
    evaluate_time: datetime
    environment: str = ""


@dataclass(frozen=True)
class Summary:
    scorecards: tuple[Scorecard, ...]
    average_score: float
    level: int
    level_evidence: dict[int, str]
    check_pass_rates: dict[str, float]


Evaluation = tuple[bool, str]


@dataclass(frozen=True)
class _Check:
    id: str
    level: int
    title: str
    remediation: str
    evaluate: Callable[[ServiceRecord, datetime], Evaluation]


def _has_owner(r: ServiceRecord, _: datetime) -> Evaluation:
    return bool(r.team), f"owner team {r.team!r}" if r.team else "no owner team"


def _cost_center(r: ServiceRecord, _: datetime) -> Evaluation:
    resources = list(r.plan_summary.get("resources", []))
    if not resources:
        return False, "no plan recorded"
    untagged = [str(x.get("name", "?")) for x in resources if not (x.get("tags") or {}).get("cost_center")]
    if untagged:
        return False, f"no cost_center tag on: {', '.join(untagged)}"
    centers = sorted({str(x["tags"]["cost_center"]) for x in resources})
    return True, f"cost_center {', '.join(centers)} on {len(resources)} resource(s)"


def _from_template(r: ServiceRecord, _: datetime) -> Evaluation:
    return bool(r.template), f"built from templates/{r.template}" if r.template else "no template"


def _on_current_golden_path(r: ServiceRecord, _: datetime) -> Evaluation:
    if not r.template:
        return False, "no template"
    if not r.latest_revision:
        return False, f"templates/{r.template} no longer exists"
    behind = r.latest_revision - r.template_revision
    if behind <= 0:
        return True, f"on revision {r.template_revision} of templates/{r.template}, the latest"
    return False, (
        f"on revision {r.template_revision} of templates/{r.template}, {behind} behind the latest "
        f"({r.latest_revision})"
    )


def _documented(r: ServiceRecord, _: datetime) -> Evaluation:
    if r.documentation_url:
        return True, f"documentation at {r.documentation_url}"
    return False, "no documentation URL"


def _provisioned(r: ServiceRecord, _: datetime) -> Evaluation:
    return r.state == "ACTIVE" and bool(r.endpoints), f"state {r.state}, {len(r.endpoints)} endpoint(s)"


def _gitops(r: ServiceRecord, _: datetime) -> Evaluation:
    commit = r.fact("provisioning", "gitops_commit")
    return bool(commit), f"manifests at commit {commit}" if commit else "no GitOps commit reported"


def _observability(r: ServiceRecord, _: datetime) -> Evaluation:
    blocks = r.resources("observability")
    props = blocks[0].get("properties", {}) if blocks else {}
    signals = [s for s in ("metrics", "logs", "traces") if props.get(s) is True]
    missing = sorted({"metrics", "logs", "traces"} - set(signals))
    return not missing, f"signals: {', '.join(signals) or 'none'}" + (
        f"; missing {', '.join(missing)}" if missing else ""
    )


def _default_alerts(r: ServiceRecord, _: datetime) -> Evaluation:
    reported = r.fact("alerting", "default_alerts")
    return reported is True, "default alerts in place" if reported is True else "default alerts not reported"


def _encrypted(r: ServiceRecord, _: datetime) -> Evaluation:
    stores = r.resources("database") + r.resources("storage")
    plain = [
        s.get("name", s.get("type", "?"))
        for s in stores
        if s.get("properties", {}).get("encrypted") is not True
    ]
    if plain:
        return False, f"unencrypted: {', '.join(plain)}"
    return True, f"{len(stores)} data store(s), all encrypted" if stores else "no data stores"


def _policy(r: ServiceRecord, _: datetime) -> Evaluation:
    violations = r.fact("policy", "policy_violations")
    if not isinstance(violations, int | float) or isinstance(violations, bool):
        return False, "no policy decision reported"
    return violations == 0, f"{int(violations)} policy violation(s) in the last decision"


def _deployed_recently(r: ServiceRecord, now: datetime) -> Evaluation:
    raw = r.fact("provisioning", "last_deploy_time")
    try:
        when = datetime.fromisoformat(str(raw).replace("Z", "+00:00")) if raw else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        return False, "no deployment reported"
    return now - when <= RECENT_DEPLOY, f"last deployed {when.isoformat()}"


def _within_budget(r: ServiceRecord, _: datetime) -> Evaluation:
    within = r.fact("policy", "cost_within_limit")
    if not isinstance(within, bool):
        return False, "no cost decision reported"
    return within, (
        "estimated monthly cost within the limit in the last policy decision"
        if within
        else "estimated monthly cost over the limit in the last policy decision"
    )


def _cost_tracked(r: ServiceRecord, _: datetime) -> Evaluation:
    tracked = r.fact("cost", "cost_registered") is True
    return tracked, "resources registered for cost tracking" if tracked else "not registered with cost"


def _no_open_recommendations(r: ServiceRecord, _: datetime) -> Evaluation:
    count = r.fact("cost", "open_recommendations")
    if not isinstance(count, int | float) or isinstance(count, bool):
        return False, "no cost recommendations reported"
    return count == 0, f"{int(count)} open cost recommendation(s)"


CHECKS: tuple[_Check, ...] = (
    _Check("has_owner", 1, "Has an owner team", "Register the service with its owner team.", _has_owner),
    _Check(
        "cost_center_tagged",
        1,
        "Cost center tagged",
        "Tag every resource with cost_center (templates add it from the team's settings).",
        _cost_center,
    ),
    _Check(
        "from_golden_path",
        1,
        "Built from a golden path",
        "Create the service from a template.",
        _from_template,
    ),
    _Check(
        "has_documentation", 1, "Has documentation", "Publish docs and set documentation_url.", _documented
    ),
    _Check(
        "provisioned",
        2,
        "Provisioned and serving",
        "Finish provisioning so the service is ACTIVE.",
        _provisioned,
    ),
    _Check(
        "gitops_managed",
        2,
        "Managed through GitOps",
        "Provision through Paved so manifests live in Git.",
        _gitops,
    ),
    _Check(
        "observability",
        3,
        "Metrics, logs and traces",
        "Use a template with automatic observability.",
        _observability,
    ),
    _Check("default_alerts", 3, "Default alerts", "Create the default alert rules.", _default_alerts),
    _Check(
        "encrypted_data",
        3,
        "Data stores encrypted",
        "Enable encryption on every database and bucket.",
        _encrypted,
    ),
    _Check(
        "policy_compliant",
        3,
        "Policy compliant",
        "Fix the policy violations of the last evaluation.",
        _policy,
    ),
    _Check("deployed_recently", 4, "Deployed in the last 30 days", "Deploy regularly.", _deployed_recently),
    _Check(
        "within_budget",
        4,
        "Cost within budget",
        "Bring the estimated monthly cost under the cost_limit policy (smaller instances, fewer replicas).",
        _within_budget,
    ),
    _Check("cost_tracked", 4, "Costs tracked", "Register the service's resources with cost.", _cost_tracked),
    _Check(
        "on_current_golden_path",
        4,
        "On the current golden path",
        "Upgrade to the template's latest revision (POST /api/templates/{template}/upgrades).",
        _on_current_golden_path,
    ),
    _Check(
        "no_cost_recommendations",
        4,
        "No open cost recommendations",
        "Apply or dismiss the open cost recommendations.",
        _no_open_recommendations,
    ),
)
CHECK_IDS = tuple(c.id for c in CHECKS)


def scorecard(record: ServiceRecord, now: datetime) -> Scorecard:
    """The service's checks, score and maturity level at ``now``."""
    results: list[CheckResult] = []
    level = 0
    failed_levels: set[int] = set()
    for check in CHECKS:
        passed, evidence = check.evaluate(record, now)
        results.append(
            CheckResult(check.id, check.title, passed, "" if passed else check.remediation, evidence)
        )
        if not passed:
            failed_levels.add(check.level)
    for candidate in range(1, 5):
        if candidate in failed_levels:
            break
        level = candidate
    score = sum(r.passed for r in results) / len(results)
    return Scorecard(
        record.service, record.team, level, tuple(results), round(score, 4), now, record.environment
    )


def summarize(records: Sequence[ServiceRecord], now: datetime) -> Summary:
    """Scorecards of ``records`` and their roll-up: average score, level, evidence, pass rates."""
    cards = tuple(scorecard(r, now) for r in records)
    total = len(cards)
    if not total:
        return Summary(
            (), 0.0, 0, {level: "no services" for level in range(5)}, dict.fromkeys(CHECK_IDS, 0.0)
        )
    evidence: dict[int, str] = {}
    platform_level = 0
    for level in range(5):
        reached = sum(c.level >= level for c in cards)
        evidence[level] = f"{reached} of {total} service(s) at level {level} or above"
        if level and reached / total >= PLATFORM_LEVEL_SHARE:
            platform_level = level
    rates = {
        check_id: round(sum(next(r.passed for r in c.checks if r.id == check_id) for c in cards) / total, 4)
        for check_id in CHECK_IDS
    }
    return Summary(cards, round(sum(c.score for c in cards) / total, 4), platform_level, evidence, rates)


def fact_violations(source: str, facts: Mapping[str, Any]) -> list[FieldViolation]:
    """Problems with a facts report: known source, 1-64 facts, identifier keys, scalar values."""
    problems: list[FieldViolation] = []
    if source not in SOURCES:
        problems.append(FieldViolation("source", f"must be one of: {', '.join(SOURCES)}"))
    if not facts:
        problems.append(FieldViolation("facts", "report at least one fact"))
    if len(facts) > MAX_FACTS:
        problems.append(FieldViolation("facts", f"at most {MAX_FACTS} facts per report"))
    for key, value in facts.items():
        if not _FACT_KEY.match(key):
            problems.append(FieldViolation(f"facts.{key[:40]}", "keys are lowercase letters, digits and '_'"))
        elif not isinstance(value, str | int | float | bool) or (
            isinstance(value, str) and len(value) > 1024
        ):
            problems.append(
                FieldViolation(f"facts.{key}", "must be a string (up to 1024 characters), number or bool")
            )
    return problems
