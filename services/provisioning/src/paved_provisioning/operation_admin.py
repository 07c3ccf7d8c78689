"""Long-running operations as the provisioning API serves them: reading, listing, cancelling, deleting and
waiting for them (google.longrunning.Operations)."""

from __future__ import annotations

import asyncio
import time

from paved_kit.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)

from paved_provisioning import store
from paved_provisioning.paging import decode_page_token, encode_page_token, page_size, parse_filter
from paved_provisioning.provisioner_base import OperationView, ProvisionerBase


def _no_such_operation(operation_id: str) -> NotFound:
    return NotFound(f"operations/{operation_id} does not exist", metadata={"operation": operation_id})


class OperationAdmin(ProvisionerBase):
    """GetOperation, ListOperations, CancelOperation, DeleteOperation and WaitOperation."""

    async def get_operation(self, operation_id: str) -> OperationView:
        async with self.sessions() as session:
            operation = await store.get_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise _no_such_operation(operation_id)
            steps_ = await store.steps_of(session=session, operation_id=operation_id)
            deployment_id = operation.payload.get("deployment_id")
            deployment = (
                await store.get_deployment(session=session, deployment_id=deployment_id)
                if deployment_id
                else None
            )
        return OperationView(operation, steps_, deployment)

    async def list_operations(
        self, filter_text: str, size: int, token: str
    ) -> tuple[list[OperationView], str]:
        terms = parse_filter("filter", filter_text, {"service", "done"})
        limit = page_size("page_size", size)
        offset = decode_page_token("page_token", token)
        done = None
        if "done" in terms:
            if terms["done"] not in ("true", "false"):
                raise InvalidArgument("bad filter", [FieldViolation("filter", "done must be true or false")])
            done = terms["done"] == "true"
        async with self.sessions() as session:
            ops = await store.list_operations(
                session=session, service=terms.get("service"), done=done, offset=offset, limit=limit + 1
            )
            by_op = await store.steps_of_many(session=session, operation_ids=[o.id for o in ops[:limit]])
        views = [OperationView(o, by_op.get(o.id, [])) for o in ops[:limit]]
        return views, encode_page_token(offset + limit) if len(ops) > limit else ""

    async def cancel_operation(self, operation_id: str) -> None:
        """Ask the worker to stop the operation at its next step boundary and undo what it did."""
        async with self.sessions() as session, session.begin():
            operation = await store.lock_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise _no_such_operation(operation_id)
            if operation.done:
                return
            await store.update_operation(session=session, operation_id=operation_id, cancel_requested=True)
            # A parked operation (waiting for an approval) is taken up now to be cancelled.
            await store.wake_operation(session=session, operation_id=operation_id)
        self.on_submit()

    async def delete_operation(self, operation_id: str) -> None:
        async with self.sessions() as session, session.begin():
            operation = await store.lock_operation(session=session, operation_id=operation_id)
            if operation is None:
                raise _no_such_operation(operation_id)
            if not operation.done:
                raise FailedPrecondition(
                    f"operations/{operation_id} is still running; cancel it first",
                    [PreconditionViolation("STATE", f"operations/{operation_id}", "operation is not done")],
                    reason="OPERATION_NOT_DONE",
                )
            for step in await store.steps_of(session=session, operation_id=operation_id):
                await session.delete(step)
            await session.flush()
            await session.delete(operation)

    async def wait_operation(self, operation_id: str, timeout: float) -> OperationView:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            view = await self.get_operation(operation_id)
            if view.operation.done or time.monotonic() >= deadline:
                return view
            await asyncio.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 1.5, 0.25)
