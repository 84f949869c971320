"""A local anvil with the Safe 1.4.1 contracts and a 2-of-3 Safe (owners: anvil dev keys 7, 8, 9)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from web3 import Web3

from safe_helpers import DEPLOYER, OWNERS
from stockpile.safe import SafeSingletons, create_safe, deploy_safe_singletons
from stockpile.sdk.transactions import Sender
from stockpile.toolchain import Anvil


@dataclass
class SafeChain:
    node: Anvil
    w3: Web3
    sender: Sender
    singletons: SafeSingletons
    safe: str


@pytest.fixture(scope="module")
def chain():
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        sender = Sender(w3, DEPLOYER)
        singletons = deploy_safe_singletons(sender)
        safe = create_safe(sender, singletons, [o.address for o in OWNERS], 2)
        yield SafeChain(node, w3, sender, singletons, safe)
