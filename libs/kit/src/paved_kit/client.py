"""Channels to other Paved services: retries on UNAVAILABLE, default deadline, request id and token."""

from __future__ import annotations

import json
from typing import Any

import grpc
import grpc.aio
from pydantic import SecretStr

from paved_kit.client_interceptors import OutgoingContext
from paved_kit.settings import BaseServiceSettings
from paved_kit.tls import ClientTLS

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def service_config(retry: bool) -> str:
    """The JSON service config of Paved channels (a retry policy for every method when ``retry``)."""
    method_config: dict[str, Any] = {"name": [{}]}
    if retry:
        method_config["retryPolicy"] = RETRY_POLICY
    return json.dumps({"methodConfig": [method_config]})


def create_channel(
    address: str,
    *,
    token: SecretStr | str | None = None,
    tls: ClientTLS | None = None,
    default_timeout: float | None = 10.0,
    retry: bool = True,
) -> grpc.aio.Channel:
    """An aio channel to ``address`` (``host:port``); close it with ``await channel.close()``.

    Calls without a timeout get ``default_timeout`` seconds (None: no deadline) — long-lived streams
    should pass their own ``timeout``. UNAVAILABLE is retried up to 4 attempts with backoff.
    """
    options: list[tuple[str, Any]] = [
        ("grpc.enable_retries", 1 if retry else 0),
        ("grpc.service_config", service_config(retry)),
        ("grpc.max_receive_message_length", 16 * 1024 * 1024),
        # gRPC's default reconnect backoff grows to 120 s: a peer that restarted would stay
        # unreachable for up to two minutes. Services restart often (deploys, scaling): cap it at 2 s.
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2000),
    ]
    if tls is not None and tls.server_name:
        options.append(("grpc.ssl_target_name_override", tls.server_name))
    interceptors = OutgoingContext(token=token, default_timeout=default_timeout).interceptors()
    if tls is not None:
        return grpc.aio.secure_channel(address, tls.credentials(), options=options, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)


def channel_from_settings(
    address: str, settings: BaseServiceSettings, *, default_timeout: float | None = 10.0, retry: bool = True
) -> grpc.aio.Channel:
    """A channel to another service using this service's token and client TLS settings."""
    return create_channel(
        address,
        token=settings.auth_token,
        tls=settings.client_tls(),
        default_timeout=default_timeout,
        retry=retry,
    )


class LazyChannel:
    """A channel to a peer opened on first use, so a service starts whether or not the peer is up."""

    def __init__(
        self,
        address: str,
        settings: BaseServiceSettings,
        *,
        default_timeout: float | None = None,
        retry: bool = False,
    ) -> None:
        self._address = address
        self._settings = settings
        self._default_timeout = default_timeout
        self._retry = retry
        self._channel: grpc.aio.Channel | None = None

    def get(self) -> grpc.aio.Channel:
        """The channel, opened now if it is not open yet."""
        if self._channel is None:
            self._channel = channel_from_settings(
                self._address, self._settings, default_timeout=self._default_timeout, retry=self._retry
            )
        return self._channel

    async def close(self) -> None:
        """Close the channel if it was opened; a later ``get`` opens a new one."""
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()
