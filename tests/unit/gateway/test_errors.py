"""gRPC status → HTTP answer mapping, and the Backstage error shape of every failure kind."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import grpc.aio
import pytest
from fastapi.testclient import TestClient
from paved_gateway.app import create_app
from paved_gateway.errors import GRPC_TO_HTTP, from_rpc_error
from paved_gateway.settings import GatewaySettings
from paved_kit.errors import FieldViolation, InvalidArgument, NotFound, QuotaExceeded, QuotaViolation
from paved_kit.grpc_errors import to_rpc_status


def rpc_error(err: Exception, domain: str = "catalog") -> grpc.aio.AioRpcError:
    """A client-side error exactly as a Paved service sends it (rich status in trailing metadata)."""
    status = to_rpc_status(err, domain)  # type: ignore[arg-type]
    return grpc.aio.AioRpcError(
        status.code, grpc.aio.Metadata(), grpc.aio.Metadata(*status.trailing_metadata), status.details
    )


def plain_error(code: grpc.StatusCode, details: str = "boom") -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def test_invalid_argument_keeps_every_field_violation() -> None:
    err = from_rpc_error(
        rpc_error(
            InvalidArgument(
                "bad parameters",
                [FieldViolation("parameters.port", "must be an int"), FieldViolation("name", "too long")],
                reason="INVALID_PARAMETERS",
            )
        ),
        "catalog",
    )
    assert err.status == 400
    assert err.name == "InputError"
    assert err.message == "bad parameters"
    assert err.details["reason"] == "INVALID_PARAMETERS"
    assert err.details["domain"] == "catalog"
    assert err.details["fieldViolations"] == [
        {"field": "parameters.port", "description": "must be an int"},
        {"field": "name", "description": "too long"},
    ]


def test_field_violations_name_the_http_body_field_not_the_proto_path() -> None:
    err = from_rpc_error(
        rpc_error(
            InvalidArgument(
                "bad input",
                [
                    FieldViolation("platform_input.value", "must be between -100 and 100"),
                    FieldViolation("platform_input.name", "unknown input"),
                    FieldViolation("request_id", "too long"),
                ],
            )
        ),
        "catalog",
        {"platform_input.name": "input_id", "platform_input.": ""},
    )
    assert err.details["fieldViolations"] == [
        {"field": "value", "description": "must be between -100 and 100"},
        {"field": "input_id", "description": "unknown input"},
        {"field": "request_id", "description": "too long"},
    ]


def test_quota_exceeded_is_403_with_the_violations() -> None:
    err = from_rpc_error(
        rpc_error(QuotaExceeded("over quota", [QuotaViolation("teams/payments", "services 5/5")])),
        "provisioning",
    )
    assert err.status == 403
    assert err.details["quotaViolations"] == [{"subject": "teams/payments", "description": "services 5/5"}]


def test_other_resource_exhaustion_is_429() -> None:
    assert from_rpc_error(plain_error(grpc.StatusCode.RESOURCE_EXHAUSTED), "cost").status == 429


async def test_a_message_over_grpcs_size_limit_is_the_callers_400_not_429() -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server = grpc.aio.server(options=[("grpc.max_receive_message_length", 1024)])
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service="x" * 10_000), timeout=10
                )
    finally:
        await server.stop(None)
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    err = from_rpc_error(raised.value, "catalog")
    assert (err.status, err.name) == (400, "InputError")
    assert err.message == "the request is too large for the catalog service"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.ALREADY_EXISTS, 409),
        (grpc.StatusCode.ABORTED, 409),
        (grpc.StatusCode.FAILED_PRECONDITION, 409),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.UNIMPLEMENTED, 501),
        (grpc.StatusCode.INTERNAL, 500),
        (grpc.StatusCode.UNKNOWN, 500),
        (grpc.StatusCode.UNAUTHENTICATED, 502),
    ],
)
def test_status_mapping(code: grpc.StatusCode, status: int) -> None:
    assert from_rpc_error(plain_error(code), "catalog").status == status


def test_every_error_code_is_mapped() -> None:
    unmapped = {c for c in grpc.StatusCode if c != grpc.StatusCode.OK} - set(GRPC_TO_HTTP)
    assert not unmapped


def test_unavailable_names_the_service_not_the_transport_text() -> None:
    err = from_rpc_error(
        plain_error(grpc.StatusCode.UNAVAILABLE, "failed to connect to all addresses; ipv4:…"), "cost"
    )
    assert err.message == "the cost service is unavailable"
    assert err.details["service"] == "cost"


def test_not_found_message_passes_through() -> None:
    err = from_rpc_error(rpc_error(NotFound("service 'x' not found")), "catalog")
    assert (err.status, err.name, err.message) == (404, "NotFoundError", "service 'x' not found")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(GatewaySettings.model_validate({})), raise_server_exceptions=False) as client:
        yield client


def test_validation_errors_are_400_in_backstage_shape_with_every_field(client: TestClient) -> None:
    response = client.post(
        "/api/services",
        json={"name": "Bad_Name", "team": "", "template": "web-service", "unexpected": 1},
        headers={"x-request-id": "req-123"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["name"] == "InputError"
    assert body["request"] == {"method": "POST", "url": "/api/services"}
    assert body["response"] == {"statusCode": 400}
    fields = {v["field"] for v in body["error"]["fieldViolations"]}
    assert {"name", "team", "unexpected"} <= fields
    assert body["error"]["requestId"] == "req-123"
    assert response.headers["x-request-id"] == "req-123"


def test_unknown_route_is_404_in_backstage_shape(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["name"] == "NotFoundError"
    assert len(response.headers["x-request-id"]) == 32


def test_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/healthz", headers={"x-request-id": "a b\tc"})
    assert response.headers["x-request-id"] != "a b\tc"


def test_backend_down_is_503_with_the_service_named() -> None:
    settings = GatewaySettings.model_validate({"catalog_address": "127.0.0.1:1", "call_timeout_seconds": 2})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        response = client.get("/api/templates")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == "the catalog service is unavailable"
