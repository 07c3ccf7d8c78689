"""A real HTTP server on a free port that records requests and answers with canned replies."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpServer:
    url: str
    requests: list[Seen] = field(default_factory=list)
    replies: list[tuple[int, bytes, str]] = field(default_factory=list)

    def reply(self, status: int, body: bytes, *, content_type: str = "application/json") -> None:
        self.replies.append((status, body, content_type))


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    state = HttpServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            headers = {key.lower(): value for key, value in self.headers.items()}
            state.requests.append(Seen(self.command, self.path, headers, self.rfile.read(length)))
            status, body, content_type = (
                state.replies.pop(0) if state.replies else (404, b"{}", "application/json")
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
