"""Fixtures of the basket tests: one five-component stack per module on ape's in-process network
(ape reverts the chain between tests)."""

from __future__ import annotations

import pytest

from basket_helpers import COMPONENTS, answer_of, build_basket_stack


@pytest.fixture(scope="module")
def stack(project, accounts, chain):
    return build_basket_stack(project, accounts, chain)


@pytest.fixture
def priced(stack):
    """Every component priced now (COMPONENTS prices)."""
    stack.prices.publish({c.fid: answer_of(p[4]) for c, p in zip(stack.components, COMPONENTS)})
    return stack


# ------------------------------------------------------------------ anvil: the sample deployment file


@pytest.fixture(scope="module")
def anvil():
    """A fresh node per module (other suites move a shared node's clock)."""
    from stockpile.toolchain import Anvil

    with Anvil() as node:
        yield node


@pytest.fixture(scope="module")
def w3(anvil):
    from web3 import Web3

    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def deployed(w3, tmp_path_factory):
    """The sample deployment file (five products, basket SMB) applied by the deploy engine; returns the engine."""
    from eth_account import Account

    from stockpile.deploy import SAMPLE_DEVNET, load_deployment, make_engine
    from stockpile.sdk.transactions import Sender
    from stockpile.toolchain.anvil import dev_keys

    engine = make_engine(load_deployment(SAMPLE_DEVNET), w3, tmp_path_factory.mktemp("deployments"))
    engine.apply(Sender(w3, Account.from_key(dev_keys()[0])), progress=False)
    return engine
