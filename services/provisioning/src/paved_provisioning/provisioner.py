"""What the provisioning API does, between the servicer and the store, assembled from its parts: quotas
(quota_admin), starting operations (operation_starters over submission), reading and managing operations
(operation_admin), promotions (promotions), fleet upgrades (fleet_upgrades),
deployment history (deployment_queries) and hand-edit
detection (gitops_inspection)."""

from __future__ import annotations

from paved_provisioning.deployment_queries import DeploymentQueries
from paved_provisioning.fleet_upgrades import UpgradeStarters
from paved_provisioning.gitops_inspection import GitOpsInspection
from paved_provisioning.operation_starters import OperationStarters
from paved_provisioning.promotions import PromotionStarters
from paved_provisioning.provisioner_base import OperationView, QuotaView

__all__ = ["OperationView", "Provisioner", "QuotaView"]


class Provisioner(OperationStarters, PromotionStarters, UpgradeStarters, DeploymentQueries, GitOpsInspection):
    """The provisioning service's behaviour, independent of gRPC."""
