"""The node side of the transport: an HTTP/JSON server (stdlib ``ThreadingHTTPServer``).

Every ``POST`` route takes a JSON object and answers a JSON object. Before a handler runs, the
server checks, in this order, and refuses with a :class:`Refusal` body
``{"refused": REASON, "detail": TEXT}`` and an HTTP status:

=================  ======  ===========================================================
reason             status  when
=================  ======  ===========================================================
``not_found``      404     unknown path
``unauthenticated`` 401    no ``Authorization: Bearer`` token, or one whose SHA-256 is not configured
``rate_limited``   429     the client's token bucket is empty (per transmitter, else per address)
``length_required`` 411    no ``Content-Length``
``body_too_large`` 413     ``Content-Length`` above ``max_body_bytes`` (the body is not read)
``malformed_json`` 400     not UTF-8 JSON, or not an object
``deadline``       408     the request was not read in ``request_deadline_seconds``
(handler's own)    409...  a handler raises ``Refusal(reason, detail)``
``internal``       500     the handler failed (the exception's type only; details in the node's log)
=================  ======  ===========================================================

``GET /health`` (JSON, 200 or 503) and ``GET /metrics`` (Prometheus text) need no token; they
carry nothing secret. Tokens are compared by hash in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from stockpile.errors import StockpileError
from stockpile.nodes.config import ServerConfig, is_loopback, token_hash

log = logging.getLogger(__name__)


class Refusal(StockpileError):
    """A request the node will not serve: ``reason`` is a short machine code, ``detail`` one line for a person."""

    def __init__(self, reason: str, detail: str, status: int = 409):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"refused": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Request:
    """What a handler sees: the authenticated transmitter's name, the path and the JSON body."""

    client: str
    path: str
    body: dict[str, Any]


Handler = Callable[[Request], dict[str, Any]]


