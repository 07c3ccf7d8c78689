"""A ListServices page encoded with its stored plans spliced in decodes to the page built as messages."""

from __future__ import annotations

from datetime import UTC, datetime

from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2
from paved_catalog.convert import list_services_encoded, service_to_proto
from paved_catalog.models import ServiceRow


def _row(index: int, plan: bytes | None) -> ServiceRow:
    moment = datetime(2026, 11, 1, 12, 0, index, 250_000, tzinfo=UTC)
    return ServiceRow(
        name=f"svc-{index}",
        uid=f"00000000-0000-0000-0000-{index:012d}",
        team="payments",
        template="web-service",
        template_revision=2,
        environment="production",
        state="ACTIVE",
        parameters={"language": "go", "min_instances": 2},
        endpoints=[f"https://svc-{index}.example"],
        dashboards=[{"title": "overview", "url": "https://grafana.example/d/x"}],
        documentation_url="https://docs.example",
        plan=plan,
        annotations={"owner": "payments"},
        etag=f'"etag-{index}"',
        create_time=moment,
        update_time=moment,
    )


def test_the_encoded_page_is_the_page_of_messages() -> None:
    plan = common_pb2.Plan(service_name="svc-0", team="payments", namespace="payments", image="x:1")
    plan.terraform.update({"module": {"svc": {"source": "./modules/paved-service", "replicas": 3}}})
    plan.resources.add(name="compute", type="compute").properties.update({"cpu": "500m"})
    # A plan longer than 127 bytes needs a multi-byte length.
    plan.parameters.update({"description": "x" * 300})
    rows = [_row(0, plan.SerializeToString()), _row(1, None), _row(2, plan.SerializeToString())]

    for with_plan in (True, False):
        encoded = list_services_encoded(rows, "next-token", {}, with_plan=with_plan)

        expected = catalog_pb2.ListServicesResponse(
            services=[service_to_proto(row, with_plan=with_plan) for row in rows],
            next_page_token="next-token",
        )
        assert catalog_pb2.ListServicesResponse.FromString(encoded) == expected
    assert (
        catalog_pb2.ListServicesResponse.FromString(list_services_encoded(rows, "", {}, with_plan=True))
        .services[0]
        .plan
        == plan
    )


def test_an_empty_page_is_an_empty_response() -> None:
    assert catalog_pb2.ListServicesResponse.FromString(list_services_encoded([], "", {}, with_plan=True)) == (
        catalog_pb2.ListServicesResponse()
    )
