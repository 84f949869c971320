"""Re-composition: the timelock sets a successor basket with the new composition; a holder migrates
(redeem here + create there, one transaction). Neither basket is under-backed at any point."""

from __future__ import annotations

import ape

from basket_helpers import HEARTBEAT, deploy_basket, fund, timelock_call
from devkit.ape_stack import mint_id


def exact(basket, components_units):
    supply = basket.totalSupply()
    return all(tok.balanceOf(basket) == supply * u for tok, u in components_units)


def test_migration_to_a_successor_set_by_the_timelock(stack, project, chain):
    s, old = stack, stack.basket
    ndpr, dy, tb, li, ag = s.components
    fund(s, s.alice, 5)
    old.create(5, s.alice, sender=s.alice)
    # new composition: twice the NdPr, same Dy and Ag, half the Tb, no Li2CO3; another order
    new_units = [(ag.token, ag.units), (ndpr.token, 2 * ndpr.units), (dy.token, dy.units), (tb.token, tb.units // 2)]
    new = deploy_basket(project, s.admin, s.timelock, [(t.address, u, c.adapter.address, HEARTBEAT)
                                                       for (t, u), c in zip(new_units, (ag, ndpr, dy, tb))],
                        symbol="SMB2")
    with ape.reverts(old.NoSuccessor):
        old.migrate(1, s.alice, sender=s.alice)
    tx = timelock_call(s, chain, old.address, old.setSuccessor.encode_input(new.address))
    assert old.successor() == new.address
    assert [e.successor for e in old.SuccessorSet.from_receipt(tx)] == [new.address]
    # the extra NdPr comes from the holder
    ndpr.token.mint(s.alice, 3 * ndpr.units, mint_id("migration extra"), sender=s.minter)
    ndpr.token.approve(old, 3 * ndpr.units, sender=s.alice)
    tx = old.migrate(3, s.carol, sender=s.alice)
    assert old.balanceOf(s.alice) == 2 and old.totalSupply() == 2
    assert new.balanceOf(s.carol) == 3 and new.totalSupply() == 3
    assert exact(old, [(c.token, c.units) for c in s.components]) and exact(new, new_units)
    # what the successor does not need came back to the holder
    assert li.token.balanceOf(s.alice) == 3 * li.units
    assert tb.token.balanceOf(s.alice) == 3 * (tb.units - tb.units // 2)
    assert ndpr.token.balanceOf(s.alice) == 0 and ag.token.balanceOf(s.alice) == 0
    assert all(t.allowance(old, new) == 0 for t, _ in new_units)
    ev = [e for e in tx.events if e.event_name == "Migrated"][0]
    assert (ev.holder, ev.successor, ev.to, ev.shares) == (s.alice.address, new.address, s.carol.address, 3)
    created = [e for e in tx.events if e.event_name == "Created"][0]
    assert created.payer == old.address and list(created.amounts) == [3 * u for _, u in new_units]


def test_migration_without_the_holders_top_up_reverts_entirely(stack, project, chain):
    s, old = stack, stack.basket
    ndpr = s.components[0]
    fund(s, s.alice, 2)
    old.create(2, s.alice, sender=s.alice)
    new = deploy_basket(project, s.admin, s.timelock, [(ndpr.token.address, 2 * ndpr.units, ndpr.adapter.address,
                                                        HEARTBEAT)], symbol="SMB2")
    timelock_call(s, chain, old.address, old.setSuccessor.encode_input(new.address))
    with ape.reverts(old.ERC20InsufficientAllowance):
        old.migrate(2, s.alice, sender=s.alice)
    assert old.totalSupply() == 2 and new.totalSupply() == 0
    assert exact(old, [(c.token, c.units) for c in s.components])


def test_successor_cannot_be_the_basket_itself_and_can_be_closed(stack, chain):
    s, b = stack, stack.basket
    with ape.reverts():  # InvalidSuccessor inside the timelock's call
        timelock_call(s, chain, b.address, b.setSuccessor.encode_input(b.address))
    assert b.successor() == "0x" + "00" * 20
    timelock_call(s, chain, b.address, b.setSuccessor.encode_input("0x" + "00" * 20), salt=b"\2" * 32)
    with ape.reverts(b.NoSuccessor):
        b.migrate(1, s.alice, sender=s.alice)
