"""Minting paused by the guardian shows on the portal. Then the node goes away under the running
portal: pages keep answering from the last snapshot, the refresh error is shown, the RPC
pass-through answers 502 with a message; the node comes back and the portal catches up."""

from __future__ import annotations

import time

import httpx
import pytest
from web3 import Web3

from portal_helpers import devnet_from, start_portal
from stockpile.contracts import load
from devkit.devchain import send
from stockpile.toolchain.anvil import dev_keys

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_minting_paused_shows_then_portal_serves_the_last_snapshot_while_the_node_is_down(prepared, tmp_path):
    # its own node (it is stopped and started again), with the prepared devnet and a state file to come back with
    node, info = devnet_from(prepared, tmp_path / "work", state_file=tmp_path / "anvil-state.json")
    try:
        info["work"] = tmp_path
        proc, url = start_portal(info, "--refresh", "0.5")
        web = httpx.Client(base_url=url)  # one client for the polls (a new one loads the CA bundle each time)
        try:
            before = web.get("/api/products/NDPR").json()
            assert before["minting_paused"] is False
            w3 = Web3(Web3.HTTPProvider(node.url))
            token = w3.eth.contract(address=before["token"], abi=load("CommodityToken").abi)
            send(w3, dev_keys()[0], token.functions.pauseMinting())  # the sample file's pauser (guardian)
            deadline = time.monotonic() + 30
            while not web.get("/api/products/NDPR").json()["minting_paused"]:
                assert time.monotonic() < deadline, "minting paused never showed"
                time.sleep(0.3)
            page = web.get("/products/NDPR").text
            assert '<dd id="minting-paused">yes</dd>' in page and '<dd id="paused">no</dd>' in page
            before = web.get("/api/products/NDPR").json()
            node.stop()
            deadline = time.monotonic() + 30
            while web.get("/api/status").json()["error"] is None:
                assert time.monotonic() < deadline, "the refresh error never showed"
                time.sleep(0.3)
            assert web.get("/api/products/NDPR").json()["total_supply"] == before["total_supply"]
            page = web.get("/products/NDPR")
            assert page.status_code == 200 and "The last refresh failed" in page.text
            lot = web.get("/api/products/NDPR/lots").json()["lots"][0]
            assert web.get(f"/api/products/NDPR/lots/{lot['lot_id']}/proof").status_code == 200
            r = web.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []})
            assert r.status_code == 502 and "the node did not answer" in r.json()["error"]
            node.start()  # the same node back (its state file): the portal catches up
            deadline = time.monotonic() + 30
            while web.get("/api/status").json()["error"] is not None:
                assert time.monotonic() < deadline, "the portal did not recover"
                time.sleep(0.3)
            assert web.get("/api/products/NDPR").json()["total_supply"] == before["total_supply"]
        finally:
            web.close()
            proc.terminate()
            proc.wait(timeout=20)
    finally:
        node.stop()
