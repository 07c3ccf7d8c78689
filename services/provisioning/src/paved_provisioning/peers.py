"""Calls to the catalog, alerting and cost services over gRPC, as the worker's steps need them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import field_mask_pb2, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from google.type import money_pb2
from paved.alerting.v1 import alerting_pb2, alerting_pb2_grpc
from paved.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from paved.common.v1 import common_pb2
from paved.cost.v1 import cost_pb2, cost_pb2_grpc
from paved.policy.v1 import policy_pb2, policy_pb2_grpc
from paved_kit.best_effort import attempt
from paved_kit.client import channel_from_settings
from paved_kit.errors import Unavailable
from paved_kit.grpc_errors import error_details
from paved_kit.logging import get_logger

from paved_provisioning.auto_optimization import Advice, Recommendation
from paved_provisioning.plan_wire import plan_message
from paved_provisioning.promotions import EnvironmentRule
from paved_provisioning.settings import ProvisioningSettings
from paved_provisioning.steps import StepError, rpc_failure

State = catalog_pb2.Service.State
_log = get_logger(__name__)
# Facts are a side channel for scorecards: a slow or absent catalog must never hold up an operation.
FACTS_TIMEOUT_SECONDS = 2.0


def money(amount: float, currency: str) -> money_pb2.Money:
    units = int(amount)
    nanos = round((amount - units) * 1e9)
    return money_pb2.Money(currency_code=currency, units=units, nanos=nanos)


class Peers:
    """Stubs of the services the worker calls; channels are opened lazily and closed by :meth:`close`."""

    def __init__(self, settings: ProvisioningSettings) -> None:
        self._settings = settings
        self._channels: list[grpc.aio.Channel] = []
        self._catalog: catalog_pb2_grpc.CatalogServiceStub | None = None
        self._alerting: alerting_pb2_grpc.AlertingServiceStub | None = None
        self._cost: cost_pb2_grpc.CostServiceStub | None = None
        self._policy: policy_pb2_grpc.PolicyServiceStub | None = None

    def _channel(self, address: str) -> grpc.aio.Channel:
        channel = channel_from_settings(
            address, self._settings, default_timeout=self._settings.call_timeout_seconds
        )
        self._channels.append(channel)
        return channel

    @property
    def catalog(self) -> catalog_pb2_grpc.CatalogServiceStub:
        if self._catalog is None:
            self._catalog = catalog_pb2_grpc.CatalogServiceStub(self._channel(self._settings.catalog_address))
        return self._catalog

    @property
    def alerting(self) -> alerting_pb2_grpc.AlertingServiceStub:
        if self._alerting is None:
            self._alerting = alerting_pb2_grpc.AlertingServiceStub(
                self._channel(self._settings.alerting_address)
            )
        return self._alerting

    @property
    def cost(self) -> cost_pb2_grpc.CostServiceStub:
        if self._cost is None:
            self._cost = cost_pb2_grpc.CostServiceStub(self._channel(self._settings.cost_address))
        return self._cost

    @property
    def policy(self) -> policy_pb2_grpc.PolicyServiceStub:
        if self._policy is None:
            self._policy = policy_pb2_grpc.PolicyServiceStub(self._channel(self._settings.policy_address))
        return self._policy

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        self._channels.clear()
        self._catalog = self._alerting = self._cost = None
        self._policy = None

    # catalog ----------------------------------------------------------------------------------------------

    async def register_in_catalog(
        self, plan: dict[str, Any], *, request_id: str, wire: Mapping[str, str] | None = None
    ) -> str:
        """Create the catalog entry in state PROVISIONING (idempotent by ``request_id``); returns its uid.

        A service left FAILED by an earlier attempt is taken back to PROVISIONING with the new plan.
        """
        name = f"services/{plan['service_name']}"
        service = catalog_pb2.Service(
            name=name,
            team=plan["team"],
            template=plan.get("template", ""),
            template_revision=int(plan.get("template_revision", 0) or 0),
            environment=plan["environment"],
            state=State.STATE_PROVISIONING,
            plan=plan_message(plan, wire),
        )
        service.parameters.update(plan.get("parameters") or {})
        try:
            created = await self.catalog.CreateService(
                catalog_pb2.CreateServiceRequest(service=service, request_id=request_id)
            )
            return str(created.uid)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise rpc_failure("catalog CreateService", exc) from None
        try:
            existing = await self.catalog.GetService(catalog_pb2.GetServiceRequest(name=name))
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("catalog GetService", exc) from None
        if existing.team != plan["team"] or existing.state in (
            State.STATE_ACTIVE,
            State.STATE_DEPROVISIONING,
        ):
            # The operation's error is shown to its requester, who may be another team: no owner, no state.
            raise StepError(f"the catalog already has a service named {name}", retryable=False)
        await self.update_catalog(
            plan["service_name"],
            state=State.STATE_PROVISIONING,
            plan=plan,
            team=plan["team"],
            environment=plan["environment"],
        )
        return str(existing.uid)

    async def add_environment_in_catalog(self, plan: dict[str, Any], *, request_id: str) -> None:
        """Register the service in the plan's environment (the catalog adds it to the existing service)."""
        service = catalog_pb2.Service(
            name=f"services/{plan['service_name']}",
            team=plan["team"],
            template=plan.get("template", ""),
            template_revision=int(plan.get("template_revision", 0) or 0),
            environment=plan["environment"],
            state=State.STATE_PROVISIONING,
            plan=plan_message(plan),
        )
        service.parameters.update(plan.get("parameters") or {})
        try:
            await self.catalog.CreateService(
                catalog_pb2.CreateServiceRequest(service=service, request_id=request_id)
            )
        except grpc.aio.AioRpcError as exc:
            if (
                exc.code() == grpc.StatusCode.ALREADY_EXISTS
                and error_details(exc).reason == "ENVIRONMENT_EXISTS"
            ):
                return
            raise rpc_failure("catalog CreateService", exc) from None

    async def list_environments(self) -> list[EnvironmentRule]:
        """The platform's environments as promotions need them, from the catalog."""
        try:
            reply = await self.catalog.ListEnvironments(catalog_pb2.ListEnvironmentsRequest())
        except grpc.aio.AioRpcError as exc:
            raise Unavailable(f"the catalog could not list environments: {exc.code().name}") from None
        return [
            EnvironmentRule(
                name=e.name.removeprefix("environments/"),
                position=e.position,
                approval_required=e.approval_required,
                soak_seconds=e.soak_time.seconds,
                approval_timeout_seconds=e.approval_timeout.seconds or 86400,
            )
            for e in reply.environments
        ]

    async def update_environment_in_catalog(
        self,
        service: str,
        environment: str,
        *,
        state: int | None = None,
        endpoints: list[str] | None = None,
        plan: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
        version: str | None = None,
        image: str | None = None,
    ) -> None:
        """Update the catalog's record of ``service`` in ``environment`` (not the service as a whole)."""
        message = catalog_pb2.ServiceEnvironment(name=f"services/{service}/environments/{environment}")
        mask = _fill(
            message,
            state=state,
            endpoints=endpoints,
            plan=None if plan is None else plan_message(plan),
            annotations=annotations,
            version=version,
            image=image,
        )
        try:
            await self.catalog.UpdateServiceEnvironment(
                catalog_pb2.UpdateServiceEnvironmentRequest(service_environment=message, update_mask=mask)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("catalog UpdateServiceEnvironment", exc) from None

    async def update_catalog(
        self,
        service: str,
        *,
        state: int | None = None,
        endpoints: list[str] | None = None,
        dashboards: list[tuple[str, str]] | None = None,
        documentation_url: str | None = None,
        plan: dict[str, Any] | None = None,
        annotations: dict[str, str] | None = None,
        team: str | None = None,
        environment: str | None = None,
    ) -> None:
        message = catalog_pb2.Service(name=f"services/{service}")
        links = None if dashboards is None else [common_pb2.Link(title=t, url=u) for t, u in dashboards]
        mask = _fill(
            message,
            state=state,
            endpoints=endpoints,
            dashboards=links,
            documentation_url=documentation_url,
            plan=None if plan is None else plan_message(plan),
            annotations=annotations,
            team=team,
            environment=environment,
        )
        try:
            await self.catalog.UpdateService(
                catalog_pb2.UpdateServiceRequest(service=message, update_mask=mask)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("catalog UpdateService", exc) from None

    async def delete_from_catalog(self, service: str) -> bool:
        try:
            await self.catalog.DeleteService(catalog_pb2.DeleteServiceRequest(name=f"services/{service}"))
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return False
            raise rpc_failure("catalog DeleteService", exc) from None
        return True

    async def report_facts(self, service: str, facts: dict[str, Any]) -> bool:
        """Tell the catalog what provisioning observed about ``service``; best-effort, never raises."""
        if not facts:
            return False
        message = struct_pb2.Struct()
        message.update(facts)
        request = catalog_pb2.ReportServiceFactsRequest(
            service=f"services/{service}", source="provisioning", facts=message
        )
        return await attempt(
            "reporting facts to the catalog",
            lambda: self.catalog.ReportServiceFacts(request, timeout=FACTS_TIMEOUT_SECONDS),
            deadline=FACTS_TIMEOUT_SECONDS,
            service=service,
        )

    # alerting ---------------------------------------------------------------------------------------------

    async def create_default_alerts(self, service: str, team: str, environment: str) -> tuple[int, int]:
        """(rules now in place, rules newly created) of ``service`` in ``environment``."""
        try:
            response = await self.alerting.CreateDefaultAlerts(
                alerting_pb2.CreateDefaultAlertsRequest(service=service, team=team, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("alerting CreateDefaultAlerts", exc) from None
        return len(response.alert_rules), int(response.created)

    async def delete_alerts(self, service: str, environment: str = "") -> int:
        """Delete the service's alert rules in ``environment`` (in every one when empty)."""
        try:
            response = await self.alerting.DeleteServiceAlerts(
                alerting_pb2.DeleteServiceAlertsRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("alerting DeleteServiceAlerts", exc) from None
        return int(response.deleted)

    async def service_health(self, service: str, environment: str = "") -> str:
        """The alerting health status name in ``environment``, e.g. ``HEALTH_STATUS_HEALTHY``."""
        try:
            response = await self.alerting.GetServiceHealth(
                alerting_pb2.GetServiceHealthRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("alerting GetServiceHealth", exc) from None
        return str(alerting_pb2.HealthStatus.Name(response.status))

    async def firing_alerts(self, service: str, environment: str) -> list[str]:
        """Names of the alerts firing for ``service`` in ``environment`` now (none known: an empty list)."""
        try:
            response = await self.alerting.GetServiceHealth(
                alerting_pb2.GetServiceHealthRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return []
            raise rpc_failure("alerting GetServiceHealth", exc) from None
        return [alert.display_name or alert.rule for alert in response.firing_alerts]

    async def service_signals(self, service: str, environment: str, since: float) -> dict[str, Any]:
        """What alerting says of the service in ``environment`` now: error rate, p99, firing alerts, and
        the OOM kills and CPU throttling of its history since ``since`` (seconds since the epoch)."""
        try:
            health = await self.alerting.GetServiceHealth(
                alerting_pb2.GetServiceHealthRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("alerting GetServiceHealth", exc) from None
        signals: dict[str, Any] = {
            "error_rate": health.error_rate if health.HasField("error_rate") else None,
            "latency_p99": health.latency_p99 if health.HasField("latency_p99") else None,
            "firing": sorted({alert.display_name for alert in health.firing_alerts}),
            "oom_kills": 0.0,
            "throttling": None,
        }
        start = timestamp_pb2.Timestamp(seconds=int(since) // 300 * 300)
        for metric in ("oom_kills", "cpu_throttling"):
            try:
                history = await self.alerting.QueryMetricHistory(
                    alerting_pb2.QueryMetricHistoryRequest(service=service, metric=metric, start_time=start)
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION:  # history turned off
                    continue
                raise rpc_failure(f"alerting QueryMetricHistory {metric}", exc) from None
            points = [p for p in history.points if p.count]
            if metric == "oom_kills":
                signals["oom_kills"] = sum(p.sum for p in points)
            elif points:
                signals["throttling"] = max(p.mean for p in points)
        return signals

    # cost -------------------------------------------------------------------------------------------------

    async def recommend_resources(self, service: str, environment: str) -> Recommendation:
        """Cost's rightsizing of the service's compute in ``environment``."""
        try:
            rec = await self.cost.RecommendResources(
                cost_pb2.RecommendResourcesRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("cost RecommendResources", exc) from None

        def advice(a: cost_pb2.ResourceAdvice) -> Advice:
            return Advice(
                current_request=a.current_request,
                recommended_request=a.recommended_request,
                current_limit=a.current_limit if a.HasField("current_limit") else None,
                recommended_limit=a.recommended_limit if a.HasField("recommended_limit") else None,
                evidence_days=a.evidence.days,
            )

        return Recommendation(
            service=rec.service or service,
            environment=rec.environment or environment,
            resource=rec.resource,
            cpu=advice(rec.cpu),
            memory=advice(rec.memory),
            confidence=rec.confidence,
            decrease_allowed=rec.decrease_allowed,
            reasons=(*rec.reasons, *rec.cpu.reasons, *rec.memory.reasons),
            monthly_savings=rec.monthly_savings.units + rec.monthly_savings.nanos / 1e9,
        )

    async def check_guardrails(
        self,
        *,
        service: str,
        team: str,
        environment: str,
        requester: str,
        resource: str,
        properties: dict[str, Any],
        tags: dict[str, str],
        currency: str,
    ) -> str | None:
        """Evaluate the policies on resources of type ``optimization``: None when they allow the change,
        else why not (a soft-mandatory failure counts: nobody is there to approve an override)."""
        body = struct_pb2.Struct()
        body.update(properties)
        try:
            evaluation = await self.policy.Evaluate(
                policy_pb2.EvaluateRequest(
                    resources=[
                        common_pb2.Resource(
                            name=f"{resource}-optimization", type="optimization", properties=body, tags=tags
                        )
                    ],
                    context=policy_pb2.EvaluationContext(
                        team=team,
                        environment=environment,
                        requester=requester,
                        service=service,
                        estimated_monthly_cost=0.0,
                        currency=currency,
                    ),
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("policy Evaluate", exc) from None
        if evaluation.outcome == policy_pb2.DECISION_OUTCOME_ALLOW:
            return None
        outcome = policy_pb2.DecisionOutcome.Name(evaluation.outcome).removeprefix("DECISION_OUTCOME_")
        why = [f"{v.policy}: {v.message}" for r in evaluation.results for v in r.violations]
        why += [f"{e.policy}: {e.message}" for r in evaluation.results for e in r.errors]
        return f"{outcome} by policy ({evaluation.decision}): " + ("; ".join(why) or evaluation.summary)

    async def register_resources(
        self,
        plan: dict[str, Any],
        monthly_cost: float,
        currency: str,
        optimization_operation: str = "",
        *,
        wire: Mapping[str, str] | None = None,
    ) -> int:
        """Register the plan's resources with cost; ``optimization_operation`` names the optimization that
        changed them, so cost records the change and measures its realised saving."""
        message = plan_message(plan, wire)
        try:
            response = await self.cost.RegisterResources(
                cost_pb2.RegisterResourcesRequest(
                    service=plan["service_name"],
                    team=plan["team"],
                    environment=plan["environment"],
                    resources=list(message.resources),
                    estimated_monthly_cost=money(monthly_cost, currency),
                    template=plan.get("template", ""),
                    optimization_operation=optimization_operation,
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("cost RegisterResources", exc) from None
        return int(response.tracked)

    async def unregister_resources(self, service: str, environment: str = "") -> int:
        """Stop cost tracking of the service in ``environment`` (in every one when empty)."""
        try:
            response = await self.cost.UnregisterResources(
                cost_pb2.UnregisterResourcesRequest(service=service, environment=environment)
            )
        except grpc.aio.AioRpcError as exc:
            raise rpc_failure("cost UnregisterResources", exc) from None
        return int(response.removed)


def _fill(message: Message, **values: Any) -> field_mask_pb2.FieldMask:
    """Set each given field of ``message`` (None means "leave it") and name them in an update mask."""
    paths = []
    for path, value in values.items():
        if value is None:
            continue
        if isinstance(value, Message):
            getattr(message, path).CopyFrom(value)
        elif isinstance(value, dict):
            getattr(message, path).update(value)
        elif isinstance(value, list):
            getattr(message, path).extend(value)
        else:
            setattr(message, path, value)
        paths.append(path)
    return field_mask_pb2.FieldMask(paths=paths)
