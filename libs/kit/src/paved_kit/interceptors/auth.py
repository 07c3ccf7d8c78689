"""Auth interceptor: require ``authorization: Bearer <token>`` when the service has a token configured."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from paved_kit.context import bind_request
from paved_kit.errors import Unauthenticated
from paved_kit.grpc_errors import abort_with
from paved_kit.interceptors.base import AroundInterceptor, Context

AUTHORIZATION_KEY = "authorization"
# Probes (kubelet, load balancers) and grpcurl discovery cannot carry tokens.
EXEMPT_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
SERVICE_PRINCIPAL = "service-token"


class AuthInterceptor(AroundInterceptor):
    """Rejects calls without the configured bearer token with UNAUTHENTICATED (health/reflection exempt)."""

    def __init__(self, token: SecretStr, domain: str) -> None:
        self._expected = f"Bearer {token.get_secret_value()}".encode()
        self._domain = domain

    def applies_to(self, method: str) -> bool:
        return not method.startswith(EXEMPT_PREFIXES)

    @asynccontextmanager
    async def around(self, context: Context, method: str) -> AsyncIterator[None]:
        presented = dict(context.invocation_metadata() or ()).get(AUTHORIZATION_KEY)
        if not isinstance(presented, str) or not hmac.compare_digest(presented.encode(), self._expected):
            reason = "MISSING_CREDENTIALS" if presented is None else "INVALID_CREDENTIALS"
            await abort_with(
                context,
                Unauthenticated("a valid bearer token is required (authorization metadata)", reason=reason),
                self._domain,
            )
        with bind_request(caller=SERVICE_PRINCIPAL):
            yield
