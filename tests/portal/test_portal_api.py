"""The portal's JSON API over the anvil deployment: the numbers are the chain's, proofs verify
with @openzeppelin/merkle-tree and on chain, the allocation rule covers each holder's balance,
every bad input gets a clear 4xx, and nothing a visitor sends can write."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from stockpile import demo
from stockpile.merkle import lot_leaf, verify_proof
from stockpile.sdk import Stockpile
from stockpile.toolchain.anvil import dev_keys

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["AG", "DY", "LI2CO3", "NDPR", "TB"]


def sdk(deployment) -> Stockpile:
    return Stockpile.connect(deployment["rpc_url"], directory=deployment["directory"])


def error(resp, status: int) -> str:
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["status"] == status and isinstance(body["error"], str) and "\n" not in body["error"]
    assert "Traceback" not in body["error"]
    return body["error"]


# ---------------------------------------------------------------- the chain's numbers
def test_products_match_the_chain(api, deployment):
    sp = sdk(deployment)
    body = api.get("/api/products").json()
    assert [p["symbol"] for p in body["products"]] == SYMBOLS
    for p in body["products"]:
        c = sp.product(p["symbol"])
        st = c.reserve_status()
        assert int(p["total_supply"]) == st.total_supply
        assert int(p["escrowed"]) == st.escrowed
        assert int(p["attested_reserve"]) == st.attested_total
        assert p["attestation"]["round"] == st.attestation.round_id
        assert p["attestation"]["merkle_root"] == st.attestation.merkle_root
        assert p["attestation"]["quorum"] == 2 and len(p["attestation"]["signers"]) == 2
        assert set(p["attestation"]["signers"]) <= set(p["attestation"]["attestors"])
        assert p["lot_list"]["lot_count"] == st.attestation.lot_count
        assert p["price"]["round"] == c.price().round_id
        assert p["paused"] is False and p["minting_paused"] is False
    ndpr = api.get("/api/products/NDPR").json()
    assert ndpr["pending_redemptions"] == 1
    # after the planted export (a lot released), the custody reserve now is below the attested one
    assert int(ndpr["custody_reserve_now"]) < int(ndpr["attested_reserve"])


def test_history_has_supply_reserve_and_price_points(api, deployment):
    h = api.get("/api/products/NDPR/history").json()
    supply = sdk(deployment).product("NDPR").total_supply()
    assert h["supply"][0][1] == "0"
    assert Web3.to_wei(h["supply"][-1][1], "ether") == supply
    assert [r[3] for r in h["attested_reserve"]] == [1]
    assert len(h["price"]) >= 2 and [p[2] for p in h["price"]] == sorted(p[2] for p in h["price"])


# ---------------------------------------------------------------- proofs
def test_downloaded_proof_verifies_with_openzeppelin_and_on_chain(api, deployment, tmp_path):
    lots = api.get("/api/products/TB/lots").json()["lots"]
    lot = lots[-1]
    r = api.get(f"/api/products/TB/lots/{lot['lot_id']}/proof", params={"warehouse": lot["warehouse_id"],
                                                                         "download": "true"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    pf = r.json()
    path = tmp_path / "proof.json"
    path.write_text(r.text)
    js = ("const {StandardMerkleTree} = require(process.argv[2]); const p = require(process.argv[1]);"
          "process.stdout.write(JSON.stringify(StandardMerkleTree.verify(p.root, p.leafEncoding, p.value, p.proof)))")
    out = subprocess.run(["node", "-e", js, str(path), str(ROOT / "node_modules/@openzeppelin/merkle-tree")],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "true"
    tb = sdk(deployment).product("TB")
    assert pf["root"] == tb.attestation().merkle_root
    v = pf["value"]
    values = (v[0], v[1], v[2], v[3], int(v[4]), int(v[5]), v[6])
    assert "0x" + lot_leaf(values).hex() == pf["leaf"]
    assert verify_proof(lot_leaf(values), [bytes.fromhex(x[2:]) for x in pf["proof"]], bytes.fromhex(pf["root"][2:]))
    assert tb.attestor.functions.verifyLot(*values, pf["proof"]).call() is True
    forged = (*values[:5], values[5] + 1, values[6])
    assert tb.attestor.functions.verifyLot(*forged, pf["proof"]).call() is False


def test_every_lot_of_a_product_has_a_valid_proof(api, deployment):
    body = api.get("/api/products/NDPR/lots", params={"page_size": 200}).json()
    root = bytes.fromhex(sdk(deployment).product("NDPR").attestation().merkle_root[2:])
    assert body["total"] == len(body["lots"]) > 1
    for lot in body["lots"]:
        pf = api.get(f"/api/products/NDPR/lots/{lot['lot_id']}/proof", params={"warehouse": lot["warehouse_id"]}).json()
        v = pf["value"]
        leaf = lot_leaf((v[0], v[1], v[2], v[3], int(v[4]), int(v[5]), v[6]))
        assert verify_proof(leaf, [bytes.fromhex(x[2:]) for x in pf["proof"]], root), lot


# ---------------------------------------------------------------- allocation rule
def test_allocation_covers_each_holders_balance_without_overlap(api, deployment):
    sp = sdk(deployment)
    ndpr = sp.product("NDPR")
    holders = dict(ndpr.holders())
    holders.setdefault(ndpr.token.address, ndpr.token.functions.totalEscrowed().call())  # the redemption escrow
    assert len(holders) >= 3 and all(holders.values())  # holder, friend, escrow
    seen: dict[tuple, int] = {}
    for h, units in holders.items():
        body = api.get(f"/api/address/{h}", params={"symbol": "NDPR"}).json()
        prod = body["products"][0]
        assert int(prod["balance_units"]) == units == ndpr.balance(h).units
        assert prod["balance_check"] is True
        got = sum(int(x["allocated_units"]) for x in prod["allocation"]["lots"])
        assert got == units  # the reserve covers the supply, so every unit has metal behind it
        for x in prod["allocation"]["lots"]:
            key = (x["warehouse_id"], x["lot_id"])
            seen[key] = seen.get(key, 0) + int(x["allocated_units"])
    lots = {(x["warehouse_id"], x["lot_id"]): int(x["quantity_units"])
            for x in api.get("/api/products/NDPR/lots", params={"page_size": 200}).json()["lots"]}
    for key, units in seen.items():
        assert units <= lots[key], key  # no lot handed out beyond its quantity


def test_address_pending_redemption_and_value(api, deployment):
    body = api.get(f"/api/address/{deployment['holder']}").json()
    ndpr = next(p for p in body["products"] if p["symbol"] == "NDPR")
    assert [r["id"] for r in ndpr["pending_redemptions"]] == [2]
    assert ndpr["value_usd"] is not None and float(ndpr["value_usd"]) > 0
    empty = api.get("/api/address/0x000000000000000000000000000000000000dEaD").json()
    assert all(p["balance_units"] == "0" and p["allocation"]["lots"] == [] for p in empty["products"])


def test_accepted_redemption_stays_pending_until_a_closing_event(api, deployment):
    """RedemptionAccepted (Pending -> Processing) closes nothing: the request stays among the pending
    ones, shown as processing, with its tokens still in escrow, until Completed/Rejected/Cancelled."""
    operator = Stockpile.connect(deployment["rpc_url"], directory=deployment["directory"],
                                 account=Account.from_key(dev_keys()[demo.DEPLOYER]))  # the redemption operator
    ndpr = operator.product("NDPR")
    escrowed = ndpr.token.functions.totalEscrowed().call()
    assert ndpr.redemption(2).status == "pending" and escrowed == ndpr.redemption(2).units
    assert ndpr.accept_redemption(2).status == "processing"
    accepted_at = deployment["w3"].eth.block_number
    deadline = time.monotonic() + 60
    while (body := api.get(f"/api/address/{deployment['holder']}").json())["block"] < accepted_at:
        assert time.monotonic() < deadline, "the portal never refreshed past the acceptance"
        time.sleep(0.3)
    holding = next(p for p in body["products"] if p["symbol"] == "NDPR")
    assert [(r["id"], r["status"]) for r in holding["pending_redemptions"]] == [(2, "processing")]
    product = api.get("/api/products/NDPR").json()
    assert product["pending_redemptions"] == 1 and int(product["escrowed"]) == escrowed
    page = api.get("/address", params={"address": deployment["holder"]}).text
    assert "#2" in page and "accepted, being delivered" in page


def test_refresh_keeps_the_snapshot_until_the_chain_or_the_custody_database_changes(deployment, tmp_path):
    """An idle portal does not re-read the chain every refresh: the same head block and custody database
    give the same snapshot; an ingest into the custody database (no new block) is read at the next one."""
    import shutil

    from stockpile.portal.service import PortalService
    from stockpile.reconcile.custody.schema import Catalogue
    from stockpile.reconcile.db.store import Database

    db_file = tmp_path / "custody.db"  # a copy: the session's database stays as the other tests expect it
    shutil.copyfile(deployment["db"], db_file)
    service = PortalService(deployment["products"], db_file, index_path=tmp_path / "index.sqlite")
    first = service.refresh()
    assert service.refresh() is first and first.error is None
    db = Database(db_file)
    try:  # a newer export of the first sample warehouse, dated before the head block
        demo.plant_released_lot(db, Catalogue.load(), deployment["as_of"] + 60, tmp_path)
    finally:
        db.dispose()
    second = service.refresh()
    assert second is not first and second.block == first.block and second.error is None
    assert service.refresh() is second


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("path", ["/api/products/NOPE", "/api/products/NOPE/history", "/api/products/NOPE/lots",
                                  "/api/products/NOPE/lots/ROT-00000001", "/api/products/NOPE/lots/ROT-00000001/proof"])
def test_unknown_symbol_is_404(api, path):
    assert "unknown product 'NOPE'" in error(api.get(path), 404)


@pytest.mark.parametrize("address", ["0x1234", "0xZZ36C02dA8a0983159322a80FFE9F24b1acfF8B5", "not-an-address",
                                     "0x" + "a" * 41])
def test_malformed_address_is_422(api, address):
    assert "malformed address" in error(api.get(f"/api/address/{address}"), 422)


def test_address_with_unknown_symbol_is_404(api, deployment):
    assert "unknown product 'NOPE'" in error(api.get(f"/api/address/{deployment['holder']}", params={"symbol": "NOPE"}),
                                             404)


def test_address_with_wrong_checksum_is_422(api, deployment):
    good = deployment["holder"]
    bad = good[:2] + "".join(c.swapcase() if c.isalpha() and i < 6 else c for i, c in enumerate(good[2:]))
    assert bad != good and bad.lower() == good.lower()
    assert "checksum" in error(api.get(f"/api/address/{bad}"), 422)


def test_address_page_with_malformed_address_is_422_html(api):
    r = api.get("/address", params={"address": "0xnope"})
    assert r.status_code == 422 and "malformed address" in r.text and "<html" in r.text


@pytest.mark.parametrize("lot_id", ["x" * 129, "ROT%0A001", "ROT%00"])
def test_malformed_lot_id_is_422(api, lot_id):
    assert "lot_id: malformed" in error(api.get(f"/api/products/NDPR/lots/{lot_id}/proof"), 422)


def test_unknown_lot_is_404(api):
    assert "lot 'ROT-99999999' is not in the attested lot list" in error(
        api.get("/api/products/NDPR/lots/ROT-99999999/proof"), 404)
    lot = api.get("/api/products/NDPR/lots").json()["lots"][0]
    assert "in warehouse WH-NOWHERE" in error(
        api.get(f"/api/products/NDPR/lots/{lot['lot_id']}", params={"warehouse": "WH-NOWHERE"}), 404)


def test_page_out_of_range_is_404_and_bad_page_is_422(api):
    body = api.get("/api/products/NDPR/lots", params={"page_size": 5}).json()
    msg = error(api.get("/api/products/NDPR/lots", params={"page_size": 5, "page": body["pages"] + 1}), 404)
    assert f"page {body['pages'] + 1} is out of range" in msg
    assert "page:" in error(api.get("/api/products/NDPR/lots", params={"page": 0}), 422)
    assert "page:" in error(api.get("/api/products/NDPR/lots", params={"page": "two"}), 422)
    assert "page_size:" in error(api.get("/api/products/NDPR/lots", params={"page_size": 1000}), 422)
    assert "q: malformed" in error(api.get("/api/products/NDPR/lots", params={"q": "a" * 200}), 422)
    r = api.get("/products/NDPR/lots", params={"page": 10_000})
    assert r.status_code == 404 and "out of range" in r.text


def test_no_such_route_is_404_json(api):
    assert "no such page" in error(api.get("/api/nothing-here"), 404)


# ---------------------------------------------------------------- read-only
def _counts(db: str) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: con.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}
    finally:
        con.close()


def test_attack_visitor_cannot_write(api, deployment):
    w3 = deployment["w3"]
    before_db, before_block = _counts(deployment["db"]), w3.eth.block_number
    tok = api.get("/api/products/NDPR").json()["token"]
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in ("/api/products", "/api/products/NDPR", "/api/products/NDPR/lots", "/api/reconciliation"):
            assert "read-only" in error(api.request(method, path, json={"x": 1}), 405)
        page = api.request(method, "/products/NDPR", data={"x": "1"})
        assert page.status_code == 405 and "read-only" in page.text
    signed = w3.eth.account.sign_transaction(
        {"to": tok, "value": 0, "gas": 100_000, "gasPrice": 10**10, "nonce": 0, "chainId": 31337, "data": "0x"},
        "0x" + "11" * 32)
    for req in ({"method": "eth_sendRawTransaction", "params": ["0x" + signed.raw_transaction.hex()]},
                {"method": "eth_sendTransaction", "params": [{"to": tok, "data": "0x"}]},
                {"method": "anvil_setBalance", "params": [tok, "0x1"]},
                {"method": "evm_mine", "params": []}):
        assert "is not forwarded" in error(api.post("/rpc", json={"jsonrpc": "2.0", "id": 1, **req}), 403)
    assert "only to this deployment's contracts" in error(api.post("/rpc", json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": "0x" + "00" * 19 + "01", "data": "0x"}]}), 403)
    assert "takes only to and data" in error(api.post("/rpc", json={
        "jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [{"to": tok, "data": "0x", "from": tok, "gas": "0x1"}]}),
        400)
    assert "not JSON" in error(api.post("/rpc", content=b"{nope"), 400)
    ok = api.post("/rpc", json={"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []}).json()
    assert int(ok["result"], 16) == w3.eth.block_number
    assert _counts(deployment["db"]) == before_db
    assert w3.eth.block_number == before_block


# ---------------------------------------------------------------- documentation
def test_openapi_documents_every_api_route(api):
    spec = api.get("/openapi.json").json()
    paths = set(spec["paths"])
    for p in ("/api/products", "/api/products/{symbol}", "/api/products/{symbol}/history", "/api/products/{symbol}/lots",
              "/api/products/{symbol}/lots/{lot_id}", "/api/products/{symbol}/lots/{lot_id}/proof",
              "/api/products/{symbol}/tree", "/api/address/{address}", "/api/reconciliation", "/api/status"):
        assert p in paths and spec["paths"][p]["get"]["summary"]
    assert all(path.startswith(("/api", "/rpc")) for path in paths)
    page = api.get("/api").text
    assert "/api/products/{symbol}/lots/{lot_id}/proof" in page and "cdn" not in page.lower()


def test_committed_browser_bundle_is_what_esbuild_builds(tmp_path):
    from stockpile.portal.bundle import OUT, build

    fresh = build(tmp_path / "merkle-tree.js")
    assert fresh.read_bytes() == OUT.read_bytes(), "rebuild with `python -m stockpile.portal.bundle` and commit"


def test_whole_tree_download_loads_in_openzeppelin(api, deployment, tmp_path):
    r = api.get("/api/products/NDPR/tree")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    path = tmp_path / "tree.json"
    path.write_bytes(r.content)
    lot = api.get("/api/products/NDPR/lots").json()["lots"][3]
    pf = api.get(f"/api/products/NDPR/lots/{lot['lot_id']}/proof", params={"warehouse": lot["warehouse_id"]}).json()
    js = ("const {StandardMerkleTree} = require(process.argv[2]); const t = StandardMerkleTree.load(require(process.argv[1]));"
          "t.validate(); const v = JSON.parse(process.argv[3]);"
          "const i = [...t.entries()].find(([, x]) => x[0] === v[0] && x[1] === v[1])[0];"
          "process.stdout.write(JSON.stringify({root: t.root, n: t.length, proof: t.getProof(i)}))")
    out = subprocess.run(["node", "-e", js, str(path), str(ROOT / "node_modules/@openzeppelin/merkle-tree"),
                          json.dumps(pf["value"])], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    att = sdk(deployment).product("NDPR").attestation()
    assert got["root"] == att.merkle_root and got["n"] == att.lot_count
    assert got["proof"] == pf["proof"]
