"""The outgoing HTTP client is made by the first request, not at start-up."""

from __future__ import annotations

import asyncio

from paved_alerting.http_client import OnDemandClient


async def test_the_client_is_made_by_the_first_request_and_closed_with_the_service() -> None:
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = OnDemandClient(timeout=5)
    try:
        assert not client.made
        response = await client.post(f"http://127.0.0.1:{port}/hook", content=b"")
        assert response.status_code == 204 and client.made
        assert received[0].startswith(b"POST /hook HTTP/1.1")
        await client.aclose()
        assert not client.made
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
