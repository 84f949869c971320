"""Chain side on a real anvil node with the real CommodityToken and ReserveAttestor."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from eth_account import Account
from sqlalchemy import text
from web3 import Web3

from devkit import devchain
from devkit.rpc_front import RpcFront
from stockpile.reconcile.chain.abi import attestor_abi, token_abi
from stockpile.reconcile.chain.reader import ChainReader
from stockpile.reconcile.cli import reconcile as reconcile_cli
from stockpile.reconcile.db.store import Database
from stockpile.reconcile.custody.generator import generate
from devkit.reconcile_demo import DEV_KEYS, iso, reserve_of
from stockpile.reconcile.service import RunConfig, reconcile
from stockpile.reconcile.breaks.classify import Thresholds
from stockpile.reconcile.watch import Metrics, run_once
from stockpile.toolchain import Anvil
from stockpile.reconcile.report.model import Report
from reconcile_typed import assert_typed

pytestmark = pytest.mark.anvil
PRODUCT = "NDPR-OXIDE"
ADMIN = DEV_KEYS[0]
ATTESTORS = DEV_KEYS[1:4]
HOLDER_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"  # anvil key 4
STRANGER_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"  # anvil key 5


@dataclass
class Deployed:
    """The module's chain: one anvil, the product deployed, its custody export attested and half
    the reserve minted (set up once; each test gets it back through evm_snapshot/evm_revert)."""

    node: Anvil
    w3: Web3
    stack: devchain.ProductStack
    as_of: int
    custody: Path  # the export the attestation was made from
    reserve: tuple[str, int, int]  # (root, total, count) of that export as of as_of


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    work = tmp_path_factory.mktemp("chain")
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        stack = devchain.deploy_product(w3, ADMIN, ATTESTORS, PRODUCT)
        as_of = w3.eth.get_block("latest")["timestamp"] - 60
        custody = generate(30, seed=3, products=[PRODUCT], as_of=iso(as_of)).write_csv(work / "custody.csv")
        books = Database(work / "books.db")
        books.ingest(custody)
        root, total, count = reserve = reserve_of(books, PRODUCT, as_of)
        books.dispose()
        devchain.attest(w3, stack, root, total, count, as_of)
        devchain.mint(w3, stack, Account.from_key(HOLDER_KEY).address, total // 2, "first")
        yield Deployed(node, w3, stack, as_of, custody, reserve)


class Env:
    def __init__(self, deployed: Deployed, db, tmp_path):
        self.node, self.w3, self.stack, self.as_of = deployed.node, deployed.w3, deployed.stack, deployed.as_of
        self.db = db
        self.tmp = tmp_path
        self.holder = Account.from_key(HOLDER_KEY).address
        db.ingest(Path(shutil.copy(deployed.custody, tmp_path / "custody.csv")))
        self.root, self.total, self.count = reserve_of(db, PRODUCT, self.as_of)
        assert (self.root, self.total, self.count) == deployed.reserve  # the attested books, in this database too

    def cfg(self, **kw):
        kw.setdefault("confirmations", 0)
        return RunConfig(products=[self.stack.contracts()], **kw)

    def run(self, **kw):
        return reconcile(self.db, self.w3, self.cfg(**kw))

    def rpc(self, method, params=()):
        return self.w3.provider.make_request(method, list(params))


@pytest.fixture
def env(deployed, db, tmp_path):
    """The module's anvil with one product (real contracts), as it was after set-up (chain and
    clock: evm_snapshot/evm_revert around the test), the custody export ingested into a fresh
    database (SQLite or PostgreSQL), the matching attestation and half the reserve minted."""
    snapshot = deployed.w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield Env(deployed, db, tmp_path)
    finally:
        assert deployed.w3.provider.make_request("evm_revert", [snapshot])["result"] is True


@pytest.fixture
def no_backoff(monkeypatch):
    """The RPC client's retries of an unreachable node without the back-off sleeps between them
    (stockpile.sdk.rpc: the same attempts and the same failure, only the ~6 s of waiting go)."""
    from stockpile.sdk import rpc

    monkeypatch.setattr(rpc, "BACKOFF", 0.0)


def kinds(report):
    return {(b["product"], b["kind"]) for b in report["breaks"]}


def test_reconcile_abis_hold_what_the_reader_and_the_guardian_use():
    """The ABIs come from the artifacts: the guardian's pauseMinting is there (the hand-written
    fallback lacked it, so the guardian reported "refused")."""
    names = {(i["type"], i.get("name")) for i in token_abi()}
    for fn in ("totalSupply", "decimals", "totalEscrowed", "mintingPaused", "pauseMinting"):
        assert ("function", fn) in names, fn
    for ev in ("Transfer", "Minted", "RedemptionRequested", "MintingPaused"):
        assert ("event", ev) in names, ev
    names = {(i["type"], i.get("name")) for i in attestor_abi()}
    assert {("function", "latestAttestation"), ("function", "productCode"), ("event", "ReserveAttested")} <= names


def test_clean_run_then_supply_above_reserve_and_guardian_pause(env):
    report = env.run(out_dir=env.tmp / "r1")
    assert report["status"] == "clean" and report["exit_code"] == 0, report["breaks"]
    p = report["products"][0]
    assert p["root_matches"] and p["attested_reserve"] == str(env.total)
    assert p["total_supply"] == str(env.total // 2) and p["collateralisation_ratio"] == "2.000000"
    assert p["events"] == {"Minted": 1, "ReserveAttested": 1, "Transfer": 1} and p["paused"] is False
    assert p["minting_paused"] is False
    assert_typed(Report, report)  # every key and value as declared, as built and as written
    assert_typed(Report, json.loads(open(report["files"]["json"]).read()))
    for f in report["files"].values():
        assert (env.tmp / "r1").exists() and open(f).read()
    assert json.loads(open(report["files"]["json"]).read())["status"] == "clean"
    page = open(report["files"]["html"]).read()
    assert page.startswith("<!doctype html>") and "<script" not in page and "http" not in page.split("<body>")[0]
    assert PRODUCT in page and "200.00 %" in page and "No breaks." in page and "matches" in page

    # the custodian releases most lots, the attestors attest the smaller reserve: supply is now above it
    later = env.as_of + 30
    g = generate(30, seed=3, products=[PRODUCT], as_of=iso(later), discrepancies={"released": 20})
    env.db.ingest(g.write_csv(env.tmp / "custody-2.csv"))
    root, total, count = reserve_of(env.db, PRODUCT, later)
    assert total < env.total // 2
    devchain.attest(env.w3, env.stack, root, total, count, later)
    report = env.run(out_dir=env.tmp / "r2")
    assert (PRODUCT, "supply_above_reserve") in kinds(report) and report["exit_code"] == 1
    b = next(b for b in report["breaks"] if b["kind"] == "supply_above_reserve")
    assert int(b["amount"]) == env.total // 2 - total
    assert_typed(Report, report)
    page = open(report["files"]["html"]).read()
    assert "supply_above_reserve" in page and "class='over'" in page
    rows = open(report["files"]["csv"]).read().splitlines()
    assert rows[0].startswith("product,kind,severity") and any(",supply_above_reserve,critical," in r for r in rows)

    # a key without PAUSER_ROLE is refused and minting stays open
    metrics = Metrics()
    r = run_once(env.db, env.w3, env.cfg(), metrics, guardian_key=STRANGER_KEY)
    assert r["actions"][0]["result"] == "refused" and not env.stack.token.functions.mintingPaused().call()
    assert_typed(Report, r)
    assert metrics.registry.get_sample_value("stockpile_reconcile_guardian_paused", {"product": PRODUCT}) == 0
    # the guardian (PAUSER_ROLE) pauses minting of the product; transfers are not paused
    r = run_once(env.db, env.w3, env.cfg(), metrics, guardian_key=ADMIN)
    token = env.stack.token.functions
    assert r["actions"][0]["result"] == "paused" and token.mintingPaused().call() and not token.paused().call()
    assert_typed(Report, r)
    r = run_once(env.db, env.w3, env.cfg(), metrics, guardian_key=ADMIN)
    assert r["actions"][0]["result"] == "already paused"
    get = metrics.registry.get_sample_value
    assert get("stockpile_reconcile_guardian_paused", {"product": PRODUCT}) == 1
    assert get("stockpile_reconcile_breaks", {"kind": "supply_above_reserve", "severity": "critical"}) == 1
    assert get("stockpile_reconcile_collateralisation_ratio", {"product": PRODUCT}) < 1
    assert get("stockpile_reconcile_last_success_timestamp_seconds") > 0
    assert get("stockpile_reconcile_last_exit_code") == 1
    # issue 16 #8: the report says minting is paused (and transfers are not), in JSON and HTML
    report = env.run(out_dir=env.tmp / "r3")
    p = report["products"][0]
    assert p["minting_paused"] is True and p["paused"] is False
    assert json.loads(open(report["files"]["json"]).read())["products"][0]["minting_paused"] is True
    page = open(report["files"]["html"]).read()
    assert "minting paused" in page.lower()
    assert p["events"].get("MintingPaused") == 1


def test_incremental_sync_uses_checkpoints(env):
    reader = ChainReader(env.w3, env.db, [env.stack.contracts()], confirmations=0)
    first = reader.sync()[0]
    assert first.from_block == env.stack.start_block and first.events > 0
    n_events = env.db.count("chain_events")
    again = reader.sync()[0]
    assert again.events == 0 and again.from_block == first.to_block + 1 > again.to_block
    assert env.db.count("chain_events") == n_events
    devchain.mint(env.w3, env.stack, env.holder, 10**18, "second")
    third = reader.sync()[0]
    assert third.from_block == first.to_block + 1 and third.events == 2  # Transfer + Minted
    state = reader.state(PRODUCT, third.to_block)
    assert state.total_supply == env.total // 2 + 10**18 == state.supply_from_events


def test_confirmations_hide_the_newest_blocks(env):
    devchain.mint(env.w3, env.stack, env.holder, 10**18, "recent")
    report = env.run(confirmations=1)
    assert report["products"][0]["total_supply"] == str(env.total // 2)
    assert report["chain"]["block"] == env.w3.eth.block_number - 1


class RefusingProxy(RpcFront):
    """An HTTP JSON-RPC proxy in front of anvil that refuses eth_getLogs over more than K blocks,
    as hosted nodes do."""

    def __init__(self, upstream: str, max_blocks: int):
        super().__init__(upstream)
        self.max_blocks, self.refused, self.log_calls = max_blocks, 0, 0

    def answer(self, body: bytes, path: str) -> tuple[int, bytes] | None:
        req = json.loads(body)
        if req.get("method") != "eth_getLogs":
            return None
        self.log_calls += 1
        f = req["params"][0]
        if int(f["toBlock"], 16) - int(f["fromBlock"], 16) + 1 <= self.max_blocks:
            return None
        self.refused += 1
        return 200, json.dumps({"jsonrpc": "2.0", "id": req["id"], "error": {
            "code": -32005, "message": "query returned more than 10000 results"}}).encode()


def test_node_refusing_large_log_ranges(env, tmp_path):
    for i in range(12):
        devchain.mint(env.w3, env.stack, env.holder, 10**18 + i, f"m{i}")
    direct_db = Database(tmp_path / "direct.db")
    direct = ChainReader(env.w3, direct_db, [env.stack.contracts()], confirmations=0).sync()[0]
    with RefusingProxy(env.node.url, max_blocks=4) as proxy:
        w3p = Web3(Web3.HTTPProvider(proxy.url))
        reader = ChainReader(w3p, env.db, [env.stack.contracts()], confirmations=0, max_log_range=10_000)
        res = reader.sync()[0]
        assert proxy.refused > 0 and res.stats.refusals == proxy.refused and res.stats.min_range <= 4
        state = reader.state(PRODUCT, res.to_block)
    assert res.events == direct.events

    def events(db):
        with db.engine.connect() as c:
            return c.execute(text("SELECT block_number, log_index, event, args FROM chain_events ORDER BY 1, 2")).all()

    assert events(env.db) == events(direct_db)
    assert state.supply_from_events == state.total_supply
    # a node that refuses even one block: the error surfaces, nothing is checkpointed
    with RefusingProxy(env.node.url, max_blocks=0) as proxy:
        fresh = Database(tmp_path / "fresh.db")
        with pytest.raises(Exception, match="query returned more than"):
            ChainReader(Web3(Web3.HTTPProvider(proxy.url)), fresh, [env.stack.contracts()], confirmations=0).sync()
        assert fresh.count("chain_checkpoints") == 0 and fresh.count("chain_events") == 0


def test_reorg_deeper_than_confirmations_is_detected_and_resynced(env):
    snap = env.rpc("evm_snapshot")["result"]
    devchain.mint(env.w3, env.stack, env.holder, 7 * 10**18, "orphaned")
    reader = ChainReader(env.w3, env.db, [env.stack.contracts()], confirmations=0)
    reader.sync()
    assert reader.state(PRODUCT, env.w3.eth.block_number).total_supply == env.total // 2 + 7 * 10**18
    env.rpc("evm_revert", [snap])
    devchain.mint(env.w3, env.stack, env.holder, 3 * 10**18, "canonical")
    env.rpc("evm_mine")
    report = env.run()
    reorgs = report["chain"]["reorgs"]
    assert reorgs and reorgs[0]["events_removed"] == 2 and reorgs[0]["common_ancestor"] < reorgs[0]["checkpoint_block"]
    p = report["products"][0]
    assert p["total_supply"] == p["supply_from_events"] == str(env.total // 2 + 3 * 10**18)
    assert report["status"] == "clean", report["breaks"]


def test_missed_mint_event_is_a_supply_event_mismatch(env):
    env.run()
    with env.db.engine.begin() as c:
        c.execute(text("DELETE FROM chain_events WHERE event = 'Transfer'"))
    report = env.run()
    assert (PRODUCT, "supply_event_mismatch") in kinds(report)


def test_redemption_pending_too_long_and_escrow(env):
    req = devchain.request_redemption(env.w3, env.stack, HOLDER_KEY, 10**18)
    assert req.status == 1
    devchain.request_redemption(env.w3, env.stack, HOLDER_KEY, 2 * 10**18)
    devchain.complete_redemption(env.w3, env.stack, 2)
    report = env.run()
    assert report["status"] == "clean", report["breaks"]
    assert report["products"][0]["pending_redemptions"] == 1
    env.rpc("evm_increaseTime", [4 * 86_400])
    env.rpc("evm_mine")
    report = env.run(thresholds=Thresholds(max_attestation_age=30 * 86_400))
    assert kinds(report) == {(PRODUCT, "redemption_pending_too_long")}
    b = report["breaks"][0]
    assert b["lot_id"] == "redemption#1" and int(b["amount"]) == 10**18 and b["severity"] == "medium"
    report = env.run()  # default 1-day max age: the attestation is now stale too
    assert (PRODUCT, "attestation_stale") in kinds(report)


def test_accepted_redemption_is_read_as_processing(env):
    devchain.request_redemption(env.w3, env.stack, HOLDER_KEY, 10**18)
    devchain.request_redemption(env.w3, env.stack, HOLDER_KEY, 2 * 10**18)
    devchain.accept_redemption(env.w3, env.stack, 2)
    report = env.run()
    assert report["status"] == "clean", report["breaks"]
    assert report["products"][0]["pending_redemptions"] == 2  # both still in escrow
    reader = ChainReader(env.w3, env.db, [env.stack.contracts()], confirmations=0)
    reader.sync()
    state = reader.state(PRODUCT, env.w3.eth.block_number)
    assert [(p.id, p.status) for p in state.pending] == [(1, "pending"), (2, "processing")]


def test_processing_redemption_is_pending_until_it_is_closed(env):
    """Accepted (RedemptionAccepted) is not closed: the request stays pending (counted, its escrow
    matching totalEscrowed, and overdue like any open request) until RedemptionRejected/Completed."""
    devchain.request_redemption(env.w3, env.stack, HOLDER_KEY, 3 * 10**18)
    devchain.accept_redemption(env.w3, env.stack, 1)
    env.rpc("evm_increaseTime", [4 * 86_400])
    env.rpc("evm_mine")
    report = env.run(thresholds=Thresholds(max_attestation_age=30 * 86_400))
    p = report["products"][0]
    assert (p["pending_redemptions"], p["pending_amount"], p["total_escrowed"]) == (1, str(3 * 10**18), str(3 * 10**18))
    assert kinds(report) == {(PRODUCT, "redemption_pending_too_long")}  # no escrow_mismatch
    assert report["breaks"][0]["lot_id"] == "redemption#1"
    devchain.send(env.w3, env.stack.admin_key, env.stack.token.functions.rejectRedemption(1, Web3.keccak(text="no stock")))
    report = env.run(thresholds=Thresholds(max_attestation_age=30 * 86_400))
    assert report["status"] == "clean", report["breaks"]
    p = report["products"][0]
    assert (p["pending_redemptions"], p["pending_amount"], p["total_escrowed"]) == (0, "0", "0")


def test_cli_run_exit_codes(env, tmp_path, no_backoff):
    products = tmp_path / "products.json"
    products.write_text(json.dumps({"rpc_url": env.node.url, "products": {PRODUCT: {
        "token": env.stack.token.address, "attestor": env.stack.attestor.address, "start_block": env.stack.start_block}}}))
    db = str(tmp_path / "cli.db")
    custody = str(env.tmp / "custody.csv")
    runner = CliRunner()
    args = ["run", "--products", str(products), "--db", db, "--confirmations", "0", "--quiet", "--ingest", custody,
            "--out", str(tmp_path / "out")]
    res = runner.invoke(reconcile_cli, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "reconcile.html").exists() and (tmp_path / "out" / "reconcile-breaks.csv").exists()
    env.rpc("evm_increaseTime", [2 * 86_400])
    env.rpc("evm_mine")
    res = runner.invoke(reconcile_cli, args)  # stale attestation: high
    assert res.exit_code == 1 and "attestation_stale" in res.output
    res = runner.invoke(reconcile_cli, args[:-2] + ["--fail-on", "critical", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0  # below the threshold
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rpc_url": "http://127.0.0.1:1", "products": {PRODUCT: {"token": env.stack.token.address}}}))
    res = runner.invoke(reconcile_cli, ["run", "--products", str(bad), "--db", db, "--quiet", "--out", str(tmp_path / "o3")])
    assert res.exit_code == 2
    failed = json.loads((tmp_path / "o3" / "reconcile.json").read_text())
    assert failed["status"] == "failed" and failed["error"]


def test_reconcile_demo_clean_then_planted_found(tmp_path):
    from devkit.reconcile_demo import reconcile_demo

    with Anvil() as node:
        result = reconcile_demo(node.url, tmp_path / "demo")
    assert result["clean"]["exit_code"] == 0 and result["clean"]["breaks"] == []
    assert len(result["clean"]["products"]) == 5
    assert result["found"]
    planted = result["planted"]
    assert planted["exit_code"] == 1
    assert [(b["kind"], b["lot_id"]) for b in planted["breaks"]] == [("released_lot_backing",
                                                                       result["planted_item"]["lot_id"])]


def test_cli_watch_serves_prometheus_metrics(env, tmp_path):
    from stockpile.toolchain.anvil import free_port

    products = tmp_path / "products.yaml"
    products.write_text(f"rpc_url: {env.node.url}\nproducts:\n  {PRODUCT}:\n    token: '{env.stack.token.address}'\n"
                        f"    attestor: '{env.stack.attestor.address}'\n")
    port = free_port()
    res = CliRunner().invoke(reconcile_cli, ["watch", "--products", str(products), "--db", str(tmp_path / "w.db"),
                                             "--confirmations", "0", "--quiet", "--ingest", str(env.tmp / "custody.csv"),
                                             "--iterations", "2", "--interval", "0.1", "--metrics-port", str(port),
                                             "--out", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert res.output.count(": clean at block") == 2 and "guardian not configured" in res.output
    body = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert f'stockpile_reconcile_collateralisation_ratio{{product="{PRODUCT}"}} 2.0' in body
    assert "stockpile_reconcile_last_success_timestamp_seconds" in body


def test_products_discovered_from_the_directory_and_wrong_product_refused(env, tmp_path):
    from devkit.reserve import send
    from devkit.devnet import deploy

    admin = Account.from_key(ADMIN).address
    directory = deploy(env.w3, ADMIN, "Directory", admin)
    send(env.w3, ADMIN, directory.functions.grantRole(directory.functions.REGISTRAR_ROLE().call(), admin))
    send(env.w3, ADMIN, directory.functions.register("sNDPR", env.stack.token.address, "0x" + "00" * 20,
                                                     env.stack.attestor.address))
    products = tmp_path / "dir.json"
    products.write_text(json.dumps({"rpc_url": env.node.url, "directory": directory.address}))
    args = ["run", "--products", str(products), "--db", str(tmp_path / "d.db"), "--confirmations", "0", "--quiet",
            "--ingest", str(env.tmp / "custody.csv"), "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(reconcile_cli, args)
    assert res.exit_code == 0, res.output
    from stockpile.sdk.units import from_units

    supply = from_units(env.total // 2, env.stack.token.functions.decimals().call())  # product units, not base units
    assert f"{PRODUCT}: supply {supply.normalize():f} attested" in res.output
    # a products file that maps the token to the wrong product code: the run fails (exit 2), named
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"rpc_url": env.node.url, "products": {"DY-METAL": {
        "token": env.stack.token.address, "attestor": env.stack.attestor.address}}}))
    res = CliRunner().invoke(reconcile_cli, ["run", "--products", str(wrong), "--db", str(tmp_path / "d.db"),
                                             "--confirmations", "0", "--quiet", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2
    assert "is for product 'NDPR-OXIDE', not 'DY-METAL'" in json.loads((tmp_path / "o2" / "reconcile.json").read_text())["error"]


def test_reconcile_an_existing_deployment_from_export_files(tmp_path):
    """The hooks for a demo that deploys its own token: what to attest, then reconcile it."""
    from devkit.reconcile_demo import custody_attestation, reconcile_chain

    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url))
        stack = devchain.deploy_product(w3, ADMIN, ATTESTORS, "DY-METAL")
        as_of = w3.eth.get_block("latest")["timestamp"] - 60
        exports = [generate(20, seed=s, warehouses=[wh], products=["DY-METAL", "TB-METAL"], as_of=iso(as_of),
                            lot_prefix=f"{wh}-").write_csv(tmp_path / f"{wh}.csv")
                   for s, wh in ((1, "W1"), (2, "W2"))]
        att = custody_attestation(exports, "DY-METAL")
        assert att["as_of"] == as_of and att["lot_count"] > 0
        devchain.attest(w3, stack, att["merkle_root"], att["total_quantity"], att["lot_count"], att["as_of"])
        devchain.mint(w3, stack, Account.from_key(HOLDER_KEY).address, att["total_quantity"], "all")
        products = {"DY-METAL": {"token": stack.token.address, "attestor": stack.attestor.address}}
        report = reconcile_chain(node.url, products, exports, out_dir=tmp_path / "r")
        assert report["status"] == "clean" and report["products"][0]["collateralisation_ratio"] == "1.000000"
        devchain.attest(w3, stack, att["merkle_root"], att["total_quantity"] - 1, att["lot_count"], att["as_of"] + 1)
        report = reconcile_chain(node.url, products, exports, out_dir=tmp_path / "r2")
        assert {b["kind"] for b in report["breaks"]} >= {"supply_above_reserve", "attestation_total_mismatch"}


SECOND = "DY-METAL"


@pytest.fixture(scope="module")
def second(deployed, tmp_path_factory):
    """A second product on the module's chain (deployed once, before the test's snapshot, for the
    tests that need two): its own custody export, attested and half minted."""
    work = tmp_path_factory.mktemp("second")
    w3, as_of = deployed.w3, deployed.as_of
    stack = devchain.deploy_product(w3, ADMIN, ATTESTORS, SECOND)
    g = generate(12, seed=9, products=[SECOND], warehouses=["WH-TWO"], lot_prefix="TWO-", as_of=iso(as_of))
    custody = g.write_csv(work / f"custody-{SECOND}.csv")
    books = Database(work / "books.db")
    books.ingest(custody)
    reserve = root, total, count = reserve_of(books, SECOND, as_of)
    books.dispose()
    devchain.attest(w3, stack, root, total, count, as_of)
    devchain.mint(w3, stack, Account.from_key(HOLDER_KEY).address, total // 2, "first")
    return stack, custody, reserve


def _second_product(env, second):
    """The second product's custody export ingested into the test's database; (its stack, its reserve)."""
    stack, custody, reserve = second
    env.db.ingest(Path(shutil.copy(custody, env.tmp / custody.name)))
    assert reserve_of(env.db, SECOND, env.as_of) == reserve
    return stack, reserve[1]


def test_reorg_with_two_products_rolls_back_both(second, env):
    """Issue 16 #1: a reorg deeper than the confirmations with two products: the second product
    rolled back only to a block the first one's re-sync had just stored, kept its orphaned mint and
    never synced its new one (a false supply_event_mismatch on every later run)."""
    stack2, total2 = _second_product(env, second)
    products = [env.stack.contracts(), stack2.contracts()]
    cfg = RunConfig(products=products, confirmations=0)
    assert reconcile(env.db, env.w3, cfg)["status"] == "clean"
    snap = env.rpc("evm_snapshot")["result"]
    # orphaned: the second product's mint in the first block after the fork, the first product's next
    devchain.mint(env.w3, stack2, env.holder, 5 * 10**18, "orphaned")
    devchain.mint(env.w3, env.stack, env.holder, 7 * 10**18, "orphaned")
    assert reconcile(env.db, env.w3, cfg)["status"] == "clean"
    env.rpc("evm_revert", [snap])
    devchain.mint(env.w3, env.stack, env.holder, 3 * 10**18, "canonical")
    devchain.mint(env.w3, stack2, env.holder, 2 * 10**18, "canonical")
    env.rpc("evm_mine")
    report = reconcile(env.db, env.w3, cfg)
    assert {r["product"] for r in report["chain"]["reorgs"]} == {PRODUCT, "DY-METAL"}
    assert all(r["events_removed"] == 2 for r in report["chain"]["reorgs"]), report["chain"]["reorgs"]
    by = {p["product"]: p for p in report["products"]}
    assert by[PRODUCT]["supply_from_events"] == by[PRODUCT]["total_supply"] == str(env.total // 2 + 3 * 10**18)
    assert by["DY-METAL"]["supply_from_events"] == by["DY-METAL"]["total_supply"] == str(total2 // 2 + 2 * 10**18)
    assert report["status"] == "clean", report["breaks"]
    again = reconcile(env.db, env.w3, cfg)  # and later runs stay clean
    assert again["status"] == "clean" and not again["chain"]["reorgs"], again["breaks"]


def _cli_run(products: Path, tmp_path, *extra, out="o"):
    res = CliRunner().invoke(reconcile_cli, ["run", "--products", str(products), "--db", str(tmp_path / "c.db"),
                                             "--confirmations", "0", "--quiet", "--out", str(tmp_path / out), *extra])
    report = json.loads((tmp_path / out / "reconcile.json").read_text()) if (tmp_path / out / "reconcile.json").exists() \
        else None
    return res, report


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_products_file_typo_is_refused_naming_the_field(suffix, tmp_path):
    """Issue 16 #9: `atestor:` silently meant "no attestor" (a false critical attestation_missing),
    and #10: the refusal writes its JSON reason."""
    doc = {"rpc_url": "http://127.0.0.1:1", "products": {PRODUCT: {"token": "0x" + "11" * 20,
                                                                   "atestor": "0x" + "22" * 20}}}
    products = tmp_path / f"products{suffix}"
    products.write_text(json.dumps(doc))  # JSON is YAML too
    res, report = _cli_run(products, tmp_path)
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    assert f"products.{PRODUCT}.atestor: unknown field" in res.output
    assert report["status"] == "failed" and report["exit_code"] == 2 and "atestor" in report["error"]
    assert (tmp_path / "o" / "reconcile.html").exists()
    for bad, named in (({"rpc_url": "x", "products": {PRODUCT: {"token": "0x12"}}}, f"products.{PRODUCT}.token"),
                       ({"rpc_url": "x", "product": {}}, "product: unknown field"),
                       ({"rpc_url": "x", "products": {PRODUCT: {"token": "0x" + "11" * 20, "start_block": -1}}},
                        "start_block"),
                       ({"rpc_url": "x"}, "name the products")):
        products.write_text(json.dumps(bad))
        res, report = _cli_run(products, tmp_path, out="o2")
        assert res.exit_code == 2 and named in res.output and named in report["error"], res.output
    res, report = _cli_run(tmp_path / "missing.yaml", tmp_path, out="o3")
    assert res.exit_code == 2 and "missing.yaml" in report["error"]


