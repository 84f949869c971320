"""Directory: product symbol -> (token, price feed, reserve attestor), enumerable; register/update only
by REGISTRAR_ROLE, with refusals named by their custom errors."""

from __future__ import annotations

import ape
import pytest

ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def directory(project, accounts):
    return accounts[0].deploy(project.Directory, accounts[0])


@pytest.fixture(scope="module")
def addrs(accounts):
    return [a.address for a in accounts[5:10]]


def test_register_get_and_enumerate(directory, accounts, addrs):
    token, feed, attestor, token2, attestor2 = addrs
    receipt = directory.register("sNDPR", token, ZERO, attestor, sender=accounts[0])
    ev = list(receipt.decode_logs(directory.ProductRegistered))[0]
    assert (ev.symbol, ev.token, ev.priceFeed, ev.reserveAttestor) == ("sNDPR", token, ZERO, attestor)
    directory.register("sDY", token2, feed, attestor2, sender=accounts[0])
    assert directory.count() == 2
    assert directory.symbols() == ["sNDPR", "sDY"]
    p = directory.get("sNDPR")
    assert (p.token, p.priceFeed, p.reserveAttestor) == (token, ZERO, attestor)
    symbol, p2 = directory.at(1)
    assert symbol == "sDY" and tuple(p2) == (token2, feed, attestor2)
    assert directory.contains("sDY") and not directory.contains("sTB")


def test_update_replaces_addresses(directory, accounts, addrs):
    token, feed, attestor, token2, attestor2 = addrs
    directory.register("sNDPR", token, ZERO, attestor, sender=accounts[0])
    receipt = directory.update("sNDPR", token2, feed, attestor2, sender=accounts[0])
    ev = list(receipt.decode_logs(directory.ProductUpdated))[0]
    assert (ev.symbol, ev.token, ev.priceFeed, ev.reserveAttestor) == ("sNDPR", token2, feed, attestor2)
    p = directory.get("sNDPR")
    assert (p.token, p.priceFeed, p.reserveAttestor) == (token2, feed, attestor2)
    assert directory.count() == 1


def test_bad_inputs_refused(directory, accounts, addrs):
    token, feed, attestor, *_ = addrs
    admin = accounts[0]
    directory.register("sNDPR", token, ZERO, attestor, sender=admin)
    with ape.reverts(directory.ProductAlreadyRegistered, symbol="sNDPR"):
        directory.register("sNDPR", token, feed, attestor, sender=admin)
    with ape.reverts(directory.UnknownProduct, symbol="sTB"):
        directory.update("sTB", token, feed, attestor, sender=admin)
    with ape.reverts(directory.UnknownProduct, symbol="sTB"):
        directory.get("sTB")
    with ape.reverts(directory.ZeroAddress):
        directory.register("sGA", ZERO, feed, attestor, sender=admin)
    with ape.reverts(directory.ZeroAddress):
        directory.update("sNDPR", ZERO, feed, attestor, sender=admin)
    with ape.reverts(directory.InvalidSymbol, symbol=""):
        directory.register("", token, feed, attestor, sender=admin)
    with ape.reverts(directory.InvalidSymbol):
        directory.register("x" * 33, token, feed, attestor, sender=admin)
    with ape.reverts(directory.IndexOutOfRange, index=1, count=1):
        directory.at(1)
    assert directory.count() == 1


def test_register_and_update_need_registrar_role(directory, accounts, addrs):
    token, feed, attestor, *_ = addrs
    role = directory.REGISTRAR_ROLE()
    outsider = accounts[3]
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=outsider.address, neededRole=role):
        directory.register("sNDPR", token, feed, attestor, sender=outsider)
    directory.register("sNDPR", token, feed, attestor, sender=accounts[0])
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=outsider.address, neededRole=role):
        directory.update("sNDPR", token, feed, attestor, sender=outsider)
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=outsider.address, neededRole=b"\0" * 32):
        directory.grantRole(role, outsider, sender=outsider)
    directory.grantRole(role, outsider, sender=accounts[0])
    directory.update("sNDPR", token, ZERO, attestor, sender=outsider)
    assert directory.get("sNDPR").priceFeed == ZERO


def test_constructor_refuses_zero_admin(project, accounts):
    with ape.reverts():
        accounts[0].deploy(project.Directory, ZERO)
