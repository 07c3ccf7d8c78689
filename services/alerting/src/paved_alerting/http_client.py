"""The service's outgoing HTTP client (webhooks, Alertmanager, Prometheus), made on its first request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx


class HttpClient(Protocol):
    """What the senders and readers use of an ``httpx.AsyncClient``."""

    async def get(self, url: str, **kwargs: Any) -> httpx.Response: ...

    async def post(self, url: str, **kwargs: Any) -> httpx.Response: ...


class OnDemandClient:
    """An ``httpx.AsyncClient`` made on the first request. Importing httpx and making a client (which loads
    the CA bundle into a TLS context) was ~0.15 s of start-up, which a service that never notifies nor
    reads Prometheus does without."""

    def __init__(self, *, timeout: float, follow_redirects: bool = False) -> None:
        self._timeout = timeout
        self._follow_redirects = follow_redirects
        self._client: httpx.AsyncClient | None = None

    @property
    def made(self) -> bool:
        """Whether the client exists (a request was made)."""
        return self._client is not None

    def _made(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self._timeout, follow_redirects=self._follow_redirects)
        return self._client

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._made().get(url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self._made().post(url, **kwargs)

    async def aclose(self) -> None:
        """Close the client, if one was made."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
