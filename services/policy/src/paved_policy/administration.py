"""Managing policies and exceptions: create (idempotent), read, list, update (masked, etag-checked), delete.

Each use case runs in one transaction; bad input raises InvalidArgument with every problem at once and
changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from paved_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_policy import store
from paved_policy.builtins import builtin_policies
from paved_policy.domain import POLICY_PREFIX, Policy, PolicyException, PolicyRecord
from paved_policy.filtering import FieldKind, FilterField, enum_values
from paved_policy.listing import cut_page, list_filter, list_page_size
from paved_policy.models import ExceptionRow, PolicyRow
from paved_policy.paging import decode_token
from paved_policy.records import (
    apply_policy,
    aware,
    exception_from_row,
    policy_etag,
    policy_from_row,
    policy_snapshot,
    sortable_id,
)
from paved_policy.rules import RuleCompileError, RuleEngine
from paved_policy.settings import PolicySettings
from paved_policy.validation import check_exception, check_parameters, check_policy, policy_id_violation

UPDATABLE_PATHS = frozenset(
    {
        "description",
        "severity",
        "enforcement_level",
        "scope",
        "scope.resource_types",
        "scope.teams",
        "scope.environments",
        "expression",
        "message",
        "parameters",
        "enabled",
        "environment_levels",
    }
)
POLICY_FILTER_FIELDS = {
    "enabled": FilterField(FieldKind.BOOL),
    "builtin": FilterField(FieldKind.BOOL),
    "severity": FilterField(
        FieldKind.ENUM, enum_values({"ERROR": "error", "WARNING": "warning", "INFO": "info"}, "SEVERITY_")
    ),
    "enforcement_level": FilterField(
        FieldKind.ENUM,
        enum_values(
            {"ADVISORY": "advisory", "SOFT_MANDATORY": "soft-mandatory", "HARD_MANDATORY": "hard-mandatory"},
            "ENFORCEMENT_LEVEL_",
        ),
    ),
    "revision": FilterField(FieldKind.INT),
    "create_time": FilterField(FieldKind.TIMESTAMP),
    "update_time": FilterField(FieldKind.TIMESTAMP),
}


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def parse_policy_name(name: str, field: str = "name") -> str:
    """The id in ``policies/{policy}``; InvalidArgument otherwise."""
    policy_id = name.removeprefix(POLICY_PREFIX) if name.startswith(POLICY_PREFIX) else ""
    if not policy_id or policy_id_violation(policy_id, field) is not None:
        raise InvalidArgument(
            f"invalid policy name {name!r}", [FieldViolation(field, "must be policies/{policy}")]
        )
    return policy_id


def parse_exception_name(name: str, field: str = "name") -> tuple[str, str]:
    """The (policy id, exception id) in ``policies/{policy}/exceptions/{exception}``."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "policies" or parts[2] != "exceptions" or not parts[1] or not parts[3]:
        raise InvalidArgument(
            f"invalid exception name {name!r}",
            [FieldViolation(field, "must be policies/{policy}/exceptions/{exception}")],
        )
    return parts[1], parts[3]


def _record(row: PolicyRow) -> PolicyRecord:
    return PolicyRecord(
        policy_from_row(row), policy_etag(row), aware(row.create_time), aware(row.update_time)
    )


def _masked(problems: Sequence[FieldViolation], paths: set[str], prefix: str) -> list[FieldViolation]:
    """Only the problems of fields the update mask touches."""
    kept = []
    for problem in problems:
        path = problem.field.removeprefix(prefix)
        if any(path == p or path.startswith(p + ".") or p.startswith(path + ".") for p in paths):
            kept.append(problem)
    return kept


