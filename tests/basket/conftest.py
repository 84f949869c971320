"""Fixtures of the basket tests: one five-component stack per module on ape's in-process network
(ape reverts the chain between tests)."""

from __future__ import annotations

import pytest

from basket_helpers import ATTESTORS, COMPONENTS, DEPLOYER, HOLDER, KEYS, ORACLES, START, TRANSMITTER, answer_of, \
    build_basket_stack



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
def sample(tmp_path_factory):
    """The sample deployment on anvil (devkit.sample_chain: deployed once per process, this module on a snapshot
    of it, reverted at its end: the clock too, so other suites moving it leave nothing behind)."""
    from devkit import sample_chain

    with sample_chain.lend(tmp_path_factory.mktemp("basket")) as chain:
        yield chain


@pytest.fixture(scope="module")
def anvil(sample):
    return sample.node


@pytest.fixture(scope="module")
def w3(sample):
    return sample.w3


@pytest.fixture(scope="module")
def deployed(sample):
    """The deploy engine of the sample deployment file (five products, basket SMB), over this module's manifest."""
    from stockpile.deploy import SAMPLE_DEVNET, load_deployment, make_engine

    return make_engine(load_deployment(SAMPLE_DEVNET), sample.w3, sample.manifest_dir)


@pytest.fixture(scope="module")
def sp(deployed, w3, anvil):
    """The sample deployment with reserves attested, 100 units of every product minted to the holder
    (anvil #8), simulated prices published; an SDK client acting as the holder."""
    from decimal import Decimal

    from eth_account import Account

    from devkit.oracle_demo import publish_simulated_prices
    from stockpile.sdk import Stockpile

    manifest = deployed.manifest.model_dump(mode="json")
    ops = Stockpile.connect(w3, manifest=manifest, account=Account.from_key(KEYS[DEPLOYER]))
    holder = Account.from_key(KEYS[HOLDER]).address
    now = w3.eth.get_block("latest")["timestamp"]
    for info in ops.products():
        p = ops.product(info.symbol)
        p.attest_root("0x" + "11" * 32, 10**30, 1, now - 1, f"basket test {info.symbol}",
                      [Account.from_key(KEYS[i]) for i in ATTESTORS])
        if p.token.functions.allowlistMode().call():
            p.allowlist(holder)
        p.mint(holder, p.units(Decimal(100)), f"basket sdk {info.symbol}")
    publish_simulated_prices(anvil.url, deployed.manifest.address("price-feed"),
                             {f"{k}/USD": Decimal(v) for k, v in START.items()},
                             signer_keys=[KEYS[i] for i in ORACLES], transmitter_key=KEYS[TRANSMITTER])
    return ops.with_account(Account.from_key(KEYS[HOLDER]))