class _Bucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.at = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class NodeServer:
    """Serve ``routes`` (path -> handler) under ``config``. ``health()`` returns (healthy, JSON details).

    ``start()`` serves on a background thread, ``serve_forever()`` on the caller's; ``stop()``.
    Refuses to start on a non-loopback address without TLS (``ValueError``)."""

    def __init__(self, config: ServerConfig, routes: dict[str, Handler],
                 health: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
                 registry: CollectorRegistry | None = None, name: str = "node"):
        if config.tls is None and not is_loopback(config.host):
            raise ValueError(f"refusing to serve plain HTTP on {config.host}: only loopback may go without TLS")
        self.config = config
        self.routes = dict(routes)
        self.health = health or (lambda: (True, {"status": "ok"}))
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("stockpile_node_requests", "Requests by path and outcome (ok or the refusal reason)",
                                ["path", "outcome"], registry=self.registry)
        self.latency = Histogram("stockpile_node_request_seconds", "Time to answer a request", ["path"],
                                 registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
        self._hashes = {t.token_sha256: t.name for t in config.transmitters}
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.httpd = self._make_httpd()
        self.thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False
        self._lifecycle = threading.Lock()  # stop() against serve_forever() starting on another thread

    # ------------------------------------------------------------------------------ lifecycle

    def _make_httpd(self) -> ThreadingHTTPServer:
        outer = self

        class _H(BaseHTTPRequestHandler):
            timeout = outer.config.request_deadline_seconds  # socket timeout: a slow or stalled client is cut off
            server_version = "stockpile-node"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802
                outer._get(self)

            def do_POST(self) -> None:  # noqa: N802
                outer._post(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (headers, tokens: never logged)
                pass

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            address_family = socket.AF_INET6 if ":" in outer.config.host else socket.AF_INET

        httpd = _Server((self.config.host, self.config.port), _H)
        if self.config.tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(str(self.config.tls.cert), str(self.config.tls.key))
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        return httpd

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.config.tls else "http"
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> NodeServer:
        with self._lifecycle:
            self._serving = True
        self.thread = threading.Thread(target=lambda: self.httpd.serve_forever(poll_interval=0.1), daemon=True, name="node-server")
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until ``stop()`` is called from another (e.g. a signal handler's thread).
        Returns at once if ``stop()`` came first (a SIGTERM between start-up and serving)."""
        with self._lifecycle:
            if self._stopped:
                return
            self._serving = True
        self.httpd.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        with self._lifecycle:
            self._stopped = True
            serving = self.thread is not None or self._serving
        if serving:  # serve_forever has started or is about to: shutdown() waits for its loop to end
            self.httpd.shutdown()
            self.thread, self._serving = None, False
        self.httpd.server_close()

    # ------------------------------------------------------------------------------- requests

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str = "application/json") -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            if status >= 400:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            h.wfile.write(body)
        except OSError:  # the client went away
            h.close_connection = True

    def _json(self, h: BaseHTTPRequestHandler, status: int, obj: dict[str, Any]) -> None:
        self._send(h, status, json.dumps(obj, separators=(",", ":")).encode())

    def _refuse(self, h: BaseHTTPRequestHandler, path: str, r: Refusal) -> None:
        self.requests.labels(path, r.reason).inc()
        self._json(h, r.status, r.body())

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        if path == "/health":
            try:
                ok, details = self.health()
            except Exception as exc:  # a broken health check is unhealthy, not a crash
                ok, details = False, {"status": "error", "error": type(exc).__name__}
            self.requests.labels(path, "ok" if ok else "unhealthy").inc()
            self._json(h, 200 if ok else 503, details)
        elif path == "/metrics":
            self.requests.labels(path, "ok").inc()
            self._send(h, 200, generate_latest(self.registry), CONTENT_TYPE_LATEST)
        else:
            self._refuse(h, "other", Refusal("not_found", f"no route GET {path}", 404))

    def _client(self, h: BaseHTTPRequestHandler) -> str | None:
        auth = h.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = token_hash(token.strip())
        for known, name in self._hashes.items():
            if hmac.compare_digest(known, digest):
                return name
        return None

    def _allow(self, client: str) -> bool:
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = _Bucket(self.config.rate_limit.per_second, self.config.rate_limit.burst)
            return bucket.take()

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        path = h.path.split("?", 1)[0]
        handler = self.routes.get(path)
        label = path if handler else "other"
        try:
            if handler is None:
                raise Refusal("not_found", f"no route POST {path}", 404)
            client = self._client(h)
            if not self._allow(client or f"addr:{h.client_address[0]}"):
                raise Refusal("rate_limited", "too many requests; slow down", 429)
            if client is None:
                raise Refusal("unauthenticated", "missing or unknown bearer token", 401)
            length_text = h.headers.get("Content-Length")
            if length_text is None or h.headers.get("Transfer-Encoding"):
                raise Refusal("length_required", "a Content-Length header is required (no chunked bodies)", 411)
            try:
                length = int(length_text)
            except ValueError:
                raise Refusal("length_required", "Content-Length is not a number", 411) from None
            if length < 0 or length > self.config.max_body_bytes:
                raise Refusal("body_too_large", f"body of {length} bytes; the limit is {self.config.max_body_bytes}", 413)
            try:
                raw = h.rfile.read(length)
            except TimeoutError:
                raise Refusal("deadline", f"request body not received within {self.config.request_deadline_seconds}s", 408) from None
            if len(raw) != length:
                raise Refusal("deadline", "request body shorter than its Content-Length", 408)
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise Refusal("malformed_json", f"body is not JSON: {type(exc).__name__}", 400) from None
            if not isinstance(body, dict):
                raise Refusal("malformed_json", "body must be a JSON object", 400)
            answer = handler(Request(client=client, path=path, body=body))
        except Refusal as r:
            self._refuse(h, label, r)
            return
        except Exception as exc:
            log.exception("handler %s failed", path)
            self._refuse(h, label, Refusal("internal", f"the node failed: {type(exc).__name__}", 500))
            return
        finally:
            self.latency.labels(label).observe(time.monotonic() - started)
        self.requests.labels(label, "ok").inc()
        self._json(h, 200, answer)
