"""Baskets in the Directory: registerBasket / updateBasket only by REGISTRAR_ROLE, only for a contract that
reports IBasketToken (ERC-165), enumerable apart from the products; refusals named by their custom errors.
(The deploy engine's registration and the SDK's discovery from the Directory alone: test_basket_deploy.py,
test_basket_sdk.py.)"""

from __future__ import annotations

import ape
import pytest

ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def directory(project, stack):
    return stack.admin.deploy(project.Directory, stack.admin)


def test_register_get_and_enumerate_baskets_apart_from_products(directory, stack):
    s = stack
    receipt = directory.registerBasket("SMB", s.basket, s.nav, sender=s.admin)
    (ev,) = list(receipt.decode_logs(directory.BasketRegistered))
    assert (ev.symbol, ev.basket, ev.navFeed) == ("SMB", s.basket.address, s.nav.address)
    assert tuple(directory.getBasket("SMB")) == (s.basket.address, s.nav.address)
    assert directory.containsBasket("SMB") and not directory.containsBasket("XYZ")
    assert directory.basketCount() == 1 and directory.basketSymbols() == ["SMB"]
    symbol, entry = directory.basketAt(0)
    assert symbol == "SMB" and tuple(entry) == (s.basket.address, s.nav.address)
    assert directory.count() == 0 and not directory.contains("SMB")  # not a product
    receipt = directory.updateBasket("SMB", s.basket, ZERO, sender=s.admin)  # e.g. the NAV feed withdrawn
    (ev,) = list(receipt.decode_logs(directory.BasketUpdated))
    assert (ev.symbol, ev.basket, ev.navFeed) == ("SMB", s.basket.address, ZERO)
    assert tuple(directory.getBasket("SMB")) == (s.basket.address, ZERO) and directory.basketCount() == 1


def test_bad_basket_registrations_are_refused(directory, stack):
    s = stack
    directory.registerBasket("SMB", s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.BasketAlreadyRegistered, symbol="SMB"):
        directory.registerBasket("SMB", s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.UnknownBasket, symbol="XYZ"):
        directory.updateBasket("XYZ", s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.UnknownBasket, symbol="XYZ"):
        directory.getBasket("XYZ")
    with ape.reverts(directory.ZeroAddress):
        directory.registerBasket("B2", ZERO, s.nav, sender=s.admin)
    with ape.reverts(directory.NotABasket, account=s.alice.address):  # an account without code
        directory.registerBasket("B2", s.alice, s.nav, sender=s.admin)
    token = s.components[0].token  # a product token: ERC-165, but not IBasketToken
    with ape.reverts(directory.NotABasket, account=token.address):
        directory.registerBasket("B2", token, s.nav, sender=s.admin)
    with ape.reverts(directory.NotABasket, account=s.nav.address):  # a contract without ERC-165
        directory.registerBasket("B2", s.nav, ZERO, sender=s.admin)
    with ape.reverts(directory.NotABasket, account=token.address):
        directory.updateBasket("SMB", token, s.nav, sender=s.admin)
    with ape.reverts(directory.InvalidSymbol, symbol=""):
        directory.registerBasket("", s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.InvalidSymbol):
        directory.registerBasket("x" * 33, s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.IndexOutOfRange, index=1, count=1):
        directory.basketAt(1)
    assert directory.basketSymbols() == ["SMB"] and tuple(directory.getBasket("SMB")) == (s.basket.address, s.nav.address)


def test_basket_registration_needs_the_registrar_role(directory, stack):
    s = stack
    role = directory.REGISTRAR_ROLE()
    outsider = s.stranger
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=outsider.address, neededRole=role):
        directory.registerBasket("SMB", s.basket, s.nav, sender=outsider)
    # the basket's own admin is not the Directory's registrar either
    assert s.basket.hasRole(b"\0" * 32, s.admin) and not directory.hasRole(role, s.pauser)
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=s.pauser.address, neededRole=role):
        directory.registerBasket("SMB", s.basket, s.nav, sender=s.pauser)
    directory.registerBasket("SMB", s.basket, s.nav, sender=s.admin)
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=outsider.address, neededRole=role):
        directory.updateBasket("SMB", s.basket, ZERO, sender=outsider)
    assert tuple(directory.getBasket("SMB")) == (s.basket.address, s.nav.address)
