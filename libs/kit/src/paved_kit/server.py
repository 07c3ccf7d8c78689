"""The gRPC server every Paved service runs: interceptors, health, reflection, TLS, metrics, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from prometheus_client import REGISTRY, CollectorRegistry

from paved_kit.interceptors import (
    AuthInterceptor,
    ErrorInterceptor,
    MetricsInterceptor,
    RequestContextInterceptor,
    ValidationInterceptor,
)
from paved_kit.logging import get_logger
from paved_kit.metrics import MetricsEndpoint, grpc_server_metrics
from paved_kit.reflection import enable_reflection
from paved_kit.settings import BaseServiceSettings

_log = get_logger(__name__)

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

AddServicerFn = Callable[[Any, grpc.aio.Server], None]


def format_address(host: str, port: int) -> str:
    """``host:port``, bracketing IPv6 literals."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{port}"


class GrpcServer:
    """A grpc.aio server wired from settings; register servicers, then :meth:`start` and later :meth:`stop`.

    ``name`` is the short service name (``catalog``); errors carry the domain ``<name>.paved.dev``.
    """

    def __init__(
        self,
        settings: BaseServiceSettings,
        name: str,
        *,
        metrics_registry: CollectorRegistry = REGISTRY,
        extra_interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    ) -> None:
        self.settings = settings
        self.name = name
        self.domain = f"{name}.paved.dev"
        self.health = health_aio.HealthServicer()
        self._registrations: list[Callable[[grpc.aio.Server], None]] = []
        self._service_names: list[str] = []
        self._metrics_registry = metrics_registry
        self._extra_interceptors = list(extra_interceptors)
        self._server: grpc.aio.Server | None = None
        self._metrics_endpoint: MetricsEndpoint | None = None
        self._port: int | None = None
        self._stop_requested: asyncio.Event | None = None
        self._stopped = False
        self._handler_checked: set[str] = set()

    @property
    def service_names(self) -> list[str]:
        """Full names of the application services registered (without health and reflection)."""
        return list(self._service_names)

    @property
    def port(self) -> int:
        """The bound port (known after :meth:`start`, even when the settings asked for port 0)."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    @property
    def address(self) -> str:
        """``host:port`` clients can dial."""
        return format_address(self.settings.host, self.port)

    @property
    def metrics_port(self) -> int | None:
        """Port of the Prometheus endpoint, when one is served."""
        return self._metrics_endpoint.port if self._metrics_endpoint else None

    def add_servicer(self, add_fn: AddServicerFn, servicer: Any, full_service_name: str) -> None:
        """Register a generated servicer, e.g. ``add_CatalogServiceServicer_to_server``."""
        self._check_not_started()
        self._registrations.append(lambda server: add_fn(servicer, server))
        self._service_names.append(full_service_name)

    def add_method_handlers(
        self, full_service_name: str, handlers: Mapping[str, grpc.RpcMethodHandler]
    ) -> None:
        """Register hand-made method handlers (``{"Method": grpc.unary_unary_rpc_method_handler(...)}``)."""
        self._check_not_started()
        generic = grpc.method_handlers_generic_handler(full_service_name, dict(handlers))
        self._registrations.append(lambda server: server.add_generic_rpc_handlers((generic,)))
        self._service_names.append(full_service_name)

    def leave_to_handlers(self, *fields: str) -> None:
        """Skip the edge checks of these fields (``package.Message.field``): their handlers judge the
        values themselves, e.g. a bulk ingest that rejects bad rows one by one and keeps the rest."""
        self._check_not_started()
        self._handler_checked.update(fields)

    def _check_not_started(self) -> None:
        if self._server is not None:
            raise RuntimeError("services must be added before the server starts")

    def _interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        # Outermost first: the context (request id, canonical log line) sees the final status of
        # everything inside it, including auth rejections and error translation.
        interceptors: list[grpc.aio.ServerInterceptor] = [
            RequestContextInterceptor(self.name),
            MetricsInterceptor(grpc_server_metrics(self._metrics_registry)),
        ]
        if self.settings.auth_token is not None:
            interceptors.append(AuthInterceptor(self.settings.auth_token, self.domain))
        interceptors += self._extra_interceptors
        # Innermost: requests are decoded and checked inside the error translation, so a hostile value
        # becomes INVALID_ARGUMENT before any handler sees it.
        interceptors += [
            ErrorInterceptor(self.domain),
            ValidationInterceptor(frozenset(self._handler_checked)),
        ]
        return interceptors

    async def start(self) -> int:
        """Bind, start serving and mark every service SERVING; returns the bound port."""
        self._check_not_started()
        server = grpc.aio.server(
            interceptors=self._interceptors(),
            options=[
                # Refuse to share a port: a second copy of a service must fail, not split traffic.
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        for register in self._registrations:
            register(server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        enable_reflection([*self._service_names, HEALTH_SERVICE], server)
        for service in ("", *self._service_names):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

        bind = format_address(self.settings.host, self.settings.port)
        tls = self.settings.server_tls()
        if self.settings.metrics_port is not None:
            self._metrics_endpoint = MetricsEndpoint(
                self.settings.host, self.settings.metrics_port, self._metrics_registry
            )
        try:
            try:
                port = (
                    server.add_secure_port(bind, tls.credentials()) if tls else server.add_insecure_port(bind)
                )
            except RuntimeError as exc:
                raise OSError(f"cannot listen on {bind}: address in use or unavailable") from exc
            if port == 0:
                raise OSError(f"cannot listen on {bind}: address in use or unavailable")
            await server.start()
        except BaseException:
            if self._metrics_endpoint is not None:
                self._metrics_endpoint.stop()
                self._metrics_endpoint = None
            raise
        self._server, self._port = server, port
        self._stop_requested = asyncio.Event()
        _log.info(
            "grpc server listening",
            address=self.address,
            tls=tls is not None,
            mutual_tls=bool(tls and tls.client_ca_file),
            auth=self.settings.auth_token is not None,
            metrics_port=self.metrics_port,
            services=self._service_names,
        )
        return port

    def request_stop(self) -> None:
        """Ask :meth:`serve_until_signal` to stop gracefully (safe to call from a signal handler)."""
        if self._stop_requested is not None:
            self._stop_requested.set()

    async def stop(self, grace: float | None = None) -> None:
        """Report NOT_SERVING, then stop, giving in-flight calls ``grace`` seconds (default from settings)."""
        if self._server is None or self._stopped:
            return
        self._stopped = True
        grace = self.settings.grace_period_seconds if grace is None else grace
        _log.info("grpc server stopping", grace_period_seconds=grace)
        # Probes and watchers see NOT_SERVING while in-flight calls finish.
        await self.health.enter_graceful_shutdown()
        await self._server.stop(grace)
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.stop()
        self.request_stop()
        _log.info("grpc server stopped")

    async def serve_until_signal(self) -> None:
        """Serve until SIGTERM/SIGINT (or :meth:`request_stop`), then stop gracefully."""
        if self._server is None or self._stop_requested is None:
            await self.start()
        assert self._server is not None and self._stop_requested is not None
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                installed.append(sig)
        try:
            # Not wait_for_termination(): cancelling that wait would cancel grpc's own shutdown future.
            await self._stop_requested.wait()
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            await self.stop()

    def _on_signal(self, sig: signal.Signals) -> None:
        _log.info("shutdown signal received", signal=sig.name)
        self.request_stop()
