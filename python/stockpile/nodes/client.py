"""The transmitter side of the transport: ask N nodes in parallel, within one deadline.

``Nodes(refs).collect(path, body, deadline)`` posts the same JSON body (or one per node) to every
node and returns a :class:`Collected`: the JSON answers of the nodes that answered in time, and
one :class:`Failure` per node that did not, with its kind:

* ``down``: no connection (refused, reset, TLS handshake failed, name not resolved);
* ``slow``: no full answer before the deadline;
* ``garbage``: an answer that is not a JSON object, or that ``validate`` rejects;
* ``refused``: the node answered with a refusal (``{"refused": reason, "detail": ...}``), kept
  in ``Failure.reason`` / ``Failure.detail``;
* ``unauthenticated`` is a refusal too (reason ``unauthenticated``).

Tokens come from the environment variable named per node; they are sent only as a bearer token
and never logged.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import httpx

from stockpile.errors import StockpileError
from stockpile.nodes.config import NodeRef


class NodeConfigError(StockpileError):
    """A node reference that cannot be used (missing token variable, unreadable CA file)."""


@dataclass(frozen=True)
class Failure:
    node: str
    kind: str  # down | slow | garbage | refused
    detail: str
    reason: str | None = None  # the node's refusal reason, for kind == "refused"

    def __str__(self) -> str:
        what = f"refused ({self.reason})" if self.kind == "refused" else self.kind
        return f"{self.node}: {what}: {self.detail}"


@dataclass
class Collected:
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)  # node name -> JSON answer
    failures: dict[str, Failure] = field(default_factory=dict)  # node name -> why no answer
    seconds: float = 0.0


class Nodes:
    """A fixed set of nodes, each with its own HTTP connection pool (kept alive between rounds)."""

    def __init__(self, refs: Sequence[NodeRef], env: Mapping[str, str] | None = None):
        env = os.environ if env is None else env
        self.refs = {r.name: r for r in refs}
        if len(self.refs) != len(refs):
            raise NodeConfigError("duplicate node names")
        self._clients: dict[str, httpx.Client] = {}
        for r in refs:
            token = env.get(r.token_env)
            if not token:
                raise NodeConfigError(f"node {r.name}: environment variable {r.token_env} (its bearer token) is not set")
            verify: ssl.SSLContext | bool = True
            if r.ca_file is not None:
                try:
                    verify = ssl.create_default_context(cafile=str(r.ca_file))
                except (OSError, ssl.SSLError) as exc:
                    raise NodeConfigError(f"node {r.name}: cannot load ca_file {r.ca_file}: {type(exc).__name__}") from None
            self._clients[r.name] = httpx.Client(base_url=r.url, verify=verify, headers={"Authorization": f"Bearer {token.strip()}"},
                                                 limits=httpx.Limits(max_connections=4, max_keepalive_connections=2))
        self._pool = ThreadPoolExecutor(max_workers=max(2, 2 * len(refs)), thread_name_prefix="nodes")
        self._closed = threading.Event()

    @property
    def names(self) -> list[str]:
        return list(self.refs)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for c in self._clients.values():
            c.close()

    def __enter__(self) -> Nodes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, name: str, path: str, body: dict[str, Any], timeout: float,
              validate: Callable[[str, dict[str, Any]], None] | None) -> dict[str, Any] | Failure:
        try:
            resp = self._clients[name].post(path, content=json.dumps(body, separators=(",", ":")),
                                            headers={"Content-Type": "application/json"}, timeout=max(0.01, timeout))
        except httpx.TimeoutException:
            return Failure(name, "slow", f"no answer within {timeout:.2f}s")
        except (httpx.TransportError, ssl.SSLError, OSError) as exc:
            return Failure(name, "down", type(exc).__name__ + (f": {exc}" if str(exc) else ""))
        try:
            data = resp.json()
        except ValueError:
            return Failure(name, "garbage", f"HTTP {resp.status_code}, body is not JSON ({len(resp.content)} bytes)")
        if not isinstance(data, dict):
            return Failure(name, "garbage", f"HTTP {resp.status_code}, JSON that is not an object")
        if resp.status_code != 200 or "refused" in data:
            reason = data.get("refused")
            if not isinstance(reason, str):
                return Failure(name, "garbage", f"HTTP {resp.status_code} without a refusal reason")
            return Failure(name, "refused", str(data.get("detail", ""))[:500], reason=reason)
        if validate is not None:
            try:
                validate(name, data)
            except Exception as exc:  # whatever the validator finds wrong with the answer
                return Failure(name, "garbage", f"{type(exc).__name__}: {exc}"[:500])
        return data

    def collect(self, path: str, body: dict[str, Any], deadline: float,
                names: Sequence[str] | None = None, validate: Callable[[str, dict[str, Any]], None] | None = None,
                enough: Callable[[Collected], bool] | None = None,
                per_node: Mapping[str, dict[str, Any]] | None = None, settle: float = 0.0) -> Collected:
        """POST to ``names`` (default: all) in parallel and wait at most ``deadline`` seconds.

        ``body`` is the JSON object sent to every node (``per_node[name]`` instead, when given). ``validate``
        (node, answer) raises to turn an answer into a ``garbage`` failure. ``enough(collected)``,
        checked after every answer, ends the wait early: at once, or ``settle`` seconds later for the
        others to catch up (what has not answered by then is ``slow``)."""
        names = list(names) if names is not None else self.names
        started = time.monotonic()
        end = started + deadline
        futures: dict[Future[dict[str, Any] | Failure], str] = {}
        for n in names:
            b = per_node[n] if per_node is not None and n in per_node else body
            futures[self._pool.submit(self._post, n, path, dict(b), deadline, validate)] = n
        out = Collected()
        pending = set(futures)
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                break
            done, pending = wait(pending, timeout=left, return_when="FIRST_COMPLETED")
            for fut in done:
                n = futures[fut]
                res = fut.result()
                if isinstance(res, Failure):
                    out.failures[n] = res
                else:
                    out.answers[n] = res
            if enough is not None and pending and enough(out):
                if settle <= 0:
                    break
                end = min(end, time.monotonic() + settle)
                enough = None
        for fut in pending:
            n = futures[fut]
            out.failures[n] = Failure(n, "slow", f"no answer within {deadline:.2f}s")
        out.seconds = time.monotonic() - started
        return out
