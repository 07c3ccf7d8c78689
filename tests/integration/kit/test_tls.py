"""Servers serve TLS from settings and, with a client CA, admit only clients with a certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paved_kit.testing import GrpcChannelFactory, GrpcServerFactory
from paved_kit.tls import ClientTLS

from .conftest import Echo, register_echo


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _issue(
    subject: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: x509.Name | None, *, ca: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca_cert, ca_key = _issue("paved test CA", None, None, ca=True)
    server_cert, server_key = _issue("catalog", ca_key, ca_cert.subject, ca=False)
    client_cert, client_key = _issue("provisioning", ca_key, ca_cert.subject, ca=False)
    _write(tmp_path / "server.pem", server_cert, server_key)
    _write(tmp_path / "client.pem", client_cert, client_key)
    return Pki(
        ca=_write(tmp_path / "ca.pem", ca_cert),
        server_cert=tmp_path / "server.pem",
        server_key=tmp_path / "server.key",
        client_cert=tmp_path / "client.pem",
        client_key=tmp_path / "client.key",
    )


async def test_tls_server_accepts_verified_clients(
    pki: Pki, grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server = await grpc_server_factory(
        register_echo, name="echo", tls_cert_file=pki.server_cert, tls_key_file=pki.server_key
    )
    echo = Echo(grpc_channel_factory(server, tls=ClientTLS(ca_file=pki.ca)))
    assert (await echo.unary({}))["request_id"]

    plaintext = Echo(grpc_channel_factory(server, retry=False, default_timeout=2))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await plaintext.unary({})
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_requires_a_client_certificate(
    pki: Pki, grpc_server_factory: GrpcServerFactory, grpc_channel_factory: GrpcChannelFactory
) -> None:
    server = await grpc_server_factory(
        register_echo,
        name="echo",
        tls_cert_file=pki.server_cert,
        tls_key_file=pki.server_key,
        tls_client_ca_file=pki.ca,
    )
    mutual = ClientTLS(ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key)
    assert (await Echo(grpc_channel_factory(server, tls=mutual)).unary({}))["request_id"]

    anonymous = Echo(
        grpc_channel_factory(server, tls=ClientTLS(ca_file=pki.ca), retry=False, default_timeout=2)
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await anonymous.unary({})
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
