"""Two Paved servers talk over mutual TLS with the service token, configured only by environment.

The certificates are made here: a CA, one certificate per service (server and client use, as the
production overlay's ``paved-grpc-tls`` Secret holds), and a second CA no service trusts.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
import pytest
import pytest_asyncio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from paved_kit.client import channel_from_settings, create_channel
from paved_kit.server import GrpcServer
from paved_kit.settings import BaseServiceSettings
from paved_kit.tls import ClientTLS
from pydantic_settings import SettingsConfigDict

REPO = Path(__file__).resolve().parents[3]
HEALTHCHECK = REPO / "deploy" / "docker" / "healthcheck.py"
SERVICE_TOKEN = "s3rvice-token-for-the-mtls-test"
ECHO = "/paved.testing.v1.Echo/Echo"
RELAY = "/paved.testing.v1.Relay/Relay"


class CatalogSettings(BaseServiceSettings):
    """Stands in for the catalog: same env prefix as in the Kubernetes manifests."""

    model_config = SettingsConfigDict(env_prefix="PAVED_CATALOG_")
    port: int = 0


class ProvisioningSettings(BaseServiceSettings):
    """Stands in for provisioning, which calls the catalog."""

    model_config = SettingsConfigDict(env_prefix="PAVED_PROVISIONING_")
    port: int = 0
    catalog_address: str = ""


@dataclass(frozen=True)
class Suite:
    catalog: GrpcServer
    provisioning: GrpcServer
    certs: dict[str, Path]
    stranger: Path  # a certificate from a CA nobody trusts


def client_tls(directory: Path, *, with_certificate: bool = True, ca: Path | None = None) -> ClientTLS:
    return ClientTLS(
        ca_file=ca or directory / "ca.crt",
        cert_file=directory / "tls.crt" if with_certificate else None,
        key_file=directory / "tls.key" if with_certificate else None,
    )


def peer_name(context: grpc.aio.ServicerContext) -> bytes:
    """The common name of the certificate the caller presented (empty without mutual TLS)."""
    names = context.auth_context().get("x509_common_name") or [b""]
    return names[0]


@dataclass(frozen=True)
class Pki:
    certs: dict[str, Path]
    stranger: Path
    token_file: Path


@pytest.fixture
def pki(tmp_path: Path, new_authority: Callable[[Path, str], Any]) -> Pki:
    authority = new_authority(tmp_path / "pki", "paved internal CA")
    token = tmp_path / "service-token"
    token.write_text(SERVICE_TOKEN + "\n")
    return Pki(
        certs={service: authority.issue(service) for service in ("catalog", "provisioning", "gateway")},
        stranger=new_authority(tmp_path / "elsewhere", "some other CA").issue("gateway"),
        token_file=token,
    )


@pytest_asyncio.fixture
async def suite(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Suite]:
    certs, token = pki.certs, pki.token_file
    # Exactly the variables the production overlay sets (grpc-tls/*.yaml), read from files.
    for service in ("catalog", "provisioning"):
        prefix, tls = f"PAVED_{service.upper()}_", certs[service]
        monkeypatch.setenv(f"{prefix}HOST", "127.0.0.1")
        monkeypatch.setenv(f"{prefix}AUTH_TOKEN_FILE", str(token))
        monkeypatch.setenv(f"{prefix}TLS_CERT_FILE", str(tls / "tls.crt"))
        monkeypatch.setenv(f"{prefix}TLS_KEY_FILE", str(tls / "tls.key"))
        monkeypatch.setenv(f"{prefix}TLS_CLIENT_CA_FILE", str(tls / "ca.crt"))
        monkeypatch.setenv(f"{prefix}TLS_CA_FILE", str(tls / "ca.crt"))
        monkeypatch.setenv(f"{prefix}TLS_CLIENT_CERT_FILE", str(tls / "tls.crt"))
        monkeypatch.setenv(f"{prefix}TLS_CLIENT_KEY_FILE", str(tls / "tls.key"))

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b"catalog saw " + peer_name(context) + b": " + request

    catalog = GrpcServer(CatalogSettings(), "catalog")
    catalog.add_method_handlers("paved.testing.v1.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    await catalog.start()

    monkeypatch.setenv("PAVED_PROVISIONING_CATALOG_ADDRESS", catalog.address)
    settings = ProvisioningSettings()
    to_catalog = channel_from_settings(settings.catalog_address, settings)

    async def relay(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        answer: bytes = await to_catalog.unary_unary(ECHO)(request)
        return b"provisioning saw " + peer_name(context) + b"; " + answer

    provisioning = GrpcServer(settings, "provisioning")
    provisioning.add_method_handlers(
        "paved.testing.v1.Relay", {"Relay": grpc.unary_unary_rpc_method_handler(relay)}
    )
    await provisioning.start()
    try:
        yield Suite(catalog, provisioning, certs, pki.stranger)
    finally:
        await provisioning.stop(grace=0)
        await to_catalog.close()
        await catalog.stop(grace=0)


async def health(address: str, tls: ClientTLS | None) -> int:
    async with create_channel(address, tls=tls, retry=False, default_timeout=5) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        return int(response.status)


async def test_a_call_crosses_two_services_over_mutual_tls_with_the_service_token(suite: Suite) -> None:
    gateway = suite.certs["gateway"]
    async with create_channel(suite.provisioning.address, tls=client_tls(gateway), token=SERVICE_TOKEN) as ch:
        answer = await ch.unary_unary(RELAY)(b"hello")
    # Each hop saw the certificate of the service calling it: mutual TLS end to end.
    assert answer == b"provisioning saw paved-gateway; catalog saw paved-provisioning: hello"


async def test_a_client_with_a_certificate_of_the_ca_is_admitted(suite: Suite) -> None:
    for server in (suite.catalog, suite.provisioning):
        assert await health(server.address, client_tls(suite.certs["gateway"])) == 1  # SERVING


@pytest.mark.parametrize("who", ["no certificate", "certificate of another CA", "plaintext"])
async def test_a_client_without_a_trusted_certificate_is_refused(suite: Suite, who: str) -> None:
    tls = {
        "no certificate": client_tls(suite.certs["gateway"], with_certificate=False),
        # Trusts our CA (so the server is verified) but presents a certificate we did not issue.
        "certificate of another CA": client_tls(suite.stranger, ca=suite.certs["gateway"] / "ca.crt"),
        "plaintext": None,
    }[who]
    for server in (suite.catalog, suite.provisioning):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health(server.address, tls)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()


async def test_a_server_with_a_certificate_of_another_ca_is_not_trusted(suite: Suite) -> None:
    # The client holds a valid certificate but trusts only the other CA: it must refuse our server.
    tls = client_tls(suite.certs["gateway"], ca=suite.stranger / "ca.crt")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health(suite.catalog.address, tls)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("token", [None, "not-the-token"])
async def test_mutual_tls_alone_is_not_enough_without_the_service_token(
    suite: Suite, token: str | None
) -> None:
    tls = client_tls(suite.certs["gateway"])
    async with create_channel(suite.catalog.address, tls=tls, token=token, retry=False) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as rejected:
            await channel.unary_unary(ECHO)(b"hello")
    assert rejected.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert SERVICE_TOKEN not in (rejected.value.details() or "")


async def test_the_image_health_check_probes_a_mutual_tls_port(suite: Suite) -> None:
    async def probe(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HEALTHCHECK),
            "--address",
            suite.catalog.address,
            "--timeout",
            "5",
            *args,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode is not None
        return process.returncode, err.decode()

    # As the production overlay's exec probe runs it: the pod's own certificate, the Service's name.
    tls_dir = str(suite.certs["catalog"])
    assert await probe("--tls-dir", tls_dir, "--server-name", "paved-catalog") == (0, "")
    code, why = await probe("--tls-dir", str(suite.stranger), "--server-name", "paved-catalog")
    assert code == 1 and "UNAVAILABLE" in why
    code, why = await probe("--tls-dir", tls_dir, "--server-name", "paved-policy")
    assert code == 1 and "UNAVAILABLE" in why  # the certificate does not name the policy service
    code, why = await probe()
    assert code == 1 and "UNAVAILABLE" in why  # plaintext against a TLS port
