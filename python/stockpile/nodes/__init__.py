"""Transport shared by the independent signer nodes (oracle operators, custodian attestors) and
the transmitters that collect from them: HTTP/JSON, bearer tokens per transmitter (configured by
hash), TLS (plain HTTP only on loopback), request deadline, body size limit, per-client rate
limits, ``/health`` and ``/metrics``; and a parallel collector with a deadline and per-node
failures. See README.md in this folder."""

from stockpile.nodes.client import Collected, Failure, NodeConfigError, Nodes
from stockpile.nodes.config import NodeRef, RateLimit, ServerConfig, TlsConfig, TransmitterAuth, is_loopback, token_hash
from stockpile.nodes.server import NodeServer, Refusal, Request

__all__ = [
    "Collected",
    "Failure",
    "NodeConfigError",
    "NodeRef",
    "NodeServer",
    "Nodes",
    "RateLimit",
    "Refusal",
    "Request",
    "ServerConfig",
    "TlsConfig",
    "TransmitterAuth",
    "is_loopback",
    "token_hash",
]
