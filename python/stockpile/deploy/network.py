"""Connect to a chain: ape's in-process network, a local anvil started here, or an RPC URL.

The chain id answered by the node is checked against the one expected, and a mainnet chain
id is refused unless explicitly allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from web3 import Web3
from web3.types import Wei
from stockpile.errors import StockpileError

from stockpile.sdk.rpc import connect as rpc_connect
from stockpile.sdk.rpc import redact_url

# Production networks (mainnets) on which a deployment must be asked for explicitly.
MAINNET_CHAIN_IDS = {
    1: "Ethereum", 10: "OP Mainnet", 56: "BNB Smart Chain", 100: "Gnosis", 137: "Polygon PoS",
    324: "zkSync Era", 8453: "Base", 42161: "Arbitrum One", 42220: "Celo", 43114: "Avalanche C-Chain",
    59144: "Linea", 534352: "Scroll",
}


class NetworkError(StockpileError, RuntimeError):
    pass


@dataclass
class Connection:
    w3: Web3
    chain_id: int
    description: str
    _owned: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for item in self._owned:
            item.stop()
        self._owned.clear()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _fund_dev_accounts(w3: Web3, count: int = 10, amount: int = 10**21) -> None:
    """eth-tester funds accounts of its own; give anvil's dev accounts ether too, so the same
    keys work on every local network."""
    from stockpile.toolchain.anvil import dev_keys
    from eth_account import Account

    funder = w3.eth.accounts[0]
    for key in dev_keys(count):
        w3.eth.send_transaction({"from": funder, "to": Account.from_key(key).address, "value": Wei(amount)})


def check_chain(chain_id: int, expected_chain_id: int | None = None, allow_mainnet: bool = False) -> None:
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise NetworkError(f"the node answers chain id {chain_id}, but chain id {expected_chain_id} was expected")
    if chain_id in MAINNET_CHAIN_IDS and not allow_mainnet:
        raise NetworkError(f"chain id {chain_id} is {MAINNET_CHAIN_IDS[chain_id]} mainnet: refusing without --allow-mainnet")


def connect(network: str, expected_chain_id: int | None = None, allow_mainnet: bool = False,
            timeout: float = 30) -> Connection:
    """``network`` is ``anvil`` (start a local anvil), ``in-process`` (py-evm, as ape's test
    network) or an ``http(s)://`` / ``ws(s)://`` RPC URL."""
    owned: list[Any] = []
    if network == "anvil":
        from stockpile.toolchain import Anvil

        node = Anvil().start()
        owned.append(node)
        w3 = rpc_connect(node.url, timeout=timeout)
        description = f"anvil (started here) at {node.url}"
    elif network in ("in-process", "test", "ape-test"):
        from web3 import EthereumTesterProvider

        w3 = Web3(EthereumTesterProvider())
        description = "in-process py-evm (ape's test network)"
        _fund_dev_accounts(w3)
    elif network.startswith(("http://", "https://")):
        w3 = rpc_connect(network, timeout=timeout)  # retries 429s and dropped connections
        description = redact_url(network)
    elif network.startswith(("ws://", "wss://")):
        from web3 import LegacyWebSocketProvider

        w3 = Web3(LegacyWebSocketProvider(network))
        description = redact_url(network)
    else:
        raise NetworkError(f"unknown network {network!r}: use anvil, in-process, or an RPC URL")
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:
        for o in owned:
            o.stop()
        raise NetworkError(f"cannot reach {description}: {exc}") from None
    try:
        check_chain(chain_id, expected_chain_id, allow_mainnet)
    except NetworkError:
        for o in owned:
            o.stop()
        raise
    return Connection(w3=w3, chain_id=chain_id, description=description, _owned=owned)
