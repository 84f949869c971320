"""A flaky JSON-RPC front like a public testnet's: rate limits (HTTP 429) and drops requests now and then.

A small asyncio HTTP/1.1 server (keep-alive, Content-Length bodies) that forwards POSTs to an
upstream node. Per request, in this order:

- rate limit: a token bucket of ``rate`` requests per second (``burst`` deep); an empty bucket
  answers ``429 Too Many Requests`` with ``Retry-After`` and a JSON-RPC error body;
- drop: with probability ``drop_rate`` (a ``random.Random(seed)``, so a run is reproducible) the
  connection is closed without an answer, either before forwarding (the node never saw it) or
  after (the node executed it, the client never hears: a sent transaction whose answer is lost).
  Bounded: never more than ``max_consecutive_drops`` in a row, at most ``max_drops`` in all.

``stats`` counts what happened, so a test can show the flakiness was really there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections import Counter

import httpx


class FlakyRpcProxy:
    def __init__(self, upstream: str, seed: int = 1, rate: float = 40.0, burst: int = 20, drop_rate: float = 0.04,
                 max_consecutive_drops: int = 2, max_drops: int = 60, host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream
        self.rng = random.Random(seed)
        self.rate, self.burst = rate, burst
        self.drop_rate, self.max_consecutive_drops, self.max_drops = drop_rate, max_consecutive_drops, max_drops
        self.host, self.port = host, port
        self.stats: Counter[str] = Counter()
        self._tokens = float(burst)
        self._last = time.monotonic()
        self._consecutive = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._client: httpx.AsyncClient | None = None
        self._handlers: set[asyncio.Task] = set()  # open client connections (keep-alive)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- decisions (one lock-free thread: the event loop's) ---------------------------------
    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def _drop(self) -> str | None:
        roll = self.rng.random()
        side = "before" if self.rng.random() < 0.5 else "after"
        if (roll < self.drop_rate and self._consecutive < self.max_consecutive_drops
                and self.stats["dropped_before"] + self.stats["dropped_after"] < self.max_drops):
            self._consecutive += 1
            return side
        self._consecutive = 0
        return None

    # -- HTTP --------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.stats["requests"] += 1
                if not self._take_token():
                    self.stats["rate_limited"] += 1
                    payload = json.dumps({"jsonrpc": "2.0", "id": None,
                                          "error": {"code": -32005, "message": "rate limit exceeded"}}).encode()
                    writer.write(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
                                 + f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
                    await writer.drain()
                    continue
                drop = self._drop()
                if drop == "before":
                    self.stats["dropped_before"] += 1
                    break
                answer = await self._client.post(self.upstream, content=body, headers={"Content-Type": "application/json"})
                if drop == "after":
                    self.stats["dropped_after"] += 1
                    with contextlib.suppress(ValueError, AttributeError):
                        self.stats["dropped_after:" + json.loads(body).get("method", "?")] += 1
                    break
                self.stats["forwarded"] += 1
                writer.write(f"HTTP/1.1 {answer.status_code} OK\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(answer.content)}\r\n\r\n".encode() + answer.content)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    def start(self) -> FlakyRpcProxy:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._client = httpx.AsyncClient(timeout=30)
            self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._client.aclose())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="flaky-rpc-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the RPC proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._server:
            async def shutdown() -> None:
                self._server.close()
                # clients in this process (in-process CLI runs) keep their connections open: close them
                # before the loop stops, or their handlers are torn down with the loop
                handlers = list(self._handlers)
                for task in handlers:
                    task.cancel()
                await asyncio.gather(*handlers, return_exceptions=True)
                await self._server.wait_closed()

            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._server = None

    def __enter__(self) -> FlakyRpcProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
