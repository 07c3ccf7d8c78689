"""Prometheus metrics of gRPC servers and their HTTP exposition endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, start_http_server

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class GrpcServerMetrics:
    """Counters and histograms every gRPC server updates, one set per registry."""

    handled: Counter
    handling_seconds: Histogram


_BY_REGISTRY: dict[int, GrpcServerMetrics] = {}


def grpc_server_metrics(registry: CollectorRegistry = REGISTRY) -> GrpcServerMetrics:
    """The server metrics registered in ``registry``, created on first use.

    Servers in one process (tests, a combined runner) share them; the labels tell them apart.
    """
    metrics = _BY_REGISTRY.get(id(registry))
    if metrics is None:
        metrics = GrpcServerMetrics(
            handled=Counter(
                "paved_grpc_server_handled",
                "RPCs completed on the server, by status code.",
                ["service", "method", "code"],
                registry=registry,
            ),
            handling_seconds=Histogram(
                "paved_grpc_server_handling_seconds",
                "Time from receiving an RPC to its status, in seconds.",
                ["service", "method"],
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
        )
        _BY_REGISTRY[id(registry)] = metrics
    return metrics


class MetricsEndpoint:
    """The ``/metrics`` HTTP endpoint, served from a background thread until :meth:`stop`."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry = REGISTRY) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=registry)

    @property
    def port(self) -> int:
        """The port it listens on (useful when asked for port 0)."""
        return int(self._server.server_port)

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
