"""Small real gRPC servers of the catalog, alerting and cost contracts, just the RPCs provisioning calls.

They record every call and can be told to fail or stall, so tests can check exactly-once effects and
recovery from a peer's failure; the end-to-end tests run provisioning against the real services.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import grpc
from google.protobuf import timestamp_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.cost.v1 import cost_pb2, cost_pb2_grpc

DEFAULT_RULES = ("High Error Rate", "Service Down", "High Latency")


@dataclass
class Faults:
    """Per-method failure injection: fail the next ``n`` calls with ``code``, or stall each call."""

    failures: dict[str, tuple[int, grpc.StatusCode]] = field(default_factory=dict)
    stall: dict[str, float] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))

    def fail(self, method: str, times: int, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        self.failures[method] = (times, code)

    async def apply(self, method: str, context: grpc.aio.ServicerContext) -> None:
        self.arrived[method].set()
        if method in self.stall:
            await asyncio.sleep(self.stall[method])
        times, code = self.failures.get(method, (0, grpc.StatusCode.OK))
        if times:
            self.failures[method] = (times - 1, code)
            await context.abort(code, f"injected failure of {method}")


class FakeCatalog(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.services: dict[str, catalog_pb2.Service] = {}
        self.requests: dict[str, str] = {}
        self.facts: dict[str, dict[str, object]] = {}
        self.calls: Counter[str] = Counter()

    async def CreateService(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["CreateService"] += 1
        await self.faults.apply("CreateService", context)
        if request.request_id and request.request_id in self.requests:
            return self.services[self.requests[request.request_id]]
        name = request.service.name
        if name in self.services:
            await context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{name} exists")
        service = catalog_pb2.Service()
        service.CopyFrom(request.service)
        service.uid = uuid.uuid4().hex
        self.services[name] = service
        if request.request_id:
            self.requests[request.request_id] = name
        return service

    async def GetService(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["GetService"] += 1
        if request.name not in self.services:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return self.services[request.name]

    async def UpdateService(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["UpdateService"] += 1
        await self.faults.apply("UpdateService", context)
        name = request.service.name
        if name not in self.services:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{name} not found")
        stored = self.services[name]
        for path in request.update_mask.paths:
            value = getattr(request.service, path)
            if path in ("endpoints", "dashboards"):
                del getattr(stored, path)[:]
                getattr(stored, path).extend(value)
            elif path == "annotations":
                stored.annotations.clear()
                stored.annotations.update(value)
            elif path == "plan":
                stored.plan.CopyFrom(value)
            else:
                setattr(stored, path, value)
        return stored

    async def DeleteService(self, request, context):  # type: ignore[no-untyped-def]
        self.services.pop(request.name, None)
        return catalog_pb2.DeleteServiceResponse()

    async def ReportServiceFacts(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["ReportServiceFacts"] += 1
        self.facts[request.service] = dict(request.facts)
        return catalog_pb2.ReportServiceFactsResponse()


class FakeAlerting(alerting_pb2_grpc.AlertingServiceServicer):
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.rules: dict[str, list[str]] = {}
        self.calls: Counter[str] = Counter()
        self.rules_created = 0
        self.health: dict[str, int] = {}

    async def CreateDefaultAlerts(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["CreateDefaultAlerts"] += 1
        created = 0
        if request.service not in self.rules:
            self.rules[request.service] = list(DEFAULT_RULES)
            created = len(DEFAULT_RULES)
            self.rules_created += created
        await self.faults.apply("CreateDefaultAlerts", context)
        rules = [
            alerting_pb2.AlertRule(name=f"alertRules/{request.service}-{i}")
            for i, _ in enumerate(DEFAULT_RULES)
        ]
        return alerting_pb2.CreateDefaultAlertsResponse(alert_rules=rules, created=created)

    async def DeleteServiceAlerts(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["DeleteServiceAlerts"] += 1
        await self.faults.apply("DeleteServiceAlerts", context)
        removed = self.rules.pop(request.service, [])
        return alerting_pb2.DeleteServiceAlertsResponse(deleted=len(removed))

    async def GetServiceHealth(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["GetServiceHealth"] += 1
        status = self.health.get(request.service, alerting_pb2.HEALTH_STATUS_UNKNOWN)
        return alerting_pb2.ServiceHealth(
            service=request.service, status=status, sample_time=timestamp_pb2.Timestamp(seconds=1)
        )


class FakeCost(cost_pb2_grpc.CostServiceServicer):
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.tracked: dict[str, list[str]] = {}
        self.calls: Counter[str] = Counter()

    async def RegisterResources(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["RegisterResources"] += 1
        await self.faults.apply("RegisterResources", context)
        self.tracked[request.service] = [r.name for r in request.resources]
        return cost_pb2.RegisterResourcesResponse(tracked=len(request.resources))

    async def UnregisterResources(self, request, context):  # type: ignore[no-untyped-def]
        self.calls["UnregisterResources"] += 1
        await self.faults.apply("UnregisterResources", context)
        removed = self.tracked.pop(request.service, [])
        return cost_pb2.UnregisterResourcesResponse(removed=len(removed))


@dataclass
class FakePeers:
    """The three fakes behind one server."""

    faults: Faults = field(default_factory=Faults)
    catalog: FakeCatalog = field(init=False)
    alerting: FakeAlerting = field(init=False)
    cost: FakeCost = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = FakeCatalog(self.faults)
        self.alerting = FakeAlerting(self.faults)
        self.cost = FakeCost(self.faults)

    def registrations(self) -> list[tuple[object, object, str]]:
        return [
            (
                catalog_pb2_grpc.add_CatalogServiceServicer_to_server,
                self.catalog,
                catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name,
            ),
            (
                alerting_pb2_grpc.add_AlertingServiceServicer_to_server,
                self.alerting,
                alerting_pb2.DESCRIPTOR.services_by_name["AlertingService"].full_name,
            ),
            (
                cost_pb2_grpc.add_CostServiceServicer_to_server,
                self.cost,
                cost_pb2.DESCRIPTOR.services_by_name["CostService"].full_name,
            ),
        ]
