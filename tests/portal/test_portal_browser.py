"""The portal in a real headless Chromium, served over an anvil deployment: pages render with the
chain's numbers, charts are drawn, a lot search finds a lot, the in-browser proof check says valid
for a real lot and invalid for a tampered one, an address look-up lists its lots."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from web3 import Web3

from stockpile.sdk import Stockpile
from stockpile.toolchain.anvil import dev_keys

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ATTESTOR_KEYS = (2, 3)  # the sample deployment's attestors that sign (python/stockpile/demo.py)


def sdk(deployment) -> Stockpile:
    return Stockpile.connect(deployment["rpc_url"], directory=deployment["directory"])


def amount(units: int, decimals: int) -> str:
    return f"{Decimal(units).scaleb(-decimals).normalize():f}"


def wait_state(browser, states=("valid", "invalid", "error"), timeout=30) -> str:
    el = browser.find_element(By.ID, "verify-result")
    WebDriverWait(browser, timeout).until(lambda d: el.get_attribute("data-state") in states)
    return el.get_attribute("data-state")


def test_overview_lists_every_product_with_chain_supply(browser, portal, deployment):
    browser.get(portal + "/")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.products tbody tr")
    sp = sdk(deployment)
    assert sorted(r.get_attribute("data-symbol") for r in rows) == sorted(p.symbol for p in sp.products())
    for r in rows:
        p = sp.product(r.get_attribute("data-symbol"))
        supply = amount(p.total_supply(), p.info.decimals)
        assert supply in r.text, (supply, r.text)


def test_product_page_shows_reserve_attestation_price_and_draws_charts(browser, portal, deployment):
    sp = sdk(deployment)
    ndpr = sp.product("NDPR")
    browser.get(portal + "/products/NDPR")
    assert browser.find_element(By.ID, "supply").text.startswith(amount(ndpr.total_supply(), 18))
    status = ndpr.reserve_status()
    assert browser.find_element(By.ID, "attested").text.startswith(amount(status.attested_total, 18))
    assert browser.find_element(By.ID, "escrowed").text.startswith(amount(status.escrowed, 18))
    assert browser.find_element(By.ID, "round").text == str(status.attestation.round_id)
    assert browser.find_element(By.ID, "root").text == status.attestation.merkle_root
    signers = browser.find_element(By.ID, "signers").text
    for i in ATTESTOR_KEYS:
        assert Web3.to_checksum_address(Web3().eth.account.from_key(dev_keys()[i]).address) in signers
    price = ndpr.price()
    assert browser.find_element(By.ID, "price").text.startswith(str(price.price))
    assert browser.find_element(By.ID, "paused").text == "no"
    assert browser.find_element(By.ID, "minting-paused").text == "no"
    # charts: drawn polylines with a real size on the page, one per series
    reserve = browser.find_element(By.CSS_SELECTOR, "svg.chart-reserve")
    lines = reserve.find_elements(By.CSS_SELECTOR, "polyline.series")
    assert sorted(line.get_attribute("data-series") for line in lines) == ["attested reserve", "supply"]
    for line in lines:
        bbox = browser.execute_script("const b = arguments[0].getBBox(); return [b.width, b.height];", line)
        assert bbox[0] > 100, bbox  # spans the time axis
    price_lines = browser.find_elements(By.CSS_SELECTOR, "svg.chart-price polyline.series")
    assert len(price_lines) == 1 and int(price_lines[0].get_attribute("data-points")) >= 2
    width = browser.execute_script("return arguments[0].getBBox().width", price_lines[0])
    assert width > 100


def test_lot_search_finds_a_lot_and_filters_by_warehouse(browser, portal, api):
    page = api.get("/api/products/NDPR/lots", params={"page_size": 200}).json()
    target = page["lots"][len(page["lots"]) // 2]
    browser.get(portal + "/products/NDPR/lots")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.lot")) == min(50, page["total"])
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys(target["lot_id"])
    browser.find_element(By.ID, "search").click()
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element((By.ID, "result-count"), "1 lot match"))
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.lot")
    assert [r.get_attribute("data-lot-id") for r in rows] == [target["lot_id"]]
    assert target["warehouse_id"] in rows[0].text
    # warehouse filter: as many rows as the facet says
    browser.get(portal + "/products/NDPR/lots")
    wh, n = next(iter(page["facets"]["warehouses"].items()))
    Select(browser.find_element(By.ID, "warehouse")).select_by_value(wh)
    browser.find_element(By.ID, "search").click()
    WebDriverWait(browser, 20).until(EC.text_to_be_present_in_element((By.ID, "result-count"), f"{n} lot"))
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.lot")
    assert len(rows) == n and all(wh in r.text for r in rows)


def test_in_browser_proof_check_valid_for_real_lot_invalid_when_tampered(browser, portal, api):
    lot = api.get("/api/products/DY/lots").json()["lots"][0]
    browser.get(portal + "/products/DY/lots")
    browser.find_element(By.LINK_TEXT, lot["lot_id"]).click()
    assert wait_state(browser) == "valid", browser.find_element(By.ID, "verify-result").text
    assert "VALID" in browser.find_element(By.ID, "verify-result").text
    area = browser.find_element(By.ID, "proof-json")
    proof = json.loads(area.get_attribute("value"))

    def check(tampered: dict) -> str:
        browser.execute_script("arguments[0].value = arguments[1];", area, json.dumps(tampered))
        browser.find_element(By.ID, "verify").click()
        return wait_state(browser)

    more = dict(proof, value=list(proof["value"]))
    more["value"][5] = str(int(more["value"][5]) + 1)  # one base unit more metal than the lot holds
    assert check(more) == "invalid"
    assert "INVALID" in browser.find_element(By.ID, "verify-result").text
    other = dict(proof, proof=list(proof["proof"]))
    other["proof"][0] = "0x" + "11" * 32  # a forged sibling hash
    assert check(other) == "invalid"
    assert check(proof) == "valid"  # the untouched proof still verifies


def test_address_lookup_lists_allocated_lots_with_proofs(browser, portal, deployment):
    holder = deployment["holder"]
    browser.get(portal + "/address")
    box = browser.find_element(By.ID, "address")
    box.send_keys(holder.lower())
    browser.find_element(By.ID, "lookup").click()
    WebDriverWait(browser, 20).until(EC.presence_of_element_located((By.ID, "holder")))
    assert holder in browser.find_element(By.ID, "holder").text
    section = browser.find_element(By.CSS_SELECTOR, "section.holding[data-symbol='NDPR']")
    ndpr = sdk(deployment).product("NDPR")
    assert section.find_element(By.CSS_SELECTOR, ".balance").text == amount(ndpr.balance(holder).units, 18)
    lots = section.find_elements(By.CSS_SELECTOR, "tr.lot")
    assert lots, section.text
    assert "Pending redemptions: #2" in section.text
    # a listed lot opens its page, where the proof verifies in the browser
    lots[0].find_element(By.TAG_NAME, "a").click()
    assert wait_state(browser) == "valid"


def test_reconciliation_page_shows_the_planted_break(browser, portal):
    browser.get(portal + "/reconciliation")
    assert "breaks" in browser.find_element(By.ID, "run-status").text
    kinds = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#breaks tr.break")]
    assert any("released_lot_backing" in k and "NDPR-OXIDE" in k for k in kinds), kinds


def test_lot_page_shows_the_break_that_names_it(browser, portal, api):
    rec = api.get("/api/reconciliation").json()
    planted = next(b for b in rec["breaks"] if b["kind"] == "released_lot_backing")
    browser.get(portal + f"/products/NDPR/lots/{planted['lot_id']}")
    assert "critical released_lot_backing" in browser.find_element(By.ID, "lot-breaks").text
    assert wait_state(browser) == "valid"  # still in the attested list: backing tokens until the next round
    other = next(x for x in api.get("/api/products/NDPR/lots").json()["lots"] if x["lot_id"] != planted["lot_id"])
    browser.get(portal + f"/products/NDPR/lots/{other['lot_id']}")
    assert not browser.find_elements(By.ID, "lot-breaks")
    assert api.get(f"/api/products/NDPR/lots/{planted['lot_id']}").json()["breaks"][0]["kind"] == "released_lot_backing"


def test_unknown_product_page_says_so(browser, portal):
    browser.get(portal + "/products/NOPE")
    assert "unknown product 'NOPE'" in browser.find_element(By.ID, "error-message").text


def test_pages_load_nothing_from_another_host(browser, portal):
    for path in ("/", "/products/NDPR", "/products/NDPR/lots", "/address", "/reconciliation", "/api"):
        browser.get(portal + path)
        urls = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);")
        assert all(u.startswith(portal) for u in urls), urls