def test_yaml_unquoted_addresses_are_read_as_addresses(tmp_path):
    from stockpile.reconcile.service import load_products

    p = tmp_path / "p.yaml"
    p.write_text(f"rpc_url: http://x\nproducts:\n  {PRODUCT}:\n    token: 0x00000000000000000000000000000000000000a1\n")
    (prod,), _doc = load_products(p)
    assert prod.token.lower() == "0x" + "0" * 38 + "a1" and prod.attestor is None


def test_unreachable_rpc_and_no_rpc_url_write_the_failure_report(tmp_path, no_backoff):
    """Issue 16 #10: exit 2 promised a JSON reason and wrote none (directory on an unreachable node)."""
    products = tmp_path / "dir.json"
    products.write_text(json.dumps({"rpc_url": "http://127.0.0.1:1", "directory": "0x" + "33" * 20}))
    res, report = _cli_run(products, tmp_path)
    assert res.exit_code == 2 and report["status"] == "failed" and "Connection" in report["error"]
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) <= 2
    products.write_text(json.dumps({"directory": "0x" + "33" * 20}))
    res, report = _cli_run(products, tmp_path, out="o2")
    assert res.exit_code == 2 and "no RPC URL" in report["error"]


def test_addresses_pointing_at_the_wrong_contract_are_named(env, tmp_path):
    """Issue 16 #9: a Directory address pointing at the wrong contract gave ContractLogicError."""
    products = tmp_path / "p.json"
    products.write_text(json.dumps({"rpc_url": env.node.url, "directory": env.stack.token.address}))
    res, report = _cli_run(products, tmp_path)
    assert res.exit_code == 2 and f"directory {env.stack.token.address} is not a Directory" in report["error"]
    products.write_text(json.dumps({"rpc_url": env.node.url, "directory": env.holder}))
    res, report = _cli_run(products, tmp_path, out="o2")
    assert res.exit_code == 2 and "has no code" in report["error"]
    products.write_text(json.dumps({"rpc_url": env.node.url, "products": {PRODUCT: {
        "token": env.stack.attestor.address, "attestor": env.stack.attestor.address}}}))
    res, report = _cli_run(products, tmp_path, out="o3")
    assert res.exit_code == 2 and "is not a CommodityToken" in report["error"], report["error"]
    products.write_text(json.dumps({"rpc_url": env.node.url, "products": {PRODUCT: {
        "token": env.stack.token.address, "attestor": env.stack.token.address}}}))
    res, report = _cli_run(products, tmp_path, out="o4")
    assert res.exit_code == 2 and "is not a ReserveAttestor" in report["error"], report["error"]


