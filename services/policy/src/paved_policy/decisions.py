"""Deciding: Evaluate against the enabled policies (recorded in the audit log), dry runs, the log."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from typing import Any

from paved_kit.errors import FieldViolation, InvalidArgument, NotFound
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_policy import store
from paved_policy.administration import utcnow
from paved_policy.domain import (
    DECISION_PREFIX,
    Decision,
    EvaluationContext,
    EvaluationResult,
    Outcome,
    Override,
    Policy,
    PolicyException,
    Resource,
)
from paved_policy.evaluator import Evaluator
from paved_policy.facts import FactsReporter, decision_facts
from paved_policy.filtering import FieldKind, FilterField, enum_values
from paved_policy.listing import cut_page, list_filter, list_page_size
from paved_policy.models import DecisionRow
from paved_policy.paging import decode_token
from paved_policy.records import (
    decision_from_row,
    exception_from_row,
    policy_from_row,
    result_to_dict,
    sortable_id,
)
from paved_policy.rules import RuleEngine
from paved_policy.settings import PolicySettings
from paved_policy.validation import (
    check_context,
    check_override,
    check_parameters,
    check_policy,
    check_resources,
    policy_id_violation,
)

DECISION_FILTER_FIELDS = {
    "outcome": FilterField(
        FieldKind.ENUM, enum_values({outcome.name: outcome.value for outcome in Outcome}, "DECISION_OUTCOME_")
    ),
    "team": FilterField(FieldKind.STRING),
    "environment": FilterField(FieldKind.STRING),
    "requester": FilterField(FieldKind.STRING),
    "service": FilterField(FieldKind.STRING),
    "inputs_digest": FilterField(FieldKind.STRING),
    "override_applied": FilterField(FieldKind.BOOL),
    "create_time": FilterField(FieldKind.TIMESTAMP),
}
_log = get_logger(__name__)
# Above this many resources the CPU-bound evaluation moves off the event loop, so other calls proceed.
_OFFLOAD_RESOURCES = 200


def inputs_digest(
    resources: Sequence[Resource], context: EvaluationContext, override: Override | None
) -> str:
    """SHA-256 of the canonical JSON of everything the decision depended on besides the policies."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    document = {
        "resources": [plain(asdict(resource)) for resource in resources],
        "context": plain(asdict(context)),
        "override": asdict(override) if override else None,
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Decisions:
    """Evaluate, DryRunPolicies and the audit log over one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: PolicySettings,
        engine: RuleEngine,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._engine = engine
        self._evaluator = Evaluator(engine)
        self._clock = clock
        self.facts = FactsReporter(settings)

    def _check_request(
        self,
        resources: Sequence[Resource],
        context: EvaluationContext,
        override: Override | None,
        problems: Sequence[FieldViolation],
    ) -> list[FieldViolation]:
        return [
            *problems,
            *check_resources(resources, max_resources=self._settings.max_resources_per_request),
            *check_context(context),
            *check_override(override),
        ]

    async def _run(
        self,
        resources: Sequence[Resource],
        context: EvaluationContext,
        policies: Sequence[Policy],
        exceptions: Sequence[PolicyException],
        override: Override | None,
        now: datetime,
    ) -> EvaluationResult:
        if len(resources) > _OFFLOAD_RESOURCES:
            return await asyncio.to_thread(
                self._evaluator.evaluate, resources, context, policies, exceptions, override, now=now
            )
        return self._evaluator.evaluate(resources, context, policies, exceptions, override, now=now)

    async def evaluate(
        self,
        resources: Sequence[Resource],
        context: EvaluationContext,
        override: Override | None = None,
        *,
        problems: Sequence[FieldViolation] = (),
    ) -> tuple[EvaluationResult, str]:
        """Evaluate against every enabled policy, record the decision; returns it and its name."""
        violations = self._check_request(resources, context, override, problems)
        if violations:
            raise InvalidArgument("invalid evaluation request", violations)
        now = self._clock()
        async with self._sessions() as session:
            policies = [policy_from_row(row) for row in await store.enabled_policies(session=session)]
            exceptions = [
                exception_from_row(row) for row in await store.active_exceptions(session=session, now=now)
            ]
        result = await self._run(resources, context, policies, exceptions, override, now)
        decision_id = sortable_id()
        row = DecisionRow(
            decision_id=decision_id,
            outcome=result.outcome.value,
            inputs_digest=inputs_digest(resources, context, override),
            policy_revisions=dict(result.policy_revisions),
            override_approved_by=override.approved_by if override else None,
            override_reason=override.reason if override else None,
            override_applied=result.override_applied,
            requester=context.requester,
            team=context.team,
            environment=context.environment,
            service=context.service,
            summary=result.summary,
            results=[result_to_dict(item) for item in result.results],
            create_time=now,
        )
        async with self._sessions.begin() as session:
            await store.add_decision(session=session, row=row)
        _log.info(
            "policy decision recorded",
            decision=DECISION_PREFIX + decision_id,
            outcome=result.outcome.value,
            team=context.team,
            environment=context.environment,
            service_name=context.service,
            requester=context.requester,
            resources=len(resources),
            violations=sum(len(r.violations) for r in result.results),
            errors=sum(len(r.errors) for r in result.results),
            override_applied=result.override_applied,
        )
        if context.service:
            # After the decision's transaction: scorecard facts for the catalog, in the background.
            self.facts.report(
                context.service.removeprefix("services/"),
                decision_facts(result, DECISION_PREFIX + decision_id, now.isoformat().replace("+00:00", "Z")),
            )
        return result, DECISION_PREFIX + decision_id

    async def dry_run(
        self,
        policies: Sequence[Policy],
        resources: Sequence[Resource],
        context: EvaluationContext,
        *,
        problems: Sequence[FieldViolation] = (),
    ) -> EvaluationResult:
        """Evaluate ``policies`` (enabled or not, saved or not) without recording anything."""
        violations = list(problems)
        if not policies:
            violations.append(FieldViolation("policies", "at least one policy is required"))
        names: set[str] = set()
        drafts = []
        for index, policy in enumerate(policies):
            field = f"policies[{index}]"
            if not policy.policy_id:
                policy = replace(policy, policy_id=f"dry-run-{index}")
            elif problem := policy_id_violation(policy.policy_id, f"{field}.name"):
                violations.append(problem)
            if policy.name in names:
                violations.append(FieldViolation(f"{field}.name", f"duplicate policy {policy.name}"))
            names.add(policy.name)
            # Drafts share revision 0 in the program cache: their text is the key that matters.
            policy = replace(policy, enabled=True, revision=0)
            violations += check_parameters(policy.parameters, field=f"{field}.parameters")
            violations += check_policy(policy, self._engine, field=field)
            drafts.append(policy)
        violations = self._check_request(resources, context, None, violations)
        if violations:
            raise InvalidArgument("invalid dry run", violations)
        now = self._clock()
        async with self._sessions() as session:
            exceptions = [
                exception_from_row(row) for row in await store.active_exceptions(session=session, now=now)
            ]
        return await self._run(resources, context, drafts, exceptions, None, now)

    async def get_decision(self, name: str) -> Decision:
        """A recorded decision."""
        decision_id = name.removeprefix(DECISION_PREFIX) if name.startswith(DECISION_PREFIX) else ""
        if not decision_id or "/" in decision_id:
            raise InvalidArgument(
                f"invalid decision name {name!r}", [FieldViolation("name", "must be decisions/{decision}")]
            )
        async with self._sessions() as session:
            row = await store.get_decision(session=session, decision_id=decision_id)
        if row is None:
            raise NotFound(f"decision {name} not found", metadata={"decision": name})
        return decision_from_row(row)

    async def list_decisions(
        self, *, filter_text: str, page_token: str, requested_size: int
    ) -> tuple[list[Decision], str]:
        """A page of the audit log, newest first."""
        size = list_page_size(self._settings, requested_size)
        where = list_filter(filter_text, DECISION_FILTER_FIELDS)
        before = decode_token(page_token, filter_text)
        async with self._sessions() as session:
            rows = await store.list_decisions(session=session, where=where, before=before, limit=size + 1)
        page, token = cut_page(rows, size, lambda row: row.decision_id, filter_text)
        return [decision_from_row(row) for row in page], token
