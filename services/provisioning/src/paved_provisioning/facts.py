"""What provisioning tells the catalog about a service when one of its operations ends (scorecard facts)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from paved_provisioning.steps import DEPLOY, DEPROVISION, PROMOTE, PROVISION, ROLLBACK, UPDATE_INSTANCE_TYPE

_FACT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# What puts a new version into an environment: it counts as a deployment there.
DEPLOYING = (PROVISION, DEPLOY, ROLLBACK, PROMOTE)


def _rfc3339(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def environment_fact(prefix: str, environment: str) -> str:
    """The key of a per-environment fact, e.g. ``deployed_staging`` (empty when it would be too long)."""
    key = f"{prefix}_{environment.replace('-', '_')}"
    return key if _FACT_KEY.match(key) else ""


def operation_facts(
    kind: str, state: str, outputs: dict[str, dict[str, Any]], ended: datetime, environment: str = ""
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
        if key := environment_fact("commit", environment):
            facts[key] = commits[-1]
    if kind in DEPLOYING:
        facts["last_deploy_time"] = _rfc3339(ended)
        # Each environment's own, so a scorecard of one environment reads its deployments.
        if key := environment_fact("deployed", environment):
            facts[key] = _rfc3339(ended)
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
