"""A basket's look-through in the portal, over the devnet deployment (the basket SMB registered in the
Directory by the deploy engine, 15 shares created by the demo's basket journey): basket -> components
(units per share, held balance, the shares x units identity) -> the attested lots allocated to the
basket's own holding of each component, checked against the chain; then the same page in a real
headless Chromium, down to a lot whose Merkle proof the browser verifies."""

from __future__ import annotations

from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from stockpile.sdk import Stockpile

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def sdk(deployment) -> Stockpile:
    return Stockpile.connect(deployment["rpc_url"], directory=deployment["directory"])  # the Directory alone


def amount(units: int, decimals: int) -> str:
    return f"{Decimal(units).scaleb(-decimals).normalize():f}"


def test_basket_lookthrough_api_ties_to_the_chain(api, deployment):
    sp = sdk(deployment)
    assert sp.baskets() == ["SMB"]  # found from the Directory
    smb = sp.basket("SMB")
    supply = smb.total_supply()
    assert supply > 0
    listed = api.get("/api/baskets").json()["baskets"]
    assert [b["symbol"] for b in listed] == ["SMB"]
    data = api.get("/api/baskets/SMB").json()
    assert data["address"] == smb.token.address and data["total_supply"] == str(supply) and data["fully_backed"]
    assert Decimal(data["nav"]["nav"]) == smb.nav().nav
    comps = smb.composition()
    assert [c["symbol"] for c in data["components"]] == [c.symbol for c in comps]
    for got, c in zip(data["components"], comps):
        held = sp.product(c.symbol).balance(smb.token.address).units
        assert got["units_per_share"] == str(c.units) and got["held_units"] == str(held)
        assert got["required_units"] == str(supply * c.units) and held == supply * c.units
        assert got["identity"] == "equal"
        assert Decimal(got["amount_per_share"]) == c.amount_per_share
        # look-through: the lots allocated to the basket's holding cover it exactly, and are what the
        # address look-up of the basket gives for that product
        alloc = got["holding"]["allocation"]
        assert alloc["lots"] and sum(int(lot["allocated_units"]) for lot in alloc["lots"]) == held
        assert int(alloc["allocated_units"]) == held and alloc["unbacked_units"] == "0"
        by_address = api.get(f"/api/address/{smb.token.address}", params={"symbol": c.symbol}).json()
        assert by_address["products"][0]["allocation"]["lots"] == alloc["lots"]
        status = sp.product(c.symbol).reserve_status()
        assert got["product"]["attestation"]["round"] == status.attestation.round_id
    unknown = api.get("/api/baskets/NOPE")
    assert unknown.status_code == 404 and "unknown basket 'NOPE'" in unknown.json()["error"]


def test_basket_page_in_the_browser_down_to_a_verified_lot(browser, portal, deployment):
    sp = sdk(deployment)
    smb = sp.basket("SMB")
    supply = smb.total_supply()
    browser.get(portal + "/")
    row = browser.find_element(By.CSS_SELECTOR, "table.baskets tr[data-symbol='SMB']")
    assert "fully backed" in row.text
    row.find_element(By.TAG_NAME, "a").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "basket-supply"))
    assert browser.find_element(By.ID, "basket-supply").text == str(supply)
    assert browser.find_element(By.ID, "basket-nav").text.startswith(str(smb.nav().nav))
    rows = browser.find_elements(By.CSS_SELECTOR, "table.components tr.component")
    comps = smb.composition()
    assert [r.get_attribute("data-symbol") for r in rows] == [c.symbol for c in comps]
    for r, c in zip(rows, comps):
        held = sp.product(c.symbol).balance(smb.token.address).units
        assert r.find_element(By.CSS_SELECTOR, ".units").text == str(c.units)
        assert r.find_element(By.CSS_SELECTOR, ".held").text == amount(held, c.decimals)
        assert r.find_element(By.CSS_SELECTOR, ".required").text == amount(supply * c.units, c.decimals)
        assert r.find_element(By.CSS_SELECTOR, ".identity").get_attribute("data-identity") == "equal"
        section = browser.find_element(By.CSS_SELECTOR, f"section.lookthrough[data-symbol='{c.symbol}']")
        lots = section.find_elements(By.CSS_SELECTOR, "tr.lot")
        assert lots and sum(int(x.get_attribute("data-allocated-units")) for x in lots) == held
    # a lot behind the basket's silver opens its page, where the proof verifies in the browser
    section = browser.find_element(By.CSS_SELECTOR, "section.lookthrough[data-symbol='AG']")
    section.find_element(By.CSS_SELECTOR, "tr.lot a").click()
    result = browser.find_element(By.ID, "verify-result")
    WebDriverWait(browser, 30).until(lambda d: result.get_attribute("data-state") in ("valid", "invalid", "error"))
    assert result.get_attribute("data-state") == "valid"


def test_unknown_basket_page_says_so(browser, portal):
    browser.get(portal + "/baskets/NOPE")
    assert "unknown basket 'NOPE'" in browser.find_element(By.ID, "error-message").text
