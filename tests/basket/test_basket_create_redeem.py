"""Create and redeem move exactly units x shares of every component; compliance follows the
components (paused, frozen, allowlist) with errors naming the component; the basket's own pause,
freeze and allowlist; permits; donations; the composition checks of initialize."""

from __future__ import annotations

import ape
import pytest

from basket_helpers import COMPONENTS, deploy_basket, fund
from devkit.devnet import sign_permit
from devkit.ape_stack import mint_id


def backing_holds(s, exact=True):
    supply = s.basket.totalSupply()
    for c in s.components:
        bal = c.token.balanceOf(s.basket)
        assert (bal == supply * c.units) if exact else (bal >= supply * c.units), c.symbol
    return True


def test_create_takes_exactly_the_components_and_mints_shares(stack):
    s = stack
    fund(s, s.alice, 7)
    tx = s.basket.create(7, s.bob, sender=s.alice)
    assert s.basket.balanceOf(s.bob) == 7 and s.basket.totalSupply() == 7
    for c in s.components:
        assert c.token.balanceOf(s.alice) == 0 and c.token.balanceOf(s.basket) == 7 * c.units
        assert c.token.allowance(s.alice, s.basket) == 0
    ev = [e for e in tx.events if e.event_name == "Created"][0]
    assert ev.payer == s.alice.address and ev.to == s.bob.address and ev.shares == 7
    assert list(ev.amounts) == [7 * c.units for c in s.components]
    tokens, amounts = s.basket.amountsFor(7)
    assert list(tokens) == [c.token.address for c in s.components] and list(amounts) == list(ev.amounts)
    assert s.basket.isFullyBacked() and backing_holds(s)


def test_redeem_returns_exactly_the_components(stack):
    s = stack
    fund(s, s.alice, 10)
    s.basket.create(10, s.alice, sender=s.alice)
    tx = s.basket.redeem(3, s.carol, sender=s.alice)
    assert s.basket.balanceOf(s.alice) == 7 and s.basket.totalSupply() == 7
    for c in s.components:
        assert c.token.balanceOf(s.carol) == 3 * c.units and c.token.balanceOf(s.basket) == 7 * c.units
    ev = [e for e in tx.events if e.event_name == "Redeemed"][0]
    assert (ev.holder, ev.to, ev.shares) == (s.alice.address, s.carol.address, 3)
    assert list(ev.amounts) == [3 * c.units for c in s.components]
    backing_holds(s)


def test_create_short_of_one_component_reverts_whole(stack):
    s = stack
    fund(s, s.alice, 2)
    last = s.components[-1]
    last.token.approve(s.basket, 2 * last.units - 1, sender=s.alice)
    with ape.reverts(s.basket.ERC20InsufficientAllowance, spender=s.basket.address, allowance=2 * last.units - 1,
                     needed=2 * last.units):
        s.basket.create(2, s.alice, sender=s.alice)
    assert s.basket.totalSupply() == 0 and all(c.token.balanceOf(s.basket) == 0 for c in s.components)


def test_zero_shares_and_bad_receivers_are_refused(stack):
    s = stack
    fund(s, s.alice, 1)
    with ape.reverts(s.basket.ZeroShares):
        s.basket.create(0, s.alice, sender=s.alice)
    with ape.reverts(s.basket.ZeroAddress):
        s.basket.create(1, "0x" + "00" * 20, sender=s.alice)
    with ape.reverts(s.basket.ERC20InvalidReceiver, receiver=s.basket.address):
        s.basket.create(1, s.basket, sender=s.alice)
    s.basket.create(1, s.alice, sender=s.alice)
    with ape.reverts(s.basket.ZeroShares):
        s.basket.redeem(0, s.alice, sender=s.alice)
    with ape.reverts(s.basket.ERC20InsufficientBalance):
        s.basket.redeem(2, s.alice, sender=s.alice)
    with ape.reverts(s.basket.ERC20InvalidReceiver, receiver=s.basket.address):  # components would be stranded
        s.basket.redeem(1, s.basket, sender=s.alice)
    with ape.reverts(s.basket.ZeroAddress):
        s.basket.redeem(1, "0x" + "00" * 20, sender=s.alice)
    with ape.reverts(s.basket.ERC20InvalidReceiver, receiver=s.basket.address):
        s.basket.transfer(s.basket, 1, sender=s.alice)


