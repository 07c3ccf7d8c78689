"""gRPC health check for probes that kubelet cannot make natively: a TLS or mutual-TLS port.

Exits 0 when the server reports SERVING, 1 otherwise, so it fits an ``exec`` probe or a compose
``healthcheck``. Only the standard library, grpcio and grpcio-health-checking (already in the image).

    python healthcheck.py --address 127.0.0.1:50051 --tls-dir /etc/paved/tls --server-name paved-catalog
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:50051", help="host:port of the gRPC server")
    parser.add_argument("--service", default="", help="service name to check; empty = the whole server")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds before giving up")
    parser.add_argument(
        "--tls-dir",
        type=Path,
        help="directory with ca.crt, tls.crt and tls.key (a kubernetes.io/tls Secret with its CA); "
        "set = TLS, and the certificate is presented for mutual TLS",
    )
    parser.add_argument("--server-name", help="name to verify the server certificate against")
    return parser.parse_args(argv)


def _channel(args: argparse.Namespace) -> grpc.Channel:
    if args.tls_dir is None:
        return grpc.insecure_channel(args.address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(args.tls_dir / "ca.crt").read_bytes(),
        private_key=(args.tls_dir / "tls.key").read_bytes(),
        certificate_chain=(args.tls_dir / "tls.crt").read_bytes(),
    )
    options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
    return grpc.secure_channel(args.address, credentials, options=options)


def main(argv: list[str] | None = None) -> int:
    """Check once; print why on failure."""
    args = _parse(argv)
    try:
        with _channel(args) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
            )
    except OSError as exc:
        print(f"cannot read TLS material: {exc}", file=sys.stderr)
        return 1
    except grpc.RpcError as exc:
        print(f"health check of {args.address} failed: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        print(f"{args.address} is {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