def test_the_report_says_which_block_was_read_and_what_is_not_yet_confirmed(env, tmp_path):
    """Issue 16 #11: right after ingesting a planted export a run said clean, because it reads 12
    blocks behind the head: the output must say which block was read, how far behind the head, and
    what was not yet confirmed."""
    env.run()  # synced
    for _ in range(3):
        env.rpc("evm_mine")
    devchain.mint(env.w3, env.stack, env.holder, 10**18, "recent")
    head = env.w3.eth.block_number
    later = env.w3.eth.get_block("latest")["timestamp"] + 5
    g = generate(30, seed=3, products=[PRODUCT], as_of=iso(later), discrepancies={"released": 1})
    planted = g.write_csv(env.tmp / "custody-later.csv")
    env.db.ingest(planted)
    report = env.run(confirmations=2, out_dir=tmp_path / "r")
    chain = report["chain"]
    assert chain["head_block"] == head and chain["block"] == head - 2 and chain["behind_head"] == 2
    unconf = chain["unconfirmed"]
    assert (unconf["from_block"], unconf["to_block"]) == (head - 1, head)
    assert unconf["events"] == {PRODUCT: {"Minted": 1, "Transfer": 1}}
    assert_typed(Report, report)
    (later_snap,) = report["custody"]["not_yet_in_view"]
    assert later_snap["source"] == str(planted) and later_snap["as_of"] == iso(later)
    notes = " ".join(report["notes"])
    assert f"read block {head - 2}, 2 behind head {head}" in notes and "1 Minted" in notes
    assert "custody-later.csv" in notes and "not in this run" in notes
    page = (tmp_path / "r" / "reconcile.html").read_text()
    assert f"2 behind head {head}" in page and "custody-later.csv" in page
    # the CLI says it too
    products = tmp_path / "p.json"
    products.write_text(json.dumps({"rpc_url": env.node.url, "products": {PRODUCT: {
        "token": env.stack.token.address, "attestor": env.stack.attestor.address}}}))
    res = CliRunner().invoke(reconcile_cli, ["run", "--products", str(products), "--db", str(tmp_path / "c.db"),
                                             "--confirmations", "2", "--quiet", "--out", str(tmp_path / "o"),
                                             "--ingest", str(env.tmp / "custody.csv"), "--ingest", str(planted)])
    assert f"2 behind head {head}" in res.output and "not yet confirmed" in res.output, res.output


