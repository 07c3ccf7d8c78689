"""Best-effort sends: never raised, bounded in time and in number, unchanged payloads not resent, and a
shutdown that neither hangs nor leaves tasks behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import grpc.aio
import pytest
from paved_kit.best_effort import BestEffortSender, attempt
from structlog.testing import capture_logs


class Receiver:
    """Records what arrives; can be told to fail or to hang."""

    def __init__(self) -> None:
        self.received: list[tuple[str, object]] = []
        self.fail: Exception | None = None
        self.release = asyncio.Event()
        self.release.set()

    def send(self, subject: str, payload: object) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            await self.release.wait()
            if self.fail is not None:
                raise self.fail
            self.received.append((subject, payload))

        return go


def rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


async def test_submit_returns_at_once_and_the_send_happens_in_the_background() -> None:
    receiver = Receiver()
    receiver.release.clear()
    sender = BestEffortSender("facts", timeout=1.0)
    assert sender.submit("orders", receiver.send("orders", 1))
    await asyncio.sleep(0)
    assert receiver.received == [] and sender.in_flight == 1
    receiver.release.set()
    await sender.drain()
    assert receiver.received == [("orders", 1)] and sender.in_flight == 0


async def test_failures_are_logged_never_raised_and_rpc_details_stay_out_of_the_log() -> None:
    receiver = Receiver()
    receiver.fail = rpc_error(grpc.StatusCode.UNAVAILABLE, "connect to 10.0.0.7 failed: secret-detail")
    sender = BestEffortSender("facts", timeout=1.0)
    with capture_logs() as logs:
        sender.submit("orders", receiver.send("orders", 1), service_name="orders")
        await sender.drain()
    assert [(e["event"], e["code"], e["service_name"]) for e in logs] == [
        ("facts failed", "UNAVAILABLE", "orders")
    ]
    assert "secret-detail" not in repr(logs)

    receiver.fail = RuntimeError("boom")
    with capture_logs() as logs:
        assert await attempt("facts", receiver.send("orders", 2), deadline=1.0) is False
    assert logs[0]["event"] == "facts failed" and logs[0]["exc_info"] is True
    receiver.fail = None
    assert await attempt("facts", receiver.send("orders", 3), deadline=1.0) is True
    assert receiver.received == [("orders", 3)]


async def test_a_send_past_its_deadline_is_cancelled_and_logged() -> None:
    cancelled = asyncio.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    sender = BestEffortSender("facts", timeout=0.05)
    with capture_logs() as logs:
        sender.submit("orders", hang)
        await asyncio.wait_for(sender.drain(), 2)
    assert cancelled.is_set()
    assert logs[0]["code"] == "DEADLINE_EXCEEDED" and logs[0]["deadline_seconds"] == 0.05


async def test_beyond_max_in_flight_sends_are_dropped_not_queued() -> None:
    receiver = Receiver()
    receiver.release.clear()
    sender = BestEffortSender("facts", timeout=1.0, max_in_flight=2)
    with capture_logs() as logs:
        started = [sender.submit(f"s{i}", receiver.send(f"s{i}", i)) for i in range(3)]
    assert started == [True, True, False]
    assert logs[0]["event"] == "facts dropped: too many in flight" and logs[0]["subject"] == "s2"
    receiver.release.set()
    await sender.drain()
    assert sorted(s for s, _ in receiver.received) == ["s0", "s1"]
    # Room again once those are done.
    assert sender.submit("s2", receiver.send("s2", 2))
    await sender.drain()
    with pytest.raises(ValueError, match="max_in_flight"):
        BestEffortSender("facts", timeout=1.0, max_in_flight=0)


async def test_an_unchanged_payload_is_not_sent_again_after_it_arrived() -> None:
    receiver = Receiver()
    sender = BestEffortSender("facts", timeout=1.0, remember=2)
    assert sender.submit("a", receiver.send("a", 1), fingerprint=1)
    await sender.drain()
    assert not sender.submit("a", receiver.send("a", 1), fingerprint=1)
    assert sender.submit("a", receiver.send("a", 2), fingerprint=2)
    await sender.drain()
    # Without a fingerprint nothing is de-duplicated.
    assert sender.submit("a", receiver.send("a", 2))
    await sender.drain()
    assert receiver.received == [("a", 1), ("a", 2), ("a", 2)]

    sender.forget("a")
    assert sender.submit("a", receiver.send("a", 2), fingerprint=2)
    await sender.drain()


async def test_a_failed_send_is_retried_by_the_next_submit_and_memory_is_bounded() -> None:
    receiver = Receiver()
    sender = BestEffortSender("facts", timeout=1.0, remember=2)
    receiver.fail = RuntimeError("catalog away")
    with capture_logs():
        sender.submit("a", receiver.send("a", 1), fingerprint=1)
        await sender.drain()
    receiver.fail = None
    assert sender.submit("a", receiver.send("a", 1), fingerprint=1)
    await sender.drain()
    for subject in ("b", "c"):  # "a" is the oldest remembered: it goes
        sender.submit(subject, receiver.send(subject, 1), fingerprint=1)
        await sender.drain()
    assert sender.submit("a", receiver.send("a", 1), fingerprint=1)
    assert not sender.submit("c", receiver.send("c", 1), fingerprint=1)
    await sender.drain()


async def test_drain_waits_for_sends_started_by_sends() -> None:
    receiver = Receiver()
    sender = BestEffortSender("facts", timeout=1.0)

    async def fan_out() -> None:
        await asyncio.sleep(0.01)
        for subject in ("x", "y"):
            sender.submit(subject, receiver.send(subject, 0))

    sender.submit("batch", fan_out)
    await asyncio.wait_for(sender.drain(), 2)
    assert sorted(receiver.received) == [("x", 0), ("y", 0)]


async def test_close_waits_for_quick_sends_cancels_slow_ones_and_refuses_new_ones() -> None:
    receiver = Receiver()
    sender = BestEffortSender("facts", timeout=60.0)

    async def slow() -> None:
        await asyncio.sleep(60)

    async def quick() -> None:
        await asyncio.sleep(0.01)
        receiver.received.append(("quick", 0))

    sender.submit("slow", slow)
    sender.submit("quick", quick)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with capture_logs() as logs:
        await sender.close(grace=0.2)
        assert loop.time() - began < 2
        assert receiver.received == [("quick", 0)]
        assert sender.in_flight == 0
        assert not sender.submit("late", receiver.send("late", 0))
    assert [e["event"] for e in logs] == ["facts cancelled at shutdown", "facts dropped: shutting down"]
