"""An operation that has ended gives its lease up; the heartbeat must not take that for a lost lease
while the run is still reporting its facts (it used to log "lease lost" and cancel the report)."""

from __future__ import annotations

import asyncio

import pytest
import structlog
from paved.catalog.v1 import catalog_pb2
from provisioning_fakes import FakeCatalog, FakePeers
from provisioning_harness import HarnessFactory

pytestmark = pytest.mark.timeout(120)
FACTS_STALL_SECONDS = 1.2


class FactsCatalog(FakeCatalog):
    """A catalog that takes its time to acknowledge reported facts."""

    async def ReportServiceFacts(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["ReportServiceFacts"] += 1
        await asyncio.sleep(FACTS_STALL_SECONDS)
        self.calls["ReportServiceFacts answered"] += 1
        return catalog_pb2.ReportServiceFactsResponse()


async def test_no_lease_lost_after_an_operation_succeeded(harness_factory: HarnessFactory) -> None:
    peers = FakePeers()
    peers.catalog = FactsCatalog(peers.faults)
    h = await harness_factory(peers=peers, heartbeat_seconds=0.2, lease_seconds=2.0)
    with structlog.testing.capture_logs() as logs:
        op = await h.wait((await h.provision()).name)
        assert op.done and not op.HasField("error"), op.error
        # The run is now reporting facts, well past several heartbeats.
        for _ in range(100):
            if peers.catalog.calls["ReportServiceFacts answered"]:
                break
            await asyncio.sleep(0.05)
    assert peers.catalog.calls["ReportServiceFacts answered"] == 1
    lost = [entry for entry in logs if "lease lost" in entry.get("event", "")]
    assert lost == []
