"""Upgrades only through the TimelockController: a direct call is refused; a scheduled upgrade runs
after the delay and keeps balances, roles, escrow and compliance state."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from devkit.ape_stack import TIMELOCK_DELAY, UNIT, deploy_implementation, mint_id
from devkit.contracts import ape_container

IMPLEMENTATION_SLOT = int.from_bytes(keccak(text="eip1967.proxy.implementation"), "big") - 1
ZERO32 = b"\0" * 32


def _implementation(chain, proxy) -> str:
    raw = chain.provider.get_storage(proxy.address, IMPLEMENTATION_SLOT)
    return "0x" + bytes(raw)[-20:].hex()


@pytest.fixture
def v2(project, stack):
    return deploy_implementation(project, stack.admin, "CommodityTokenV2")


@pytest.fixture
def populated(stack):
    s, t = stack, stack.token
    t.mint(s.alice, 500 * UNIT, mint_id("u1"), sender=s.minter)
    t.mint(s.bob, 200 * UNIT, mint_id("u2"), sender=s.minter)
    t.requestRedemption(50 * UNIT, b"\x05" * 32, sender=s.alice)
    t.acceptRedemption(1, sender=s.operator)
    t.setFrozenTokens(s.bob, 20 * UNIT, sender=s.protector)
    t.setAllowlisted(s.carol, True, sender=s.compliance)
    return s


def _state(s):
    t = s.token
    return dict(
        balances=[t.balanceOf(a) for a in (s.alice, s.bob, t.address)], supply=t.totalSupply(),
        escrow=t.totalEscrowed(), request=tuple(t.getRedemption(1)), frozen=t.getFrozenTokens(s.bob),
        allowlisted=t.isAllowlisted(s.carol), minter=t.hasRole(t.MINTER_ROLE(), s.minter),
        admin=t.defaultAdmin(), meta=(t.name(), t.symbol(), t.decimals(), t.productCode(), t.unitDescription()),
        mint_used=t.mintIdUsed(mint_id("u1")), attestor=t.reserveAttestor(), nonce=t.nonces(s.alice),
        governor=t.hasRole(t.GOVERNOR_ROLE(), s.timelock), upgrader_admin=t.getRoleAdmin(t.UPGRADER_ROLE()),
    )


def test_direct_upgrade_refused(stack, v2):
    t = stack.token
    for caller in (stack.admin, stack.minter, stack.stranger):
        with ape.reverts(t.AccessControlUnauthorizedAccount, account=caller.address, neededRole=t.UPGRADER_ROLE()):
            t.upgradeToAndCall(v2, b"", sender=caller)


def test_attack_admin_grants_itself_upgrader_and_upgrades_refused(chain, stack, v2):
    """Finding 2: UPGRADER_ROLE was administered by DEFAULT_ADMIN_ROLE, so the admin multisig could grant
    itself UPGRADER_ROLE and upgrade at once. Now the role administers itself and only the timelock holds it."""
    t = stack.token
    before = _implementation(chain, t)
    with ape.reverts(t.AccessControlUnauthorizedAccount, account=stack.admin.address, neededRole=t.UPGRADER_ROLE()):
        t.grantRole(t.UPGRADER_ROLE(), stack.admin, sender=stack.admin)
    with ape.reverts(t.AccessControlUnauthorizedAccount, account=stack.admin.address, neededRole=t.GOVERNOR_ROLE()):
        t.grantRole(t.GOVERNOR_ROLE(), stack.admin, sender=stack.admin)
    with ape.reverts(t.AccessControlUnauthorizedAccount, account=stack.admin.address, neededRole=t.UPGRADER_ROLE()):
        t.upgradeToAndCall(v2, b"", sender=stack.admin)
    assert not t.hasRole(t.UPGRADER_ROLE(), stack.admin) and _implementation(chain, t) == before
    # nor can the admin take the timelock's role away
    with ape.reverts(t.AccessControlUnauthorizedAccount, account=stack.admin.address, neededRole=t.UPGRADER_ROLE()):
        t.revokeRole(t.UPGRADER_ROLE(), stack.timelock, sender=stack.admin)


def test_upgrade_through_timelock_after_delay_preserves_state(project, chain, populated, v2):
    s, t, tl = populated, populated.token, populated.timelock
    before = _state(s)
    old_impl = _implementation(chain, t)
    data = t.upgradeToAndCall.encode_input(v2.address, b"")
    salt = keccak(text="upgrade-v2")
    tl.schedule(t.address, 0, data, ZERO32, salt, TIMELOCK_DELAY, sender=s.admin)
    op = tl.hashOperation(t.address, 0, data, ZERO32, salt)
    assert tl.isOperationPending(op) and not tl.isOperationReady(op)
    with ape.reverts(tl.TimelockUnexpectedOperationState):
        tl.execute(t.address, 0, data, ZERO32, salt, sender=s.admin)
    chain.pending_timestamp = tl.getTimestamp(op)
    receipt = tl.execute(t.address, 0, data, ZERO32, salt, sender=s.admin)
    assert tl.isOperationDone(op)
    upgraded = [e for e in receipt.events if e.event_name == "Upgraded" and e.contract_address == t.address]
    assert upgraded and upgraded[0].implementation == v2.address
    assert _implementation(chain, t).lower() == v2.address.lower() != old_impl.lower()
    assert ape_container("CommodityTokenV2").at(t.address).version() == 2
    assert _state(s) == before
    # and the token still works after the upgrade
    t.completeRedemption(1, sender=s.operator)
    t.transfer(s.bob, UNIT, sender=s.alice)
    assert ape_container("CommodityTokenV2").at(t.address).authorizations() == v2.authorizations()
    assert t.totalSupply() == before["supply"] - 50 * UNIT


def test_timelock_refuses_non_proposer_and_short_delay(stack, v2):
    s, t, tl = stack, stack.token, stack.timelock
    data = t.upgradeToAndCall.encode_input(v2.address, b"")
    with ape.reverts(tl.AccessControlUnauthorizedAccount, account=s.stranger.address,
                     neededRole=tl.PROPOSER_ROLE()):
        tl.schedule(t.address, 0, data, ZERO32, ZERO32, TIMELOCK_DELAY, sender=s.stranger)
    with ape.reverts(tl.TimelockInsufficientDelay, delay=TIMELOCK_DELAY - 1, minDelay=TIMELOCK_DELAY):
        tl.schedule(t.address, 0, data, ZERO32, ZERO32, TIMELOCK_DELAY - 1, sender=s.admin)


def test_upgrade_to_a_non_uups_contract_is_refused(project, chain, stack):
    s, t, tl = stack, stack.token, stack.timelock
    not_uups = s.admin.deploy(ape_container("PlainERC20"), s.admin, 1)
    data = t.upgradeToAndCall.encode_input(not_uups.address, b"")
    tl.schedule(t.address, 0, data, ZERO32, ZERO32, TIMELOCK_DELAY, sender=s.admin)
    chain.pending_timestamp = chain.pending_timestamp + TIMELOCK_DELAY
    before = _implementation(chain, t)
    with ape.reverts():
        tl.execute(t.address, 0, data, ZERO32, ZERO32, sender=s.admin)
    assert _implementation(chain, t) == before


def test_implementation_cannot_be_initialized(project, stack):
    impl = deploy_implementation(project, stack.admin)
    params = ("X", "X", 18, "P", "U", stack.stranger.address, 0, stack.stranger.address, stack.stranger.address,
              stack.attestor.address, 1, 0)
    with ape.reverts(impl.InvalidInitialization):
        impl.initialize(params, sender=stack.stranger)