def test_html_report_in_a_real_browser_names_the_broken_product_first(second, env, tmp_path, browser):
    """The auditor's report, rendered by Chromium: the summary names the broken product first and
    above the fold; its card comes first; the history chart is drawn; signers are named."""
    stack2, total2 = _second_product(env, second)  # DY-METAL, sorted after NDPR-OXIDE
    cfg = RunConfig(products=[env.stack.contracts(), stack2.contracts()], confirmations=0, out_dir=tmp_path / "r0")
    first = reconcile(env.db, env.w3, cfg)
    assert first["status"] == "clean", first["breaks"]
    # DY-METAL's attestors attest less than is minted: critical breaks for that product only
    root, _total, count = reserve_of(env.db, "DY-METAL", env.as_of)
    devchain.attest(env.w3, stack2, root, total2 // 4, count, env.as_of + 1)
    reconcile(env.db, env.w3, cfg)
    cfg.out_dir = tmp_path / "r"
    report = reconcile(env.db, env.w3, cfg)
    assert [r["product"] for r in report["summary"]] == ["DY-METAL"]
    assert report["summary"][0]["by_severity"]["critical"] >= 2
    dy = next(p for p in report["products"] if p["product"] == "DY-METAL")
    assert [h["breaks"] > 0 for h in dy["history"]] == [False, True, True]
    assert sorted(dy["attestation_signers"] or [dy["attestation_signers_note"]]) == sorted(
        Account.from_key(k).address for k in ATTESTORS)
    assert dy["attestation_round"] == 2
    assert {s["warehouse_id"]: s["source"] for s in dy["custody_at_as_of"]}["WH-TWO"].endswith("custody-DY-METAL.csv")

    browser.get(Path(report["files"]["html"]).as_uri())
    assert browser.title.startswith("Stockpile reconciliation")
    rows = browser.find_elements("css selector", "#summary-table tr.summary-row")
    assert [r.get_attribute("data-product") for r in rows] == ["DY-METAL"]
    fold = browser.execute_script("return window.innerHeight")
    assert rows[0].is_displayed() and rows[0].rect["y"] + rows[0].rect["height"] <= fold
    assert "DY-METAL" in rows[0].text and "critical" in rows[0].text
    cards = browser.find_elements("css selector", "section.product")
    assert [c.get_attribute("data-product") for c in cards] == ["DY-METAL", PRODUCT]
    chart = browser.find_element("id", "history-DY-METAL")
    assert chart.is_displayed() and chart.rect["width"] > 300 and chart.rect["height"] > 100
    assert chart.get_attribute("data-runs") == "3"
    assert len(chart.find_elements("css selector", "circle.ratio-point")) == 3
    assert len(chart.find_elements("css selector", "rect.breaks-bar")) == 2
    card = cards[0]
    assert "supply_above_reserve" in card.text and Account.from_key(ATTESTORS[0]).address in card.text
    assert card.find_element("css selector", ".bar i").get_attribute("class") == "over"
    details = card.find_element("css selector", "table.breaks details")
    assert details.find_element("tag name", "pre").text == ""  # folded until asked for
    details.find_element("tag name", "summary").click()
    assert "attested_total" in details.find_element("tag name", "pre").text
