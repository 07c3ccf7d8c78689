"""When a worker claims operations: at once when idle or when a quarter of its slots are free, otherwise
once a free slot has waited half a poll interval (under a burst, one claim per several operations)."""

from __future__ import annotations

import pytest
from paved_provisioning.worker import claim_now


@pytest.mark.parametrize(
    ("free", "running", "waited", "expected"),
    [
        (0, 16, 10.0, False),  # no free slot, however long
        (16, 0, 0.0, True),  # idle: at once
        (1, 15, 0.0, False),  # one slot free under a burst: wait for more
        (3, 13, 0.05, False),
        (4, 12, 0.0, True),  # a quarter free: at once
        (1, 15, 0.1, True),  # a slot free for half a poll interval: claim anyway
    ],
)
def test_claim_now(free: int, running: int, waited: float, expected: bool) -> None:
    assert claim_now(free=free, running=running, batch=4, waited=waited, patience=0.1) is expected


def test_a_worker_of_one_slot_claims_as_soon_as_it_is_free() -> None:
    assert claim_now(free=1, running=3, batch=1, waited=0.0, patience=0.1)
