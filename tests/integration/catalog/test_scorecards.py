"""Scorecards over real gRPC: facts reported by other services, a service's card, team roll-ups."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import field_mask_pb2
from paved.catalog.v1 import catalog_pb2


async def _active_service(catalog: Any, name: str, team: str) -> None:
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service", context=catalog_pb2.RenderContext(service_name=name, team=team)
    )
    render.parameters.update({"service_name": name, "language": "go"})
    plan = (await catalog.stub.RenderTemplate(render)).plan
    await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(service=catalog_pb2.Service(name=f"services/{name}", plan=plan))
    )
    await catalog.stub.UpdateService(
        catalog_pb2.UpdateServiceRequest(
            service=catalog_pb2.Service(
                name=f"services/{name}",
                state=catalog_pb2.Service.STATE_ACTIVE,
                endpoints=[f"https://{name}.paved.internal"],
                documentation_url=f"https://docs.paved.internal/{name}",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["state", "endpoints", "documentation_url"]),
        )
    )


async def _report(catalog: Any, name: str, source: str, facts: dict[str, Any]) -> None:
    request = catalog_pb2.ReportServiceFactsRequest(service=f"services/{name}", source=source)
    request.facts.update(facts)
    await catalog.stub.ReportServiceFacts(request)


async def test_facts_raise_the_level(catalog: Any, failing: Any) -> None:
    await _active_service(catalog, "shop", "retail")
    card = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/shop"))
    assert card.level == 1 and card.team == "retail"
    assert {c.id for c in card.checks if not c.passed} == {
        "gitops_managed",
        "default_alerts",
        "policy_compliant",
        "deployed_recently",
        "within_budget",
        "cost_tracked",
        "no_cost_recommendations",
    }
    now = datetime.now(UTC).isoformat()
    await _report(catalog, "shop", "provisioning", {"gitops_commit": "1a2b3c"})
    await _report(catalog, "shop", "provisioning", {"last_deploy_time": now})  # merged, not replaced
    await _report(catalog, "shop", "alerting", {"default_alerts": True})
    await _report(catalog, "shop", "policy", {"policy_violations": 0, "cost_within_limit": True})
    await _report(catalog, "shop", "cost", {"cost_registered": True, "open_recommendations": 0})
    card = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/shop"))
    assert card.level == 4 and card.score == 1.0

    await _active_service(catalog, "cart", "retail")
    summary = await catalog.stub.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest(team="retail"))
    assert [c.service for c in summary.scorecards] == ["services/cart", "services/shop"]
    assert summary.level == 1 and summary.check_pass_rates["default_alerts"] == 0.5
    assert summary.level_evidence[4] == "1 of 2 service(s) at level 4 or above"
    everyone = await catalog.stub.SummarizeScorecards(catalog_pb2.SummarizeScorecardsRequest())
    assert len(everyone.scorecards) == 2

    bad = await failing(
        catalog.stub.ReportServiceFacts(
            catalog_pb2.ReportServiceFactsRequest(service="services/shop", source="rumours")
        )
    )
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in bad.field_violations} == {"source", "facts"}
    missing = await failing(
        catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/nobody"))
    )
    assert missing.code == grpc.StatusCode.NOT_FOUND
    # Facts go with the service.
    await catalog.stub.DeleteService(catalog_pb2.DeleteServiceRequest(name="services/shop"))
    await _active_service(catalog, "shop", "retail")
    card = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/shop"))
    assert card.level == 1


async def test_a_scorecard_per_environment_reads_that_environments_record_and_deployments(
    catalog: Any, failing: Any
) -> None:
    await _active_service(catalog, "till", "retail")  # development
    render = catalog_pb2.RenderTemplateRequest(
        template="templates/web-service",
        context=catalog_pb2.RenderContext(service_name="till", team="retail", environment="staging"),
    )
    render.parameters.update({"service_name": "till", "language": "go", "database": "none"})
    staging_plan = (await catalog.stub.RenderTemplate(render)).plan
    await catalog.stub.CreateService(
        catalog_pb2.CreateServiceRequest(
            service=catalog_pb2.Service(name="services/till", environment="staging", plan=staging_plan)
        )
    )
    now = datetime.now(UTC).isoformat()
    await _report(
        catalog,
        "till",
        "provisioning",
        {
            "gitops_commit": "c0ffee",
            "last_deploy_time": now,
            "deployed_development": now,
            "commit_development": "c0ffee",
        },
    )

    development = await catalog.stub.GetScorecard(
        catalog_pb2.GetScorecardRequest(service="services/till", environment="development")
    )
    staging = await catalog.stub.GetScorecard(
        catalog_pb2.GetScorecardRequest(service="services/till", environment="staging")
    )
    assert (development.environment, staging.environment) == ("development", "staging")
    dev, stg = ({c.id: c for c in card.checks} for card in (development, staging))
    assert dev["provisioned"].passed and dev["deployed_recently"].passed
    # Staging is still PROVISIONING, has its own plan (no database) and nothing deployed there yet.
    assert not stg["provisioned"].passed and "PROVISIONING" in stg["provisioned"].evidence
    assert not stg["deployed_recently"].passed and not stg["gitops_managed"].passed
    assert "no data stores" in stg["encrypted_data"].evidence
    assert "1 data store(s)" in dev["encrypted_data"].evidence
    # Without an environment: the service as it is where it was created, as before.
    whole = await catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/till"))
    assert whole.environment == "" and {c.id: c.passed for c in whole.checks} == {
        c.id: c.passed for c in development.checks
    }

    unknown = await failing(
        catalog.stub.GetScorecard(catalog_pb2.GetScorecardRequest(service="services/till", environment="qa"))
    )
    assert unknown.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in unknown.field_violations] == ["environment"]
    elsewhere = await failing(
        catalog.stub.GetScorecard(
            catalog_pb2.GetScorecardRequest(service="services/till", environment="production")
        )
    )
    assert elsewhere.code == grpc.StatusCode.NOT_FOUND
