"""HTTP JSON-RPC providers that ride out what public endpoints do: rate limits (HTTP 429) and
connections dropped now and then.

web3.py retries only read methods by default. Here ``eth_sendRawTransaction`` is retried too:
the same signed bytes are the same transaction, so sending them again cannot duplicate it (the
node answers "already known", or "nonce too low" once it is mined, which ``Sender.broadcast``
recognises by looking the transaction hash up).
"""

from __future__ import annotations

import requests
from web3 import HTTPProvider
from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration

RETRIES = 7  # backoff 0.1 s doubling: up to ~6 s in all, longer than a public endpoint's rate-limit window
BACKOFF = 0.1


def retry_configuration() -> ExceptionRetryConfiguration:
    return ExceptionRetryConfiguration(
        errors=(ConnectionError, requests.ConnectionError, requests.HTTPError, requests.Timeout),
        retries=RETRIES, backoff_factor=BACKOFF,
        method_allowlist=[*REQUEST_RETRY_ALLOWLIST, "eth_sendRawTransaction", "eth_feeHistory", "debug", "anvil"])


def http_provider(url: str, timeout: float = 30) -> HTTPProvider:
    return HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retry_configuration())
