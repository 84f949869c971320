"""SDK: ``sp.basket("SMB")`` on the sample deployment on anvil: composition, NAV (against a Decimal
model of the component prices read back), create with approvals and with permits, redeem, holding
value, backing, and the contract's errors as named exceptions."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest

from stockpile.sdk import errors


def test_basket_is_found_from_the_manifest_with_its_composition(sp):
    assert sp.baskets() == ["SMB"]
    smb = sp.basket("SMB")
    info = smb.info()
    assert info.symbol == "SMB" and info.decimals == 0 and info.nav_feed
    assert [(c.symbol, c.amount_per_share) for c in info.components] == [
        ("NDPR", Decimal("0.5")), ("DY", Decimal("0.1")), ("TB", Decimal("0.02")), ("LI2CO3", Decimal("0.001")),
        ("AG", Decimal("1"))]
    assert smb.amounts_for(3) == {"NDPR": 15 * 10**17, "DY": 3 * 10**17, "TB": 6 * 10**16, "LI2CO3": 3 * 10**15,
                                  "AG": 3 * 10**6}
    with pytest.raises(Exception, match="unknown basket 'XYZ'"):
        sp.basket("XYZ")


def test_basket_is_found_from_the_directory_address_alone(sp, deployed, w3):
    from stockpile.sdk import Stockpile

    m = deployed.manifest
    alone = Stockpile.connect(w3, directory=m.address("directory"))  # no manifest
    assert alone.baskets() == ["SMB"]
    smb = alone.basket("SMB")
    assert smb.token.address == m.address("baskets.SMB") and smb.nav_feed.address == m.address("baskets.SMB.nav")
    assert smb.nav().nav == sp.basket("SMB").nav().nav


def test_nav_matches_the_component_prices(sp):
    nav = sp.basket("SMB").nav()
    exact = sum((c.amount_per_share * c.price.price for c in nav.components), Decimal(0))
    assert nav.nav == exact.quantize(Decimal("1e-8"), rounding=ROUND_FLOOR)
    assert nav.decimals == 8 and nav.updated_at == min(c.price.updated_at for c in nav.components)
    assert all(c.value_per_share == c.amount_per_share * c.price.price for c in nav.components)


def test_create_with_approvals_then_with_permits_then_redeem(sp):
    smb = sp.basket("SMB")
    me = sp.address
    ndpr = sp.product("NDPR")
    before = ndpr.balance(me).units
    smb.create(4)
    assert smb.balance(me).units == 4 and ndpr.balance(me).units == before - 4 * 5 * 10**17
    smb.create(Decimal(2), permit=True)  # one transaction, permits instead of approvals
    assert smb.balance(me).units == 6 and smb.total_supply() == 6
    smb.redeem(5)
    assert smb.balance(me).units == 1 and ndpr.balance(me).units == before - 5 * 10**17
    assert all(b.backed and b.held == b.required and b.surplus == 0 for b in smb.backing())
    holding = smb.holding(me)
    assert holding.value_usd == holding.nav.nav * 1


def test_contract_errors_arrive_named(sp, w3):
    smb = sp.basket("SMB")
    with pytest.raises(errors.ZeroShares):
        smb.redeem(0)
    with pytest.raises(errors.ERC20InsufficientBalance):
        smb.redeem(10**6)
    ag = next(c for c in smb.composition() if c.symbol == "AG")  # heartbeat 3600 s: the first to go stale
    w3.provider.make_request("evm_increaseTime", [ag.heartbeat + 60])
    w3.provider.make_request("evm_mine", [])
    with pytest.raises(errors.ComponentPriceStale) as info:
        smb.nav()
    assert info.value.args_dict["component"] == ag.token
    assert smb.holding(sp.address).value_usd is None  # no value from a stale NAV


def test_create_by_eip3009_authorizations_signed_here_relayed_by_another_account(sp):
    from eth_account import Account

    from basket_helpers import KEYS

    smb = sp.basket("SMB")
    me = sp.address
    before = {c.symbol: sp.product(c.symbol).balance(me).units for c in smb.composition()}
    supply, shares = smb.total_supply(), smb.balance(me).units
    smb.create(2, method="authorization")  # one transaction, no approval
    assert smb.total_supply() == supply + 2 and smb.balance(me).units == shares + 2
    for c in smb.composition():
        assert sp.product(c.symbol).balance(me).units == before[c.symbol] - 2 * c.units
        assert sp.product(c.symbol).token.functions.allowance(me, smb.token.address).call() == 0
    signed = smb.sign_authorizations(1)
    assert signed["payer"] == me and signed["to"] == me and len(signed["authorizations"]) == 5
    assert bytes(smb.token.functions.authorizationNonce(me, 1, signed["salt"]).call()) == \
        smb.authorization_nonce(me, 1, signed["salt"])
    relayer = sp.with_account(Account.from_key(KEYS[9])).basket("SMB")
    relayer_shares = relayer.balance(relayer.sp.address).units
    relayer.submit_authorizations(signed)  # the relayer pays the gas; the share goes to the signer
    assert smb.total_supply() == supply + 3 and smb.balance(me).units == shares + 3
    assert relayer.balance(relayer.sp.address).units == relayer_shares
    with pytest.raises(errors.AuthorizationAlreadyUsed):
        relayer.submit_authorizations(signed)
    redirected = dict(signed, to=relayer.sp.address)
    with pytest.raises(errors.InvalidAuthorizationSignature):
        relayer.submit_authorizations(redirected)
    with pytest.raises(errors.StockpileError, match="create method must be one of"):
        smb.create(1, method="gift")
    assert all(b.backed and b.held == b.required for b in smb.backing())
