"""The deployment file's ``baskets:`` section: validation, and the deploy engine deploying and wiring
a basket (composition from the file's products, NAV feed, roles, timelock, allowlisting on
allowlist-mode components), idempotently."""

from __future__ import annotations

import pytest
import yaml
from eth_account import Account
from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy import SAMPLE_DEVNET, DeploymentFileError, load_deployment, parse_deployment
from stockpile.deploy.handover import handover
from stockpile.sdk.transactions import Sender
from stockpile.toolchain.anvil import dev_keys

KEYS = dev_keys()
DEPLOYER = Account.from_key(KEYS[0]).address
ROLE = {n: Web3.keccak(text=n) for n in ("UPGRADER_ROLE", "PAUSER_ROLE", "ASSET_PROTECTION_ROLE", "COMPLIANCE_ROLE")}


def sample() -> dict:
    return yaml.safe_load(SAMPLE_DEVNET.read_text())


def problems(data) -> list[str]:
    with pytest.raises(DeploymentFileError) as info:
        parse_deployment(data, "f.yaml")
    return info.value.problems


def test_sample_basket_composition_in_base_units():
    dep = load_deployment(SAMPLE_DEVNET)
    b = dep.basket("SMB")
    units = {c.product: b.units(c, dep.product(c.product)) for c in b.composition}
    assert units == {"NDPR": 5 * 10**17, "DY": 10**17, "TB": 2 * 10**16, "LI2CO3": 10**15, "AG": 10**6}


@pytest.mark.parametrize("edit,expected", [
    (lambda b: b["composition"].append({"product": "XX", "amount": "1"}),
     "baskets[0].composition[5].product: not a product of this file, got 'XX'"),
    (lambda b: b["composition"].append({"product": "NDPR", "amount": "1"}),
     "baskets[0].composition[5].product: listed twice, got 'NDPR'"),
    (lambda b: b["composition"][4].update(amount="0.0000001"),
     "baskets[0].composition[4].amount: 0.0000001 AG per share is not a whole number of base units"),
    (lambda b: b.update(decimals=18),
     "baskets[0].composition[0].amount: 0.5 NDPR per share is not a whole number of base units"),
    (lambda b: b["composition"][0].update(amount="0"), "baskets[0].composition[0].amount: must be > 0"),
    (lambda b: b.update(symbol="NDPR"), "baskets[0].symbol: already used by a product or basket, got 'NDPR'"),
    (lambda b: b.update(composition=[]), "baskets[0].composition"),
    (lambda b: b["composition"][0].update(amount=0.5), "write quantities as strings or integers, not floats"),
])
def test_bad_basket_sections_are_refused_naming_the_field(edit, expected):
    data = sample()
    edit(data["baskets"][0])
    assert any(expected in p for p in problems(data)), problems(data)


def test_engine_deploys_and_wires_the_basket(deployed, w3):
    m = deployed.manifest
    basket = w3.eth.contract(address=m.address("baskets.SMB"), abi=load("BasketToken").abi)
    nav = w3.eth.contract(address=m.address("baskets.SMB.nav"), abi=load("BasketNavFeed").abi)
    hub = w3.eth.contract(address=m.address("price-feed"), abi=load("PriceFeed").abi)
    dep = load_deployment(SAMPLE_DEVNET)
    b = dep.basket("SMB")
    got = basket.functions.composition().call()
    assert [c[0] for c in got] == [m.address(f"{c.product}.token") for c in b.composition]
    assert [c[1] for c in got] == [b.units(c, dep.product(c.product)) for c in b.composition]
    from stockpile.deploy.steps import feed_id
    assert [c[2] for c in got] == [hub.functions.adapterOf(feed_id(dep.product(c.product).product_code)).call()
                                   for c in b.composition]
    assert [c[3] for c in got] == [dep.product(c.product).feed.heartbeat for c in b.composition]
    assert basket.functions.symbol().call() == "SMB" and basket.functions.decimals().call() == 0
    assert nav.functions.basket().call() == basket.address
    assert basket.functions.hasRole(ROLE["UPGRADER_ROLE"], m.address("timelock")).call()
    assert not basket.functions.hasRole(ROLE["UPGRADER_ROLE"], DEPLOYER).call()
    for r in ("PAUSER_ROLE", "ASSET_PROTECTION_ROLE", "COMPLIANCE_ROLE"):
        assert basket.functions.hasRole(ROLE[r], DEPLOYER).call()
    li = w3.eth.contract(address=m.address("LI2CO3.token"), abi=load("CommodityToken").abi)
    assert li.functions.allowlistMode().call() and li.functions.isAllowlisted(basket.address).call()
    assert all(s.status == "done" for s in deployed.plan(DEPLOYER))  # idempotent: nothing left to do
    assert deployed.verify()["baskets.SMB"] and deployed.verify()["baskets.SMB.nav"]


def test_engine_registers_the_basket_in_the_directory(deployed, w3):
    m = deployed.manifest
    d = w3.eth.contract(address=m.address("directory"), abi=load("Directory").abi)
    assert d.functions.basketSymbols().call() == ["SMB"]
    assert tuple(d.functions.getBasket("SMB").call()) == (m.address("baskets.SMB"), m.address("baskets.SMB.nav"))
    assert "baskets.SMB.directory" in m.actions and "SMB" not in d.functions.symbols().call()


def test_engine_names_a_directory_without_a_basket_list(deployed, w3):
    """A Directory deployed before baskets were registered there (not upgradeable): a clear error, not a revert."""
    from stockpile.deploy.engine import ApplyContext, DeploymentError
    from stockpile.deploy.steps import _basket_registered

    old = deployed.manifest.model_copy(deep=True)
    old.contracts["directory"] = old.contracts["timelock"]  # a contract without containsBasket
    with pytest.raises(DeploymentError, match="has no basket list .*deploy a new one"):
        _basket_registered(ApplyContext(w3, old, DEPLOYER), "SMB")


def test_basket_handover_begins_the_admin_transfer(deployed, w3):
    dep = load_deployment(SAMPLE_DEVNET)
    lines = handover(dep, w3, Sender(w3, Account.from_key(KEYS[0])), deployed.manifest)
    mine = [ln for ln in lines if ln.contract == "baskets.SMB"]
    assert [ln.role for ln in mine] == ["DEFAULT_ADMIN_ROLE"] and "transfer begun" in mine[0].status
    basket = w3.eth.contract(address=deployed.manifest.address("baskets.SMB"), abi=load("BasketToken").abi)
    assert basket.functions.pendingDefaultAdmin().call()[0] == dep.roles.admin
