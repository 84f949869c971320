"""Shared fixtures.

ape's pytest plugin provides ``accounts``, ``chain``, ``project`` and ``networks`` on ape's
in-process network (or the one given with ``--network``). ``anvil`` here starts a separate
anvil process on a free port for tests that must run against a real node over JSON-RPC.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys

ANVIL_KEYS = dev_keys()  # anvil's well-known development keys (test mnemonic): never use on a real network


@pytest.fixture(scope="session")
def anvil():
    """A fresh anvil node for the test session (stopped at the end)."""
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil) -> Web3:
    web3 = Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
    return web3


@pytest.fixture(scope="session")
def anvil_keys() -> list[str]:
    return ANVIL_KEYS
