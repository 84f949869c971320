"""Every privileged function of the basket is refused without its role; governance (successor,
component feeds, upgrades) goes through the timelock, whose UPGRADER_ROLE only itself administers."""

from __future__ import annotations

import ape
import pytest

from basket_helpers import HEARTBEAT, fund, timelock_call

DEFAULT_ADMIN = b"\0" * 32

PRIVILEGED = [
    ("setSuccessor", "UPGRADER_ROLE", lambda s: (s.stranger.address,)),
    ("setComponentFeed", "UPGRADER_ROLE", lambda s: (s.components[0].token.address, s.components[1].adapter.address, 60)),
    ("upgradeToAndCall", "UPGRADER_ROLE", lambda s: (s.basket.address, b"")),
    ("recoverSurplus", None, lambda s: (s.components[0].token.address, s.stranger.address)),
    ("forcedTransfer", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, s.bob, 1)),
    ("setFrozenTokens", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, 1)),
    ("setAddressFrozen", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, True)),
    ("pause", "PAUSER_ROLE", lambda s: ()),
    ("unpause", "PAUSER_ROLE", lambda s: ()),
    ("setAllowlistMode", "COMPLIANCE_ROLE", lambda s: (True,)),
    ("setAllowlisted", "COMPLIANCE_ROLE", lambda s: (s.alice, True)),
    ("grantRole", None, lambda s: (s.basket.PAUSER_ROLE(), s.stranger)),
    ("revokeRole", None, lambda s: (s.basket.PAUSER_ROLE(), s.pauser)),
    ("beginDefaultAdminTransfer", None, lambda s: (s.stranger,)),
    ("cancelDefaultAdminTransfer", None, lambda s: ()),
    ("changeDefaultAdminDelay", None, lambda s: (10,)),
    ("rollbackDefaultAdminDelay", None, lambda s: ()),
]


class TestRefusedWithoutRole:
    """Every privileged function, against alice's 2 shares: created once for the class (11 transactions), and
    ape's isolation gives every test the chain as it was right after (and the tests after the class a chain
    without them)."""

    @pytest.fixture(scope="class")
    def two_shares(self, stack):
        fund(stack, stack.alice, 2)
        stack.basket.create(2, stack.alice, sender=stack.alice)
        return stack

    @pytest.mark.parametrize("fn,role,args", PRIVILEGED, ids=[p[0] for p in PRIVILEGED])
    def test_privileged_function_refused_without_role(self, two_shares, fn, role, args):
        s, b = two_shares, two_shares.basket
        assert b.totalSupply() == 2 and b.balanceOf(s.alice) == 2
        needed = getattr(b, role)() if role else DEFAULT_ADMIN
        callers = [s.stranger, s.alice] + [a for a in (s.admin, s.pauser, s.protector, s.compliance)
                                           if not b.hasRole(needed, a)]
        for caller in callers:
            with ape.reverts(b.AccessControlUnauthorizedAccount, account=caller.address, neededRole=needed):
                getattr(b, fn)(*args(s), sender=caller)
        assert b.totalSupply() == 2 and b.balanceOf(s.alice) == 2 and b.successor() == "0x" + "00" * 20


def test_upgrader_role_is_the_timelocks_and_administered_by_itself(stack):
    s, b = stack, stack.basket
    up = b.UPGRADER_ROLE()
    assert b.hasRole(up, s.timelock) and not b.hasRole(up, s.admin)
    assert b.getRoleAdmin(up) == up and b.defaultAdmin() == s.admin.address
    # the default admin cannot hand itself the upgrader role (only UPGRADER_ROLE holders administer it)
    with ape.reverts(b.AccessControlUnauthorizedAccount, account=s.admin.address, neededRole=up):
        b.grantRole(up, s.admin, sender=s.admin)


def test_component_feed_change_goes_through_the_timelock(stack, chain):
    s, b = stack, stack.basket
    ndpr, dy = s.components[0], s.components[1]
    data = b.setComponentFeed.encode_input(ndpr.token.address, dy.adapter.address, 600)
    tx = timelock_call(s, chain, b.address, data)
    got = b.getComponent(0)
    assert got.priceFeed == dy.adapter.address and got.heartbeat == 600
    assert any(log.event_name == "ComponentFeedSet" for log in b.ComponentFeedSet.from_receipt(tx))
    data = b.setComponentFeed.encode_input(s.alice.address, dy.adapter.address, 600)
    with ape.reverts():  # the timelock's call reverts with NotAComponent inside
        timelock_call(s, chain, b.address, data, salt=b"\1" * 32)
    assert b.getComponent(0).heartbeat == 600 and HEARTBEAT != 600


def test_upgrade_through_the_timelock_keeps_balances_and_composition(stack, chain, project):
    s, b = stack, stack.basket
    fund(s, s.alice, 3)
    b.create(3, s.alice, sender=s.alice)
    new_impl = s.admin.deploy(project.BasketToken)
    timelock_call(s, chain, b.address, b.upgradeToAndCall.encode_input(new_impl.address, b""))
    impl_slot = int("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc", 16)
    assert int(chain.provider.get_storage(b.address, impl_slot).hex(), 16) == int(new_impl.address, 16)
    assert b.balanceOf(s.alice) == 3 and b.componentCount() == 5 and b.isFullyBacked()
