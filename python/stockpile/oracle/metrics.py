"""Prometheus metrics and a health endpoint (bound to 127.0.0.1 by default)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.last_price = Gauge("stockpile_oracle_last_price", "Last published price (feed unit)", ["product"], registry=self.registry)
        self.last_round = Gauge("stockpile_oracle_last_round", "Last published round", ["product"], registry=self.registry)
        self.last_publish_ts = Gauge("stockpile_oracle_last_publish_timestamp_seconds",
                                     "When the product was last published on chain (chain time)", ["product"], registry=self.registry)
        self.price_age = Gauge("stockpile_oracle_price_age_seconds", "Age of the on-chain price at the last run", ["product"], registry=self.registry)
        self.last_push = Gauge("stockpile_oracle_last_push_timestamp_seconds", "Wall time of the last confirmed push transaction", registry=self.registry)
        self.last_run = Gauge("stockpile_oracle_last_run_timestamp_seconds", "Wall time of the last completed run", registry=self.registry)
        self.pushes = Counter("stockpile_oracle_pushes", "Confirmed push transactions", registry=self.registry)
        self.failures = Counter("stockpile_oracle_failures", "Failures by stage and subject", ["stage", "subject"], registry=self.registry)
        self.health: dict = {"status": "starting", "last_run": None, "last_error": None}

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` (Prometheus text format) and ``/health`` (JSON) on a background thread."""

    def __init__(self, metrics: Metrics, host: str = "127.0.0.1", port: int = 9464, stale_after: float = 300.0):
        self.metrics = metrics
        self.stale_after = stale_after
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.startswith("/metrics"):
                    body, ctype, code = outer.metrics.render(), CONTENT_TYPE_LATEST, 200
                elif self.path.startswith("/health"):
                    h = dict(outer.metrics.health)
                    last = h.get("last_run")
                    healthy = h.get("status") == "ok" and last is not None and time.time() - last < outer.stale_after
                    body, ctype, code = json.dumps(h).encode(), "application/json", 200 if healthy else 503
                else:
                    body, ctype, code = b"not found\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> MetricsServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