@pytest.mark.parametrize("op", ["create", "redeem"])
def test_paused_component_stops_create_and_redeem_naming_it(stack, op):
    s = stack
    fund(s, s.alice, 4)
    s.basket.create(2, s.alice, sender=s.alice)
    tb = s.components[2]
    tb.token.pause(sender=s.pauser)
    with ape.reverts(s.basket.ComponentPaused, component=tb.token.address):
        getattr(s.basket, op)(1, s.alice, sender=s.alice)
    tb.token.unpause(sender=s.admin)  # a component's guardian cannot unpause it (CommodityToken, issue 10)
    getattr(s.basket, op)(1, s.alice, sender=s.alice)
    backing_holds(s)


@pytest.mark.parametrize("how", ["address", "amount"])
@pytest.mark.parametrize("op", ["create", "redeem"])
def test_frozen_basket_holding_stops_create_and_redeem_naming_the_component(stack, op, how):
    s = stack
    fund(s, s.alice, 4)
    s.basket.create(2, s.alice, sender=s.alice)
    dy = s.components[1]
    if how == "address":
        dy.token.setAddressFrozen(s.basket, True, sender=s.protector)
    else:
        dy.token.setFrozenTokens(s.basket, 1, sender=s.protector)
    with ape.reverts(s.basket.ComponentFrozen, component=dy.token.address, account=s.basket.address):
        getattr(s.basket, op)(1, s.alice, sender=s.alice)
    dy.token.setAddressFrozen(s.basket, False, sender=s.protector)
    dy.token.setFrozenTokens(s.basket, 0, sender=s.protector)
    getattr(s.basket, op)(1, s.alice, sender=s.alice)


def test_basket_must_be_an_allowed_holder_of_an_allowlist_mode_component(stack):
    s = stack
    fund(s, s.alice, 2)
    li = s.components[3]
    li.token.setAllowlistMode(True, sender=s.compliance)
    li.token.setAllowlisted(s.alice, True, sender=s.compliance)
    with ape.reverts(s.basket.BasketNotAllowlisted, component=li.token.address):
        s.basket.create(1, s.alice, sender=s.alice)
    li.token.setAllowlisted(s.basket, True, sender=s.compliance)
    s.basket.create(1, s.alice, sender=s.alice)
    # a redeemer not on the component's allowlist cannot receive it: refused, naming the component
    s.basket.transfer(s.bob, 1, sender=s.alice)
    with ape.reverts(s.basket.ComponentTransferRefused, component=li.token.address, to=s.bob.address,
                     amount=li.units):
        s.basket.redeem(1, s.bob, sender=s.bob)
    s.basket.redeem(1, s.alice, sender=s.bob)  # to an allowed holder it goes through
    backing_holds(s)


def test_payer_frozen_in_a_component_is_refused_naming_it(stack):
    s = stack
    fund(s, s.alice, 1)
    ag = s.components[4]
    ag.token.setAddressFrozen(s.alice, True, sender=s.protector)
    with ape.reverts(s.basket.ComponentTransferRefused, component=ag.token.address, to=s.basket.address):
        s.basket.create(1, s.alice, sender=s.alice)


