"""Runs one leased operation to its end: steps in order with recorded attempts and backoff, compensation
on failure or cancellation, and the operation's final bookkeeping (quota, deployments, result)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from paved_kit.errors import Code
from paved_kit.logging import get_logger
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from paved_provisioning import store
from paved_provisioning.facts import operation_facts
from paved_provisioning.grouped_transactions import Boundary, Ending, GroupedTransactions
from paved_provisioning.handlers import StepContext, Toolkit, run_step, undo_step
from paved_provisioning.manifests import current_image, version_of
from paved_provisioning.models import Deployment, Operation, OperationStep
from paved_provisioning.promotion_records import record_promotion
from paved_provisioning.steps import (
    DEPLOY,
    DEPROVISION,
    OPTIMIZE_RESOURCES,
    PROMOTE,
    PROMOTION_GATES,
    PROVISION,
    ROLLBACK,
    TEMPLATE_UPGRADE,
    UPDATE_INSTANCE_TYPE,
    UPGRADE_ROLLBACK,
    StepError,
    StepOutcome,
    StepParked,
    backoff_seconds,
    concurrent_steps,
)
from paved_provisioning.upgrade_steps import upgrade_report

_log = get_logger(__name__)

DONE_STEP_STATES = ("succeeded", "skipped")


class Cancelled(Exception):
    """Cancellation was requested."""


class OperationRunner:
    """Executes operations a worker holds the lease of."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tools: Toolkit,
    ) -> None:
        self.sessions = sessions
        self.tools = tools
        self.settings = tools.settings
        self.boundaries = GroupedTransactions(sessions)

    async def run(self, operation_id: str) -> None:
        """Run (or resume) the operation; returns when it is done."""

        # Read with the step boundaries waiting now: a burst claims many operations at once.
        operation, steps = await self.boundaries.load(operation_id)
        if operation is None or operation.done:
            return
        # A pending operation is marked running in the transaction that starts its first step.
        starting = operation.state == "pending"
        outputs = {s.name: dict(s.output or {}) for s in steps if s.state in DONE_STEP_STATES}
        finished: list[store.FinishedStep] = []
        try:
            if operation.state in ("compensating", "cancelling"):
                raise _Resume(operation.state, operation.error_message, operation.error_code)
            for group in _groups(operation.kind, [s for s in steps if s.state not in DONE_STEP_STATES]):
                if len(group) == 1:
                    await self._run_step(operation, group[0], outputs, finished, starting=starting)
                else:
                    await self._run_together(operation, group, outputs, finished, starting=starting)
                starting = False
        except _Resume as resume:
            await self._compensate(operation, resume.error_message, resume.code, resume.state == "cancelling")
            return
        except _Parked as parked:
            _log.info("operation parked", operation=operation_id, step=parked.step, until=parked.until)
            return
        except Cancelled:
            await self._update_op(
                operation_id,
                state="cancelling",
                error_code=int(Code.CANCELLED),
                error_message="cancelled on request",
            )
            await self._compensate(operation, "cancelled on request", int(Code.CANCELLED), True)
            return
        except _StepFailed as failure:
            message = f"step {failure.step} failed: {failure.message}"
            await self._update_op(
                operation_id, state="compensating", error_code=int(Code.ABORTED), error_message=message
            )
            await self._compensate(operation, message, int(Code.ABORTED), False)
            return
        await self._succeed(operation, outputs, finished)

    # steps ------------------------------------------------------------------------------------------------

    async def _record_finished(self, session: AsyncSession, finished: list[store.FinishedStep]) -> None:
        recorded = list(finished)
        finished.clear()
        await store.finish_steps(session=session, steps=recorded)

    async def _start(
        self,
        operation: Operation,
        steps: list[OperationStep],
        attempts: dict[int, int],
        finished: list[store.FinishedStep],
        *,
        starting: bool,
    ) -> bool:
        """A step boundary: write the steps that finished, start ``steps`` and mark a pending operation
        running (False when cancellation was asked for), in one transaction shared with the boundaries of
        other operations that wait at the same time."""
        recorded = list(finished)
        finished.clear()
        now = store.utcnow()
        for step in steps:
            step.start_time = step.start_time or now
        starts = [
            store.StepStart(operation.id, step.position, attempts[step.position], step.start_time or now)
            for step in steps
        ]
        return await self.boundaries.cross(Boundary(operation.id, recorded, starts, mark_running=starting))

    async def _run_together(
        self,
        operation: Operation,
        group: list[OperationStep],
        outputs: dict[str, dict[str, Any]],
        finished: list[store.FinishedStep],
        *,
        starting: bool,
    ) -> None:
        """Run steps that do not depend on each other at the same time: one transaction starts them all
        and their successes are written with the next step boundary, as a single step's is. A step that
        fails is recorded with the others' successes, then retried on its own."""
        attempts = {step.position: step.attempts + 1 for step in group}
        started = await self._start(operation, group, attempts, finished, starting=starting)
        if not started:
            raise Cancelled()
        results = await asyncio.gather(
            *(self._attempt(operation, step, attempts[step.position], outputs) for step in group)
        )
        failed: list[tuple[OperationStep, StepError]] = []
        for step, (result, ended) in zip(group, results, strict=True):
            if isinstance(result, StepOutcome):
                self._succeeded(operation, step, result, outputs, finished, attempts[step.position], ended)
            else:
                failed.append((step, result))
        if not failed:
            return
        finals = {
            step.name: not error.retryable or attempts[step.position] >= self.settings.step_max_attempts
            for step, error in failed
        }
        async with self.sessions() as session, session.begin():
            await self._record_finished(session, finished)
            for step, error in failed:
                await self._record_failure(session, operation, step, error, final=finals[step.name])
        for step, error in failed:
            self._log_failure(operation, step, attempts[step.position], error, final=finals[step.name])
        final = next(((step, error) for step, error in failed if finals[step.name]), None)
        if final is not None:
            raise _StepFailed(final[0].name, final[1].message)
        for step, _ in failed:
            step.attempts = attempts[step.position]
            await asyncio.sleep(self._backoff(step.attempts))
            await self._run_step(operation, step, outputs, finished)

    async def _attempt(
        self, operation: Operation, step: OperationStep, attempts: int, outputs: dict[str, dict[str, Any]]
    ) -> tuple[StepOutcome | StepError, datetime]:
        """One attempt at a step run together with others (none of which waits for a person), and when
        it ended."""
        result: StepOutcome | StepError
        try:
            result = await run_step(self._context(operation, step.name, attempts, outputs), self.tools)
        except StepError as exc:
            result = exc
        except StepParked:
            result = StepError("a step run together with others cannot wait", retryable=False)
        except Exception as exc:
            _log.exception("step crashed", operation=operation.id, step=step.name)
            result = StepError(f"unexpected {type(exc).__name__}", retryable=True)
        return result, store.utcnow()

    def _succeeded(
        self,
        operation: Operation,
        step: OperationStep,
        outcome: StepOutcome,
        outputs: dict[str, dict[str, Any]],
        finished: list[store.FinishedStep],
        attempts: int,
        ended: datetime | None = None,
    ) -> None:
        state = "skipped" if outcome.skipped else "succeeded"
        finished.append(
            store.FinishedStep(
                operation.id, step.position, state, outcome.detail, outcome.output, ended or store.utcnow()
            )
        )
        outputs[step.name] = dict(outcome.output)
        _log.debug("step done", operation=operation.id, step=step.name, state=state, attempts=attempts)

    async def _record_failure(
        self,
        session: AsyncSession,
        operation: Operation,
        step: OperationStep,
        error: StepError,
        *,
        final: bool,
    ) -> None:
        await store.update_step(
            session=session,
            operation_id=operation.id,
            position=step.position,
            state="failed" if final else "pending",
            error=error.message,
            end_time=store.utcnow() if final else None,
        )

    def _log_failure(
        self, operation: Operation, step: OperationStep, attempts: int, error: StepError, *, final: bool
    ) -> None:
        _log.warning(
            "step attempt failed",
            operation=operation.id,
            step=step.name,
            attempts=attempts,
            error=error.message,
            final=final,
        )

    def _backoff(self, attempts: int) -> float:
        return backoff_seconds(
            attempts, self.settings.step_backoff_seconds, self.settings.step_backoff_max_seconds
        )

    async def _run_step(
        self,
        operation: Operation,
        step: OperationStep,
        outputs: dict[str, dict[str, Any]],
        finished: list[store.FinishedStep],
        *,
        starting: bool = False,
    ) -> None:
        """Run one step with its retries. Its success is recorded in the same transaction that starts the
        next step (or ends the operation): one round of database work per step boundary, two statements
        (the finished step, and the next one started unless cancellation was asked for)."""
        attempts = step.attempts
        while True:
            attempts += 1
            started = await self._start(
                operation, [step], {step.position: attempts}, finished, starting=starting
            )
            starting = False
            if not started:
                raise Cancelled()
            ctx = self._context(operation, step.name, attempts, outputs)
            try:
                outcome = await run_step(ctx, self.tools)
            except StepParked as parked:
                if await self._park(operation, step, parked):
                    raise _Parked(step.name, parked.detail, parked.until) from None
                # What it waits for arrived meanwhile: run the step again (not a new attempt).
                attempts -= 1
                continue
            except StepError as exc:
                error = exc
            except Exception as exc:
                _log.exception("step crashed", operation=operation.id, step=step.name)
                error = StepError(f"unexpected {type(exc).__name__}", retryable=True)
            else:
                self._succeeded(operation, step, outcome, outputs, finished, attempts)
                return
            final = not error.retryable or attempts >= self.settings.step_max_attempts
            async with self.sessions() as session, session.begin():
                await self._record_failure(session, operation, step, error, final=final)
            self._log_failure(operation, step, attempts, error, final=final)
            if final:
                raise _StepFailed(step.name, error.message)
            await asyncio.sleep(self._backoff(attempts))

    async def _park(self, operation: Operation, step: OperationStep, parked: StepParked) -> bool:
        """Park the operation at ``step`` (still RUNNING, its detail saying what it waits for) until
        ``parked.until``; False when what it waits for has arrived or a cancellation was asked."""
        async with self.sessions() as session, session.begin():
            if not await store.park_operation(
                session=session,
                operation_id=operation.id,
                until=datetime.fromtimestamp(parked.until, UTC),
                unless_payload_has="approval",
            ):
                return False
            await store.update_step(
                session=session, operation_id=operation.id, position=step.position, detail=parked.detail
            )
        return True

    def _context(
        self, operation: Operation, step: str, attempt: int, outputs: dict[str, dict[str, Any]]
    ) -> StepContext:
        created = store.aware(operation.create_time)
        return StepContext(
            operation_id=operation.id,
            kind=operation.kind,
            service=operation.service,
            team=operation.team,
            environment=operation.environment,
            requester=operation.requester,
            payload=operation.payload,
            created_at=created.timestamp() if created else 0.0,
            step=step,
            attempt=attempt,
            outputs=outputs,
        )

    # endings ----------------------------------------------------------------------------------------------

    async def _compensate(self, operation: Operation, message: str, code: int, cancelled: bool) -> None:
        async with self.sessions() as session:
            steps = await store.steps_of(session=session, operation_id=operation.id)
        outputs = {s.name: dict(s.output or {}) for s in steps}
        for step in reversed(steps):
            if step.state != "succeeded":
                continue
            ctx = self._context(operation, step.name, step.attempts, outputs)
            for attempt in range(1, self.settings.step_max_attempts + 1):
                try:
                    done = await undo_step(ctx, self.tools)
                    break
                except StepError as exc:
                    if not exc.retryable or attempt == self.settings.step_max_attempts:
                        # Leave the step SUCCEEDED: what it created is still there, and the error says so.
                        done = None
                        message += f"; compensating {step.name} failed: {exc.message}"
                        break
                    await asyncio.sleep(backoff_seconds(attempt, self.settings.step_backoff_seconds, 5.0))
            if done is not None:
                async with self.sessions() as session, session.begin():
                    await store.update_step(
                        session=session,
                        operation_id=operation.id,
                        position=step.position,
                        state="compensated",
                        detail=f"{step.detail} — undone: {done}",
                    )
        untouched = ("pending", "skipped", "cancelled")
        attempted = operation.kind == PROMOTE and any(
            s.name not in PROMOTION_GATES and s.state not in untouched for s in steps
        )
        async with self.sessions() as session, session.begin():
            if attempted:
                # The target was changed and it failed: a failed deployment there (DORA counts it).
                await self._failed_promotion(session, operation)
            for step in steps:
                if step.state in ("pending", "running"):
                    await store.update_step(
                        session=session,
                        operation_id=operation.id,
                        position=step.position,
                        state="cancelled" if cancelled else "pending",
                        end_time=store.utcnow(),
                        detail="not run: operation cancelled"
                        if cancelled
                        else "not run: an earlier step failed",
                    )
            await self._release_resources(session, operation, failed=True)
            await store.update_operation(
                session=session,
                operation_id=operation.id,
                done=True,
                state="cancelled" if cancelled else "failed",
                error_code=code,
                error_message=message,
                end_time=store.utcnow(),
                lease_owner=None,
                lease_expires_at=None,
            )
        _log.info(
            "operation ended", operation=operation.id, kind=operation.kind, state="failed", error=message
        )
        await self._report_facts(operation, "cancelled" if cancelled else "failed", outputs, store.utcnow())

    async def _failed_promotion(self, session: AsyncSession, operation: Operation) -> None:
        payload = operation.payload
        if await session.get(Deployment, payload["deployment_id"]) is not None:
            return  # a compensation resumed after a crash recorded it already
        await store.add_deployment(
            session=session,
            deployment=Deployment(
                id=payload["deployment_id"],
                service=operation.service,
                environment=operation.environment,
                version=str(payload.get("version", "")),
                image=str(payload.get("image", "")),
                commit="",
                status="failed",
                requester=operation.requester,
                workflow="promotion",
                operation_id=operation.id,
                plan=payload.get("plan") or {},
                start_time=operation.create_time,
                end_time=store.utcnow(),
            ),
        )

    async def _release_resources(self, session: AsyncSession, operation: Operation, *, failed: bool) -> None:
        deployment = operation.payload.get("deployment_id")
        if operation.kind in (PROVISION, DEPROVISION) and failed:
            # FAILED releases the quota and lets a new provision or deprovision start over.
            await store.set_service_fields(
                session=session, name=operation.service, environment=operation.environment, state="failed"
            )
        if deployment:
            await store.update_deployment(
                session=session, deployment_id=deployment, status="failed", end_time=store.utcnow()
            )

    async def _succeed(
        self, operation: Operation, outputs: dict[str, dict[str, Any]], finished: list[store.FinishedStep]
    ) -> None:
        now = store.utcnow()
        payload = operation.payload
        recorded = list(finished)
        finished.clear()

        # The operation's end, in a transaction shared with other boundaries waiting at the same time.
        async def ending(session: AsyncSession) -> list[store.RowUpdate]:
            result: dict[str, Any] = {}
            writes: list[store.RowUpdate] = []
            deployment = payload.get("deployment_id")
            if operation.kind == PROVISION:
                commit = outputs.get("gitops_commit", {})
                active = outputs.get("activate", {})
                result = {
                    "service": f"services/{operation.service}",
                    "endpoints": active.get("endpoints", []),
                    "dashboards": active.get("dashboards", []),
                    "documentation_url": active.get("documentation_url", ""),
                    "commit": commit.get("commit", ""),
                    "path": commit.get("path", ""),
                }
                writes.append(store.service_update(operation.service, operation.environment, state="active"))
                if deployment:
                    writes.append(
                        store.deployment_update(
                            deployment, status="succeeded", commit=commit.get("commit", ""), end_time=now
                        )
                    )
            elif operation.kind in (DEPLOY, ROLLBACK, UPDATE_INSTANCE_TYPE, OPTIMIZE_RESOURCES):
                commits = [o for o in outputs.values() if o.get("commit")]
                plans = [o["plan"] for o in outputs.values() if o.get("plan")]
                values: dict[str, Any] = {"status": "succeeded", "end_time": now}
                if commits:
                    values["commit"] = commits[-1]["commit"]
                if operation.kind == ROLLBACK:
                    target = outputs.get("identify_previous_version", {})
                    values.update(version=target.get("version", ""), image=target.get("image", ""))
                    if target.get("current_deployment"):
                        current = target["current_deployment"]
                        writes.append(store.deployment_update(current, status="rolled_back"))
                changes_plan = operation.kind in (UPDATE_INSTANCE_TYPE, OPTIMIZE_RESOURCES)
                new_plan = payload.get("new_plan") if changes_plan else None
                new_plan = new_plan or (plans[-1] if plans else None)
                if new_plan is not None and commits:
                    values["plan"] = new_plan
                    image = current_image(new_plan)
                    writes.append(
                        store.service_update(
                            operation.service,
                            operation.environment,
                            plan=new_plan,
                            image=image,
                            version=values.get("version") or payload.get("version") or version_of(image),
                        )
                    )
                if deployment:
                    writes.append(store.deployment_update(deployment, **values))
                    result = {"deployment_id": deployment}
            elif operation.kind == PROMOTE:
                result = await record_promotion(session, operation, outputs, now)
            elif operation.kind in (TEMPLATE_UPGRADE, UPGRADE_ROLLBACK):
                result = upgrade_report(operation.kind, payload, outputs)
            elif operation.kind == DEPROVISION:
                writes.append(store.service_update(operation.service, operation.environment, state="deleted"))
                result = {"service": f"services/{operation.service}"}
            writes.append(
                store.operation_update(
                    operation.id,
                    done=True,
                    state="succeeded",
                    result=result,
                    end_time=now,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            return writes

        await self.boundaries.end(Ending(operation.id, recorded, ending))
        _log.info("operation ended", operation=operation.id, kind=operation.kind, state="succeeded")
        await self._report_facts(operation, "succeeded", outputs, now)

    async def _report_facts(
        self, operation: Operation, state: str, outputs: dict[str, dict[str, Any]], ended: datetime
    ) -> None:
        # After the operation's own transaction: the report is best-effort and cannot undo the outcome.
        await self.tools.peers.report_facts(
            operation.service, operation_facts(operation.kind, state, outputs, ended, operation.environment)
        )

    async def _update_op(self, operation_id: str, **values: Any) -> None:
        async with self.sessions() as session, session.begin():
            await store.update_operation(session=session, operation_id=operation_id, **values)


def _groups(kind: str, steps: list[OperationStep]) -> list[list[OperationStep]]:
    """The unfinished steps in the order they run: alone, or together with the steps next to them that
    need only what came before (see ``concurrent_steps``)."""
    together = concurrent_steps(kind)
    groups: list[list[OperationStep]] = []
    for step in steps:
        if groups and step.name in together and groups[-1][-1].name in together:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


class _StepFailed(Exception):
    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
        self.message = message


class _Parked(Exception):
    def __init__(self, step: str, detail: str, until: float) -> None:
        super().__init__(detail)
        self.step = step
        self.until = until


class _Resume(Exception):
    def __init__(self, state: str, error_message: str, code: int) -> None:
        super().__init__(error_message)
        self.state = state
        self.error_message = error_message
        self.code = code