class Administration:
    """Policy and exception management over one database."""

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
        self._clock = clock

    # Built-ins ----------------------------------------------------------------------------------------

    async def ensure_builtins(self) -> list[str]:
        """Create the built-in policies that do not exist yet; returns the names created."""
        created = []
        for policy in builtin_policies(
            max_monthly_cost=self._settings.cost_limit_monthly, currency=self._settings.cost_limit_currency
        ):
            try:
                async with self._sessions.begin() as session:
                    if await store.get_policy(session=session, policy_id=policy.policy_id) is not None:
                        continue
                    await self._insert(session, policy, request_id=None)
                created.append(policy.name)
            except IntegrityError:
                continue  # another replica created it first
        return created

    async def warm_up(self) -> int:
        """Compile every enabled policy now, so the first Evaluate does not pay for it; returns how many."""
        async with self._sessions() as session:
            policies = [policy_from_row(row) for row in await store.enabled_policies(session=session)]
        for policy in policies:
            try:
                self._engine.compile(policy.expression, policy.revision)
                self._engine.compile_message(policy.message)
            except RuleCompileError:
                continue  # stored before a stricter engine; Evaluate will report it
        return len(policies)

    # Policies -----------------------------------------------------------------------------------------

    async def _insert(self, session: AsyncSession, policy: Policy, request_id: str | None) -> PolicyRow:
        now = self._clock()
        row = PolicyRow(
            policy_id=policy.policy_id,
            severity=policy.severity.value,
            enforcement_level=policy.enforcement_level.value,
            expression=policy.expression,
            revision=1,
            request_id=request_id,
            create_time=now,
            update_time=now,
        )
        apply_policy(row, policy)
        await store.add_policy_revision(session=session, row=row, snapshot=policy_snapshot(row))
        return row

    async def create_policy(
        self,
        policy: Policy,
        *,
        request_id: str = "",
        problems: Sequence[FieldViolation] = (),
    ) -> PolicyRecord:
        """Create a policy (never a built-in); a repeated ``request_id`` returns the first result."""
        violations = list(problems)
        id_problem = policy_id_violation(policy.policy_id, "policy_id")
        if id_problem:
            violations.append(id_problem)
        violations += check_parameters(policy.parameters)
        violations += check_policy(dataclasses.replace(policy, revision=1), self._engine)
        if request_id and len(request_id) > 128:
            violations.append(FieldViolation("request_id", "must be at most 128 characters"))
        if violations:
            raise InvalidArgument("invalid policy", violations)
        policy = dataclasses.replace(policy, builtin=False, revision=1)
        try:
            async with self._sessions.begin() as session:
                if request_id:
                    earlier = await store.get_policy_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return _record(earlier)
                if await store.get_policy(session=session, policy_id=policy.policy_id) is not None:
                    raise AlreadyExists(
                        f"policy {policy.name} already exists", metadata={"policy": policy.name}
                    )
                row = await self._insert(session, policy, request_id or None)
        except IntegrityError:
            # A concurrent create with the same id or request id won the race.
            async with self._sessions() as session:
                if request_id:
                    earlier = await store.get_policy_by_request_id(session=session, request_id=request_id)
                    if earlier is not None:
                        return _record(earlier)
            raise AlreadyExists(
                f"policy {policy.name} already exists", metadata={"policy": policy.name}
            ) from None
        return _record(row)

    async def get_policy(self, name: str) -> PolicyRecord:
        """The policy named ``policies/{policy}``."""
        policy_id = parse_policy_name(name)
        async with self._sessions() as session:
            row = await store.get_policy(session=session, policy_id=policy_id)
        if row is None:
            raise NotFound(f"policy {name} not found", metadata={"policy": name})
        return _record(row)

    async def list_policies(
        self, *, filter_text: str, page_token: str, requested_size: int
    ) -> tuple[list[PolicyRecord], str]:
        """A page of policies by name, and the next page's token ('' on the last page)."""
        size = list_page_size(self._settings, requested_size)
        where = list_filter(filter_text, POLICY_FILTER_FIELDS)
        after = decode_token(page_token, filter_text)
        async with self._sessions() as session:
            rows = await store.list_policies(session=session, where=where, after=after, limit=size + 1)
        page, token = cut_page(rows, size, lambda row: row.policy_id, filter_text)
        return [_record(row) for row in page], token

    async def update_policy(
        self,
        policy: Policy,
        *,
        name: str,
        update_mask: Sequence[str],
        etag: str = "",
        problems: Sequence[FieldViolation] = (),
    ) -> PolicyRecord:
        """Change the fields named by ``update_mask`` (all mutable ones when empty); bumps the revision."""
        policy_id = parse_policy_name(name, "policy.name")
        paths = set(update_mask) or {p for p in UPDATABLE_PATHS if "." not in p}
        unknown = sorted(paths - UPDATABLE_PATHS)
        if unknown:
            raise InvalidArgument(
                "invalid update mask",
                [
                    FieldViolation(
                        "update_mask",
                        f"cannot update {', '.join(unknown)}; "
                        f"updatable: {', '.join(sorted(UPDATABLE_PATHS))}",
                    )
                ],
            )
        violations = _masked(problems, paths, "policy.")
        if "parameters" in paths:
            violations += check_parameters(policy.parameters)
        async with self._sessions.begin() as session:
            row = await store.get_policy(session=session, policy_id=policy_id, for_update=True)
            if row is None:
                raise NotFound(f"policy {name} not found", metadata={"policy": name})
            if etag and etag != policy_etag(row):
                raise Aborted(
                    f"policy {name} changed since it was read (etag mismatch); read it again and retry",
                    reason="ETAG_MISMATCH",
                )
            current = policy_from_row(row)
            scope = current.scope
            if "scope" in paths:
                scope = policy.scope
            for part in ("resource_types", "teams", "environments"):
                if f"scope.{part}" in paths:
                    scope = dataclasses.replace(scope, **{part: getattr(policy.scope, part)})
            changes = {
                field: getattr(policy, field)
                for field in (
                    "description",
                    "severity",
                    "enforcement_level",
                    "expression",
                    "message",
                    "parameters",
                    "enabled",
                    "environment_levels",
                )
                if field in paths
            }
            updated = dataclasses.replace(current, scope=scope, revision=current.revision + 1, **changes)
            violations += check_policy(updated, self._engine)
            if violations:
                raise InvalidArgument("invalid policy update", violations)
            apply_policy(row, updated)
            row.revision = updated.revision
            row.update_time = self._clock()
            await store.add_policy_revision(session=session, row=row, snapshot=policy_snapshot(row))
            return _record(row)

    async def delete_policy(self, name: str, *, etag: str = "") -> None:
        """Delete a policy and its exceptions; built-ins are disabled instead, never deleted."""
        policy_id = parse_policy_name(name)
        async with self._sessions.begin() as session:
            row = await store.get_policy(session=session, policy_id=policy_id, for_update=True)
            if row is None:
                raise NotFound(f"policy {name} not found", metadata={"policy": name})
            if etag and etag != policy_etag(row):
                raise Aborted(
                    f"policy {name} changed since it was read (etag mismatch)", reason="ETAG_MISMATCH"
                )
            if row.builtin:
                raise FailedPrecondition(
                    f"{name} is built in and cannot be deleted; set enabled = false to turn it off",
                    reason="BUILTIN_POLICY",
                )
            await store.delete_policy(session=session, policy_id=policy_id)

    # Exceptions ---------------------------------------------------------------------------------------

    async def create_exception(
        self, parent: str, exception: PolicyException, *, request_id: str = ""
    ) -> PolicyException:
        """Waive the parent policy for matching resources until ``expire_time``."""
        policy_id = parse_policy_name(parent, "parent")
        now = self._clock()
        violations = check_exception(
            exception, now=now, max_duration=timedelta(days=self._settings.max_exception_days)
        )
        if violations:
            raise InvalidArgument("invalid exception", violations)
        async with self._sessions.begin() as session:
            if request_id:
                earlier = await store.get_exception_by_request_id(session=session, request_id=request_id)
                if earlier is not None:
                    return exception_from_row(earlier)
            if await store.get_policy(session=session, policy_id=policy_id) is None:
                raise NotFound(f"policy {parent} not found", metadata={"policy": parent})
            row = ExceptionRow(
                exception_id=sortable_id(),
                policy_id=policy_id,
                resource_pattern=exception.resource_pattern,
                team=exception.team,
                approved_by=exception.approved_by.strip(),
                reason=exception.reason.strip(),
                expire_time=exception.expire_time,
                request_id=request_id or None,
                create_time=now,
            )
            await store.add_exception(session=session, row=row)
            return exception_from_row(row)

    async def list_exceptions(
        self, parent: str, *, show_expired: bool, page_token: str, requested_size: int
    ) -> tuple[list[PolicyException], str]:
        """A page of exceptions of one policy (or all, for ``policies/-``), oldest first."""
        policy_id = None if parent == "policies/-" else parse_policy_name(parent, "parent")
        size = list_page_size(self._settings, requested_size)
        query = f"{parent}\0{show_expired}"
        after = decode_token(page_token, query)
        async with self._sessions() as session:
            rows = await store.list_exceptions(
                session=session,
                policy_id=policy_id,
                now=self._clock(),
                show_expired=show_expired,
                after=after,
                limit=size + 1,
            )
        page, token = cut_page(rows, size, lambda row: row.exception_id, query)
        return [exception_from_row(row) for row in page], token

    async def delete_exception(self, name: str) -> None:
        """Delete an exception."""
        policy_id, exception_id = parse_exception_name(name)
        async with self._sessions.begin() as session:
            row = await store.get_exception(session=session, policy_id=policy_id, exception_id=exception_id)
            if row is None:
                raise NotFound(f"exception {name} not found", metadata={"exception": name})
            await store.delete_exception(session=session, row=row)
