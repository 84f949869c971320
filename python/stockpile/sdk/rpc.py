"""Connecting to a node: ``connect(url)`` is the one way the package makes a ``Web3`` (one
timeout, the retrying provider below, an optional chain-id check; errors name the URL without its
path, where API keys live).

The HTTP provider asks the chain id once and rides out what public endpoints do: rate limits (HTTP 429) and connections
dropped now and then.

web3.py retries only read methods by default. Here ``eth_sendRawTransaction`` is retried too:
the same signed bytes are the same transaction, so sending them again cannot duplicate it (the
node answers "already known", or "nonce too low" once it is mined, which ``Sender.broadcast``
recognises by looking the transaction hash up).

``read_calls(w3, calls)`` reads many views in JSON-RPC batches (one HTTP request each), one call
at a time on a node or provider that takes no batches.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from typing import Any

import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration
from web3.types import RPCEndpoint

from stockpile.sdk.errors import StockpileError

RETRIES = 7  # backoff 0.1 s doubling: up to ~6 s in all, longer than a public endpoint's rate-limit window
BACKOFF = 0.1
TIMEOUT = 30.0  # seconds per request (a large eth_getLogs range on a public endpoint takes a while)
BATCH_SIZE = 20  # calls per JSON-RPC batch: under the smallest batch limit public endpoints set


class RpcError(StockpileError):
    """No node answers at the URL, or it is another chain than the one expected."""


def retry_configuration() -> ExceptionRetryConfiguration:
    return ExceptionRetryConfiguration(
        errors=(ConnectionError, requests.ConnectionError, requests.HTTPError, requests.Timeout),
        retries=RETRIES, backoff_factor=BACKOFF,
        method_allowlist=[*REQUEST_RETRY_ALLOWLIST, "eth_sendRawTransaction", "eth_feeHistory", "debug", "anvil"])


class Sessions:
    """What the HTTP provider posts through: one ``requests.Session`` per thread (as web3 keeps by
    default), whose proxy, CA-bundle and ``.netrc`` settings are read from the environment once, when
    the thread's session is made. requests otherwise reads them on every request (two scans of the
    environment and a look for ~/.netrc: ~0.4 ms of CPU per RPC call, a third of a call's client-side
    CPU against a local node, measured). An environment changed after connecting is not seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            env = session.merge_environment_settings(self.url, {}, None, None, None)
            netrc = requests.utils.get_netrc_auth(self.url)
            session.trust_env = False
            session.proxies.update(env["proxies"])
            if env["verify"] is not None:
                session.verify = env["verify"]
            if netrc:
                session.auth = netrc
            self._local.session = session
        return session

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self.session().post(*args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self.session().get(*args, **kwargs)


def http_provider(url: str, timeout: float = TIMEOUT) -> HTTPProvider:
    """The chain id is asked once per provider: web3's validation middleware asks for it before every
    eth_call, eth_estimateGas and transaction (about two requests in three of a deployment)."""
    return HTTPProvider(url, request_kwargs={"timeout": timeout}, session=Sessions(url),
                        exception_retry_configuration=retry_configuration(),
                        cache_allowed_requests=True, cacheable_requests={RPCEndpoint("eth_chainId")})


def redact_url(url: str) -> str:
    """Scheme and host only: RPC URLs often carry an API key in the path or query."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    hidden = "/..." if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def connect(rpc_url: str, chain_id: int | None = None, timeout: float = TIMEOUT) -> Web3:
    """A ``Web3`` on ``rpc_url`` (http or https) with the retrying provider. With ``chain_id`` the
    node is asked at once and RpcError names what is wrong (unreachable, another chain); without,
    nothing is sent until the first call. PoA chains' long ``extraData`` is accepted."""
    if not rpc_url.startswith(("http://", "https://")):
        raise RpcError(f"not an http(s) RPC URL: {redact_url(rpc_url)!r}")
    w3 = Web3(http_provider(rpc_url, timeout))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    if chain_id is not None:
        check_chain_id(w3, chain_id, redact_url(rpc_url))
    return w3


def check_chain_id(w3: Web3, expected: int, where: str = "the node") -> int:
    """The node's chain id; RpcError when it cannot be asked or is not ``expected``."""
    try:
        got = int(w3.eth.chain_id)
    except Exception as exc:
        raise RpcError(f"no node answers at {where}: {type(exc).__name__}") from None
    if got != expected:
        raise RpcError(f"{where} is chain id {got}, not the expected {expected}")
    return got


_NO_BATCHES: weakref.WeakSet[Any] = weakref.WeakSet()  # providers whose node refused a batch: asked one call at a time


def read_calls(w3: Web3, calls: Sequence[Any]) -> list[Any]:
    """The results of ``calls`` (bound web3 contract calls such as ``token.functions.name()``), in order.

    Sent as JSON-RPC batches of up to ``BATCH_SIZE`` (one HTTP round trip and a fraction of web3's
    per-request work each). When a batch fails, the calls are asked again one at a time: a call
    that fails on its own then raises exactly as it would unbatched; when they all answer, it was the
    node (or the provider: eth-tester has no batches) that refused the batch, and this provider is
    asked one call at a time from then on."""
    if len(calls) < 2 or w3.provider in _NO_BATCHES:
        return [c.call() for c in calls]
    try:
        out: list[Any] = []
        for start in range(0, len(calls), BATCH_SIZE):
            chunk = calls[start:start + BATCH_SIZE]
            with w3.batch_requests() as batch:
                for c in chunk:
                    batch.add(c)
                answers = batch.execute()
            if len(answers) != len(chunk):  # a node that drops answers from a batch: web3 would pair what came
                raise ValueError(f"{len(answers)} answers to a batch of {len(chunk)}")
            out.extend(answers)
        return out
    except Exception:  # whatever refused the batch: the calls one by one raise what is wrong with them, if anything
        results = [c.call() for c in calls]
        _NO_BATCHES.add(w3.provider)
        return results
