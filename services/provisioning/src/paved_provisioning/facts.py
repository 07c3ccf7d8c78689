"""What provisioning tells the catalog about a service when one of its operations ends (scorecard facts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from paved_provisioning.steps import DEPLOY, DEPROVISION, PROVISION, ROLLBACK, UPDATE_INSTANCE_TYPE


def _rfc3339(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def operation_facts(
    kind: str, state: str, outputs: dict[str, dict[str, Any]], ended: datetime
) -> dict[str, Any]:
    """Facts for the catalog after an operation of ``kind`` ended in ``state`` (succeeded/failed/cancelled).

    ``last_deploy_time`` moves only on a successful provision, deploy or rollback, so a failed deploy never
    makes a service look recently deployed; failures are reported as ``last_failure_time``.
    """
    facts: dict[str, Any] = {"last_operation": kind, "last_operation_status": state}
    commits = [o["commit"] for o in outputs.values() if o.get("commit")]
    if state != "succeeded":
        if kind in (PROVISION, DEPLOY, ROLLBACK, UPDATE_INSTANCE_TYPE):
            facts["last_failure_time"] = _rfc3339(ended)
        return facts
    if commits:
        facts["gitops_commit"] = commits[-1]
    if kind in (PROVISION, DEPLOY, ROLLBACK):
        facts["last_deploy_time"] = _rfc3339(ended)
    if kind == ROLLBACK:
        facts["last_rollback_time"] = _rfc3339(ended)
    if kind == PROVISION:
        docs = outputs.get("publish_docs", {})
        facts["docs_generated"] = bool(docs.get("documentation_url"))
        if docs.get("documentation_url"):
            facts["documentation_url"] = str(docs["documentation_url"])
    if kind == DEPROVISION:
        facts["deprovisioned_time"] = _rfc3339(ended)
    return facts
