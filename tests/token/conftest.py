"""Fixtures for CommodityToken tests on ape's in-process network.

One stack per module (ape reverts chain state between tests): a TimelockController (UPGRADER_ROLE),
a real ReserveAttestor behind its proxy with 5 attestors and quorum 3, a CommodityToken behind an
ERC1967 proxy, roles granted to separate accounts, a minter bucket and a first attestation.
"""

from __future__ import annotations

import pytest

from devkit.ape_stack import UNIT, Attest, Timelocked, build_stack, mint_id



@pytest.fixture(scope="module")
def stack(project, accounts, chain):
    return build_stack(project, accounts, chain)


@pytest.fixture
def attest(stack, chain):
    return Attest(stack.attestor, chain, stack.admin, chain.chain_id)


@pytest.fixture
def gov(stack, chain):
    """GOVERNOR_ROLE / UPGRADER_ROLE changes: scheduled on the timelock by the admin, executed after its delay."""
    return Timelocked(stack.timelock, chain, stack.admin)


@pytest.fixture
def token(stack):
    return stack.token


@pytest.fixture
def funded(stack):
    """alice 1,000 and bob 100 tokens."""
    stack.token.mint(stack.alice, 1_000 * UNIT, mint_id("alice"), sender=stack.minter)
    stack.token.mint(stack.bob, 100 * UNIT, mint_id("bob"), sender=stack.minter)
    return stack
