"""An HTTP JSON-RPC front for tests: a server on 127.0.0.1 (its own thread) in front of a node.

Each POST goes to :meth:`RpcFront.answer`, which returns ``(HTTP status, body)`` to answer it
itself or ``None`` to forward it unchanged to the upstream node (:meth:`RpcFront.forward`).
Subclasses override ``answer`` to count requests, refuse some as hosted nodes do, or change an
answer. (The rehearsal's rate-limiting, connection-dropping front is asyncio with keep-alive:
tests/rehearsal/rpc_proxy.py.)
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class RpcFront:
    def __init__(self, upstream: str | None = None, timeout: float = 60) -> None:
        import httpx

        self.upstream = upstream
        self._client = httpx.Client(timeout=timeout)
        front = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status, out = front.answer(body, self.path) or (200, front.forward(body))
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, body: bytes, path: str) -> tuple[int, bytes] | None:
        """``(status, body)`` to answer this request here; None forwards it (the default)."""
        return None

    def forward(self, body: bytes) -> bytes:
        """The upstream node's answer to this request body."""
        assert self.upstream is not None, "this front has no upstream node"
        return self._client.post(self.upstream, content=body, headers={"content-type": "application/json"}).content

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._client.close()