def test_basket_own_pause_freeze_and_allowlist(stack):
    s, b = stack, stack.basket
    fund(s, s.alice, 5)
    b.create(5, s.alice, sender=s.alice)
    b.pause(sender=s.pauser)
    for call in (lambda: b.create(1, s.alice, sender=s.alice), lambda: b.redeem(1, s.alice, sender=s.alice),
                 lambda: b.transfer(s.bob, 1, sender=s.alice)):
        with ape.reverts(b.EnforcedPause):
            call()
    assert not b.canTransfer(s.alice, s.bob, 1)
    b.unpause(sender=s.pauser)
    b.setAddressFrozen(s.alice, True, sender=s.protector)
    with ape.reverts(b.ERC7943CannotSend, account=s.alice.address):
        b.redeem(1, s.alice, sender=s.alice)
    with ape.reverts(b.ERC7943CannotSend, account=s.alice.address):
        b.transfer(s.bob, 1, sender=s.alice)
    with ape.reverts(b.AccountFrozen, account=s.alice.address):  # no new shares to a frozen address
        b.create(1, s.alice, sender=s.bob)
    b.setAddressFrozen(s.alice, False, sender=s.protector)
    b.setFrozenTokens(s.alice, 4, sender=s.protector)
    with ape.reverts(b.ERC7943InsufficientUnfrozenBalance, account=s.alice.address, amount=2, unfrozen=1):
        b.redeem(2, s.alice, sender=s.alice)
    b.redeem(1, s.alice, sender=s.alice)
    b.forcedTransfer(s.alice, s.bob, 4, sender=s.protector)  # takes frozen shares, unfreezes them
    assert b.balanceOf(s.bob) == 4 and b.getFrozenTokens(s.alice) == 0
    b.setAllowlistMode(True, sender=s.compliance)
    with ape.reverts(b.ERC7943CannotSend, account=s.bob.address):
        b.redeem(1, s.bob, sender=s.bob)
    b.setAllowlisted(s.bob, True, sender=s.compliance)
    b.redeem(1, s.bob, sender=s.bob)
    with ape.reverts(b.ERC7943CannotReceive, account=s.carol.address):
        b.transfer(s.carol, 1, sender=s.bob)
    backing_holds(s)


def test_create_with_permits_of_every_component(stack, chain):
    s = stack
    for c in s.components:
        c.token.mint(s.alice, 3 * c.units, mint_id(f"permit{c.symbol}"), sender=s.minter)
    deadline = chain.pending_timestamp + 3600
    sigs = []
    for c in s.components:
        v, r, ss = sign_permit(s.alice.private_key, token_name=c.token.name(), chain_id=chain.chain_id,
                               token=c.token.address, owner=s.alice.address, spender=s.basket.address,
                               value=3 * c.units, nonce=c.token.nonces(s.alice), deadline=deadline)
        sigs.append((deadline, v, r, ss))
    # front-run: someone relays the first permit before the create; the create still goes through
    c0 = s.components[0]
    c0.token.permit(s.alice, s.basket, 3 * c0.units, *sigs[0], sender=s.stranger)
    s.basket.createWithPermits(3, s.alice, sigs, sender=s.alice)
    assert s.basket.balanceOf(s.alice) == 3
    assert all(c.token.balanceOf(s.basket) == 3 * c.units for c in s.components)
    with ape.reverts(s.basket.PermitCountMismatch, given=1, expected=5):
        s.basket.createWithPermits(1, s.alice, sigs[:1], sender=s.alice)


def test_donation_is_surplus_never_paid_out_and_only_it_is_recoverable(stack):
    s, b = stack, stack.basket
    fund(s, s.alice, 4)
    b.create(4, s.alice, sender=s.alice)
    ndpr = s.components[0]
    ndpr.token.mint(s.bob, 123, mint_id("donation"), sender=s.minter)
    ndpr.token.transfer(b, 123, sender=s.bob)  # a direct transfer: no shares for it
    assert b.surplus(ndpr.token) == 123 and b.isFullyBacked()
    assert ndpr.token.balanceOf(b) == 4 * ndpr.units + 123
    b.redeem(4, s.alice, sender=s.alice)
    assert ndpr.token.balanceOf(s.alice) == 4 * ndpr.units  # exactly, not a share of the donation
    assert ndpr.token.balanceOf(b) == 123 and b.totalSupply() == 0
    with ape.reverts(b.NoSurplus, token=s.components[1].token.address):
        b.recoverSurplus(s.components[1].token, s.carol, sender=s.admin)
    tx = b.recoverSurplus(ndpr.token, s.carol, sender=s.admin)
    assert ndpr.token.balanceOf(s.carol) == 123 and ndpr.token.balanceOf(b) == 0
    assert [e for e in tx.events if e.event_name == "SurplusRecovered"][0].amount == 123


