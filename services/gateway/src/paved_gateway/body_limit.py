"""The gateway's edge for request bodies: at most ``max_bytes`` (413 before anything parses it, whether the
size is declared in Content-Length or only counted as a chunked body streams in), and JSON bodies within
``json_rules`` (400 naming each offending field)."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paved_gateway import json_rules
from paved_gateway.errors import ApiError, error_response, invalid


class BodyLimitMiddleware:
    """Reads the body once, refusing it as soon as it is too large, then replays it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and _is_json(headers.get("content-type")):
            problems = json_rules.violations(body)
            if problems:
                await self._refuse(scope, receive, send, invalid("the request body is invalid", problems))
                return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> ApiError:
        return ApiError(
            413,
            f"the request body is larger than the gateway accepts ({self.max_bytes} bytes)",
            details={"limitBytes": self.max_bytes},
        )

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: ApiError) -> None:
        response = error_response(Request(scope), error)
        if error.status == 413:
            # The rest of the body is not read: the connection cannot carry another request.
            response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _is_json(content_type: str | None) -> bool:
    # FastAPI reads a body without a content type as JSON too.
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the client to disconnect

    return replay
