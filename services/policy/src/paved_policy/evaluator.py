"""Evaluating resources against policies: per-resource violations, waivers, rule errors, one decision.

Sentinel's enforcement levels decide: a hard-mandatory failure denies, a soft-mandatory one needs an
override that names who and why, an advisory one only warns. A rule that cannot be evaluated on a
resource fails at its policy's level: it is reported as an error and never counted as a pass.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from paved_policy.domain import (
    EnforcementLevel,
    EvaluationContext,
    EvaluationError,
    EvaluationResult,
    Outcome,
    Override,
    Policy,
    PolicyException,
    Resource,
    ResourceResult,
    Violation,
    WaivedViolation,
)
from paved_policy.fastpath import Defer, as_fast_value
from paved_policy.rules import (
    MessageTemplate,
    Rule,
    RuleCompileError,
    RuleEngine,
    RuleError,
    context_binding,
    fast_context_binding,
    resource_binding,
)

# Far above what one Evaluate request may carry: only bulk audits pause the cyclic collector.
PAUSE_COLLECTOR_AT = 10_000


@dataclass(frozen=True)
class _Compiled:
    policy: Policy
    rule: Rule | None
    template: MessageTemplate
    params: Mapping[str, Any]
    fast: Callable[[dict[str, Any]], bool] | None
    name: str
    broken: RuleError | None = None


@dataclass(frozen=True)
class _Scoped:
    """The policies that apply to one (resource type, team, environment), split by how they run."""

    applicable: list[_Compiled]
    fast: list[_Compiled]
    slow: list[_Compiled]
    broken: list[_Compiled]
    group: Callable[[dict[str, Any], list[Any]], list[tuple[int, bool | None]]] | None
    params: list[Any]
    order: dict[int, int]


def override_is_valid(override: Override | None) -> bool:
    """An override counts only when it names who approved it and why."""
    return bool(override and override.approved_by.strip() and override.reason.strip())


def decide(results: Iterable[ResourceResult], override: Override | None) -> tuple[Outcome, bool]:
    """The one decision over all results, and whether the override was needed and applied."""
    levels = {v.enforcement_level for r in results for v in r.violations} | {
        e.enforcement_level for r in results for e in r.errors
    }
    if EnforcementLevel.HARD_MANDATORY in levels:
        return Outcome.DENY, False
    if EnforcementLevel.SOFT_MANDATORY in levels:
        if override_is_valid(override):
            return Outcome.ALLOW_WITH_WARNINGS, True
        return Outcome.NEEDS_OVERRIDE, False
    if EnforcementLevel.ADVISORY in levels:
        return Outcome.ALLOW_WITH_WARNINGS, False
    return Outcome.ALLOW, False


def summarize(outcome: Outcome, results: Sequence[ResourceResult], override_applied: bool) -> str:
    """One line a person can read: the decision and what led to it."""
    violations = sum(len(r.violations) for r in results)
    waived = sum(len(r.waived) for r in results)
    errors = sum(len(r.errors) for r in results)
    checks = sum(r.policies_evaluated for r in results)
    text = (
        f"{outcome.value}: {len(results)} resource(s), {checks} check(s), {violations} violation(s), "
        f"{waived} waived, {errors} evaluation error(s)"
    )
    failures: list[Violation | EvaluationError] = []
    for r in results:
        failures += r.violations
        failures += r.errors
    blocking = [
        f"{item.policy} on {item.resource}"
        for item in failures
        if item.enforcement_level is not EnforcementLevel.ADVISORY
    ]
    if blocking:
        shown = ", ".join(blocking[:5]) + (f" and {len(blocking) - 5} more" if len(blocking) > 5 else "")
        text += f"; {'overridden' if override_applied else 'failed'}: {shown}"
    return text


class Evaluator:
    """Evaluates batches of resources; compiled programs come from (and stay in) the shared RuleEngine."""

    def __init__(self, engine: RuleEngine, *, batch_rules: bool = True, group_rules: bool = True) -> None:
        self._engine = engine
        # Fast-path rules that apply together run as one generated function per resource.
        self._group_rules = group_rules
        # Rules outside the fast path's subset (or that it defers) go to the C++ runtime: one call per
        # resource for all of them is faster than one call per rule; a resource on which any of them
        # errs is re-evaluated rule by rule, so results are identical either way.
        self._batch_rules = batch_rules

    def _compile(self, policy: Policy) -> _Compiled:
        try:
            rule: Rule | None = self._engine.compile(policy.expression, policy.revision)
            broken = None
        except RuleCompileError as exc:
            # Stored before the engine grew stricter, say: it fails on every resource, never passes.
            rule, broken = None, RuleError(f"the rule does not compile: {exc}")
        try:
            template = self._engine.compile_message(policy.message)
        except RuleCompileError:
            template = MessageTemplate(policy.message, ())
        return _Compiled(
            policy,
            rule,
            template,
            as_fast_value(policy.parameters),
            rule.fast if rule else None,
            policy.name,
            broken,
        )

    def evaluate(
        self,
        resources: Sequence[Resource],
        context: EvaluationContext,
        policies: Sequence[Policy],
        exceptions: Sequence[PolicyException] = (),
        override: Override | None = None,
        *,
        now: datetime | None = None,
    ) -> EvaluationResult:
        """Evaluate ``resources`` against ``policies``; exceptions apply while active at ``now``."""
        # Evaluation creates no reference cycles (reference counting frees all of it), but on audits the
        # cyclic collector keeps re-walking the growing results and takes about half the time: pause it.
        pause_collector = len(resources) >= PAUSE_COLLECTOR_AT and gc.isenabled()
        if pause_collector:
            gc.disable()
        try:
            return self._evaluate(resources, context, policies, exceptions, override, now)
        finally:
            if pause_collector:
                gc.enable()

    def _evaluate(
        self,
        resources: Sequence[Resource],
        context: EvaluationContext,
        policies: Sequence[Policy],
        exceptions: Sequence[PolicyException],
        override: Override | None,
        now: datetime | None,
    ) -> EvaluationResult:
        compiled = [self._compile(policy) for policy in policies]
        moment = now or context.time
        waivers: dict[str, list[PolicyException]] = {}
        for exception in exceptions:
            if exception.is_active(moment):
                waivers.setdefault(exception.policy, []).append(exception)
        context_map = context_binding(context)
        fast_context = fast_context_binding(context)
        in_scope: dict[tuple[str, str, str], _Scoped] = {}
        results = []
        for resource in resources:
            team = context.team or resource.tags.get("team", "")
            environment = context.environment or resource.tags.get("environment", "")
            key = (resource.type, team, environment)
            scoped = in_scope.get(key)
            if scoped is None:
                scoped = self._scoped([c for c in compiled if c.policy.scope.applies(*key)])
                in_scope[key] = scoped
            results.append(
                self._evaluate_resource(
                    resource, team, scoped, context_map, fast_context, waivers, environment
                )
            )
        outcome, override_applied = decide(results, override)
        return EvaluationResult(
            outcome=outcome,
            results=tuple(results),
            override_applied=override_applied,
            summary=summarize(outcome, results, override_applied),
            policy_revisions={policy.name: policy.revision for policy in policies},
        )

    def _evaluate_resource(
        self,
        resource: Resource,
        team: str,
        scoped: _Scoped,
        context_map: Mapping[str, Any],
        fast_context: dict[str, Any],
        waivers: Mapping[str, list[PolicyException]],
        environment: str = "",
    ) -> ResourceResult:
        applicable = scoped.applicable
        resource_map = resource_binding(resource)
        fast_env: dict[str, Any] = {"resource": resource_map, "context": fast_context}
        # Hot loop of audits: only failures and deferrals are remembered.
        failed: list[tuple[_Compiled, bool | RuleError]] = (
            [(c, c.broken) for c in scoped.broken if c.broken is not None] if scoped.broken else []
        )
        pending: list[_Compiled] = list(scoped.slow) if scoped.slow else []
        fast_items = scoped.fast
        if fast_items:
            outcomes = None
            if scoped.group is not None:
                try:
                    outcomes = scoped.group(fast_env, scoped.params)
                except Exception:
                    outcomes = None  # the bindings were not as the group expects: rule by rule
            if outcomes is None:
                outcomes = []
                for index, item in enumerate(fast_items):
                    fast_env["params"] = item.params
                    try:
                        if not item.fast(fast_env):  # type: ignore[misc]
                            outcomes.append((index, False))
                    except Defer:
                        outcomes.append((index, None))
            for index, answer in outcomes:
                if answer is None:
                    pending.append(fast_items[index])
                else:
                    failed.append((fast_items[index], False))
        if pending:
            answers = self._evaluate_pending(pending, resource_map, context_map)
            for item, result in zip(pending, answers, strict=True):
                if result is not True:
                    failed.append((item, result))
        if not failed:
            return ResourceResult(resource.name, resource.type, policies_evaluated=len(applicable))
        if (pending or scoped.broken) and len(failed) > 1:
            failed.sort(key=lambda pair: scoped.order[id(pair[0])])
        violations: list[Violation] = []
        waived: list[WaivedViolation] = []
        errors: list[EvaluationError] = []
        for item, outcome in failed:
            policy = item.policy
            if isinstance(outcome, RuleError):
                errors.append(
                    EvaluationError(item.name, resource.name, outcome.message, policy.level_in(environment))
                )
                continue
            violation = Violation(
                policy=item.name,
                policy_revision=policy.revision,
                severity=policy.severity,
                enforcement_level=policy.level_in(environment),
                message=self._message(item, resource, resource_map, context_map, fast_context),
                resource=resource.name,
            )
            candidates = waivers.get(item.name) if waivers else None
            waiver = (
                next((w for w in candidates if w.matches(resource.name, team)), None) if candidates else None
            )
            if waiver is None:
                violations.append(violation)
            else:
                waived.append(WaivedViolation(violation, waiver.name))
        return ResourceResult(
            resource=resource.name,
            type=resource.type,
            violations=tuple(violations),
            waived=tuple(waived),
            errors=tuple(errors),
            policies_evaluated=len(applicable),
        )

    def _scoped(self, applicable: list[_Compiled]) -> _Scoped:
        fast = [c for c in applicable if c.fast is not None]
        broken = [c for c in applicable if c.broken is not None]
        group = self._engine.compile_fast_group([(c.policy.expression, c.policy.revision) for c in fast])
        return _Scoped(
            applicable=applicable,
            fast=fast,
            slow=[c for c in applicable if c.fast is None and c.broken is None],
            broken=broken,
            group=group if self._group_rules else None,
            params=[c.params for c in fast],
            order={id(item): index for index, item in enumerate(applicable)},
        )

    def _evaluate_pending(
        self, pending: list[_Compiled], resource_map: Mapping[str, Any], context_map: Mapping[str, Any]
    ) -> Sequence[bool | RuleError]:
        """Evaluate ``pending`` rules with the C++ runtime, in one call when several are left."""
        if self._batch_rules and len(pending) > 1:
            batch = self._engine.compile_batch([(c.policy.expression, c.policy.revision) for c in pending])
            params = [c.params for c in pending]
            batched = self._engine.evaluate_batch(batch, resource_map, context_map, params)
            if batched is not None:
                return batched
        answers: list[bool | RuleError] = []
        for c in pending:
            assert c.rule is not None  # rules that do not compile never reach the runtime
            answers.append(
                self._engine.evaluate(
                    c.rule, {"resource": resource_map, "context": context_map, "params": c.params}
                )
            )
        return answers

    def _message(
        self,
        item: _Compiled,
        resource: Resource,
        resource_map: Mapping[str, Any],
        context_map: Mapping[str, Any],
        fast_context: dict[str, Any],
    ) -> str:
        if not item.template.parts:
            return f"{resource.name} does not comply with {item.policy.name}"
        return self._engine.render(
            item.template,
            {"resource": resource_map, "context": context_map, "params": item.params},
            {"resource": resource_map, "context": fast_context, "params": item.params},
        )