def test_recover_surplus_cannot_touch_the_backing(stack):
    s, b = stack, stack.basket
    fund(s, s.alice, 2)
    b.create(2, s.alice, sender=s.alice)
    for c in s.components:
        assert b.surplus(c.token) == 0
        with ape.reverts(b.NoSurplus, token=c.token.address):
            b.recoverSurplus(c.token, s.admin, sender=s.admin)
    backing_holds(s)


def test_component_forced_out_of_the_basket_shows_as_under_backed(stack):
    """The component issuer's asset protection can take from the basket: the basket reports it
    (isFullyBacked false), and reconciliation flags it."""
    s, b = stack, stack.basket
    fund(s, s.alice, 2)
    b.create(2, s.alice, sender=s.alice)
    ag = s.components[4]
    ag.token.forcedTransfer(b, s.carol, 1, sender=s.protector)
    assert not b.isFullyBacked()


def test_composition_is_recorded(stack):
    b = stack.basket
    assert b.componentCount() == len(COMPONENTS) and b.decimals() == 0 and b.symbol() == "SMB"
    for i, (c, spec) in enumerate(zip(stack.components, COMPONENTS)):
        got = b.getComponent(i)
        assert (got.token, got.units, got.priceFeed, got.tokenDecimals, got.feedDecimals) == \
            (c.token.address, spec[3], c.adapter.address, spec[2], 8)
    assert [x.token for x in b.composition()] == [c.token.address for c in stack.components]


def test_initialize_refuses_bad_compositions(stack, project):
    s = stack
    t0, t1 = s.components[0].token.address, s.components[1].token.address
    feed = s.components[0].adapter.address
    zero = "0x" + "00" * 20
    cases = [
        ([], "EmptyComposition", {}),
        ([(t0, 1, feed, 60), (t0, 2, feed, 60)], "DuplicateComponent", {"component": t0}),
        ([(t0, 1, feed, 60), (t1, 0, feed, 60)], "ZeroUnits", {"component": t1}),
        ([(zero, 1, zero, 0)], "ZeroAddress", {}),
        ([(t0, 1, zero, 0)] * 17, "TooManyComponents", {"count": 17, "max": 16}),
    ]
    for params, err, args in cases:
        with ape.reverts(getattr(s.basket, err), **args):
            deploy_basket(project, s.admin, s.timelock, params)


def test_basket_shares_have_eip2612_permit(stack, chain):
    s, b = stack, stack.basket
    fund(s, s.alice, 3)
    b.create(3, s.alice, sender=s.alice)
    deadline = chain.pending_timestamp + 3600
    v, r, ss = sign_permit(s.alice.private_key, token_name=b.name(), chain_id=chain.chain_id, token=b.address,
                           owner=s.alice.address, spender=s.bob.address, value=2, nonce=b.nonces(s.alice),
                           deadline=deadline)
    b.permit(s.alice, s.bob, 2, deadline, v, r, ss, sender=s.carol)
    b.transferFrom(s.alice, s.bob, 2, sender=s.bob)
    b.redeem(2, s.bob, sender=s.bob)
    assert all(c.token.balanceOf(s.bob) == 2 * c.units for c in s.components) and b.totalSupply() == 1
    backing_holds(s)
