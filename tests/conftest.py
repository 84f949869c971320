"""Shared fixtures.

ape's pytest plugin provides ``accounts``, ``chain``, ``project`` and ``networks`` on ape's
in-process network (or the one given with ``--network``). ``anvil`` here starts a separate
anvil process on a free port for tests that must run against a real node over JSON-RPC.
"""

from __future__ import annotations

import pytest
from web3 import Web3

from stockpile.toolchain import Anvil

ANVIL_KEYS = [
    # anvil's well-known development keys (test mnemonic): never use on a real network.
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdd4e0e0",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdf4074a1e",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]


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
