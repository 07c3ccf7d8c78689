"""gRPC servicer of ``paved.provisioning.v1.ProvisioningService``: converts, then delegates."""

from __future__ import annotations

from datetime import UTC

import grpc
from google.longrunning import operations_pb2
from paved.provisioning.v1 import provisioning_pb2 as pb
from paved.provisioning.v1 import provisioning_pb2_grpc
from paved_kit.context import current_caller
from paved_kit.errors import InvalidArgument
from paved_kit.validation import time_violation

from paved_provisioning import convert
from paved_provisioning.fleet_upgrades import TargetRequest
from paved_provisioning.plan_wire import plan_wire
from paved_provisioning.provisioner import Provisioner
from paved_provisioning.resource_change import ResourceChange


def _requester(value: str) -> str:
    return value or current_caller() or ""


class ProvisioningServicer(provisioning_pb2_grpc.ProvisioningServiceServicer):
    """ProvisioningService over a :class:`Provisioner`."""

    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner
        self.currency = provisioner.settings.currency

    async def GetQuota(self, request: pb.GetQuotaRequest, context: grpc.aio.ServicerContext) -> pb.Quota:
        return convert.quota(await self.provisioner.get_quota(request.team), self.currency)

    async def UpdateQuota(
        self, request: pb.UpdateQuotaRequest, context: grpc.aio.ServicerContext
    ) -> pb.Quota:
        q = request.quota
        view = await self.provisioner.update_quota(
            q.team,
            q.max_services,
            q.max_instances,
            convert.money_amount(q.max_monthly_cost),
            q.max_monthly_cost.currency_code,
        )
        return convert.quota(view, self.currency)

    async def CheckQuota(
        self, request: pb.CheckQuotaRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckQuotaResponse:
        checks = await self.provisioner.check_quota(
            request.team,
            convert.plan_dict(request.plan) if request.HasField("plan") else None,
            convert.money_amount(request.estimated_monthly_cost),
            request.estimated_monthly_cost.currency_code,
        )
        return convert.quota_checks(checks)

    async def ProvisionService(
        self, request: pb.ProvisionServiceRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        plan = convert.plan_dict(request.plan) if request.HasField("plan") else None
        view = await self.provisioner.provision(
            plan,
            convert.money_amount(request.estimated_monthly_cost),
            request.estimated_monthly_cost.currency_code,
            _policy(request.policy_decision),
            request.request_id,
            _requester(request.requester),
            plan_wire=None if plan is None else plan_wire(plan, request.plan),
        )
        return convert.operation(view)

    async def RunWorkflow(
        self, request: pb.RunWorkflowRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.run_workflow(
            request.service,
            request.workflow,
            request.version,
            request.image,
            request.environment,
            request.request_id,
            _requester(request.requester),
        )
        return convert.operation(view)

    async def DeprovisionService(
        self, request: pb.DeprovisionServiceRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.deprovision(
            request.service, request.request_id, _requester(request.requester), request.environment
        )
        return convert.operation(view)

    async def UpdateInstanceType(
        self, request: pb.UpdateInstanceTypeRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.update_instance_type(
            request.service,
            request.resource,
            request.instance_type,
            request.request_id,
            _requester(request.requester),
        )
        return convert.operation(view)

    async def PromoteService(
        self, request: pb.PromoteServiceRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.promote(
            request.service,
            request.source_environment,
            request.target_environment,
            request.version,
            convert.plan_dict(request.plan) if request.HasField("plan") else None,
            convert.money_amount(request.estimated_monthly_cost),
            request.estimated_monthly_cost.currency_code,
            _policy(request.policy_decision),
            request.request_id,
            _requester(request.requester),
        )
        return convert.operation(view)

    async def ApprovePromotion(
        self, request: pb.ApprovePromotionRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.decide_approval(
            request.name, "approved", request.approver, request.reason
        )
        return convert.operation(view)

    async def RejectPromotion(
        self, request: pb.RejectPromotionRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.decide_approval(
            request.name, "rejected", request.approver, request.reason
        )
        return convert.operation(view)

    async def OptimizeResources(
        self, request: pb.OptimizeResourcesRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        change = ResourceChange(
            request.cpu_request,
            request.cpu_limit,
            request.memory_request,
            request.memory_limit,
            request.min_replicas,
            request.max_replicas,
        )
        bake = request.bake_time.ToTimedelta().total_seconds() if request.HasField("bake_time") else 0.0
        view = await self.provisioner.optimize_resources(
            request.service,
            request.resource or "compute",
            change,
            bake,
            request.reason,
            request.request_id,
            _requester(request.requester),
            scale_out_only=request.scale_out_only,
        )
        return convert.operation(view)

    async def StartTemplateUpgrade(
        self, request: pb.StartTemplateUpgradeRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.start_template_upgrade(
            request.template,
            request.to_revision,
            [
                [
                    TargetRequest(t.name, t.from_revision, convert.plan_dict(t.plan), t.monthly_cost_delta)
                    for t in wave.targets
                ]
                for wave in request.waves
            ],
            [{"name": s.name, "reason": s.reason, "detail": s.detail} for s in request.skipped],
            request.failure_budget,
            request.bake_seconds,
            request.request_id,
            _requester(request.requester),
        )
        return convert.operation(view)

    async def RollbackTemplateUpgrade(
        self, request: pb.RollbackTemplateUpgradeRequest, context: grpc.aio.ServicerContext
    ) -> operations_pb2.Operation:
        view = await self.provisioner.rollback_template_upgrade(
            request.operation, request.request_id, _requester(request.requester)
        )
        return convert.operation(view)

    async def CheckGitOpsEdits(
        self, request: pb.CheckGitOpsEditsRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckGitOpsEditsResponse:
        edits = await self.provisioner.gitops_edits(list(request.names))
        return pb.CheckGitOpsEditsResponse(edits=[convert.gitops_edits(e) for e in edits])

    async def ListDeployments(
        self, request: pb.ListDeploymentsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeploymentsResponse:
        rows, token = await self.provisioner.list_deployments(
            request.parent, request.filter, request.page_size, request.page_token
        )
        return pb.ListDeploymentsResponse(
            deployments=[convert.deployment(r) for r in rows], next_page_token=token
        )

    async def GetDeliveryMetrics(
        self, request: pb.GetDeliveryMetricsRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeliveryMetrics:
        start = request.start_time.ToDatetime(tzinfo=UTC) if request.HasField("start_time") else None
        end = request.end_time.ToDatetime(tzinfo=UTC) if request.HasField("end_time") else None
        violations = [
            v for v in (time_violation("start_time", start), time_violation("end_time", end)) if v is not None
        ]
        if violations:
            raise InvalidArgument("invalid delivery metrics window", violations)
        metrics = await self.provisioner.delivery_metrics(request.team, start, end, request.environment)
        return convert.delivery_metrics(request.team, metrics)


def _policy(decision: pb.PolicyDecisionRef) -> dict[str, str]:
    """The policy decision a provision or promotion was allowed by, as the provisioner records it."""
    return {
        "decision": decision.decision,
        "outcome": decision.outcome,
        "override_approved_by": decision.override_approved_by,
    }
