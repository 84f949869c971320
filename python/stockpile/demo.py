"""The main journey on a local chain (``make demo`` / ``stockpile demo``).

1. start anvil; deploy the sample deployment file (tokens, attestors, price feeds, directory)
2. ingest the three sample warehouse exports into the reconciliation database (SQLite)
3. three custodian attestor nodes (separate processes, own copies of the exports) sign each
   product's reserve (Merkle root of its lots) when their books agree; the transmitter submits
4. oracle operators (one node process each, own key and market view) publish reference prices
   (the node processes are forked from one launcher that imported the package once:
   ``stockpile.nodes.launch``, ~1.5 s CPU less per node than a fresh interpreter)
5. mint against the reserves, transfer, permit + transferFrom, redeem; create and redeem basket
   shares (SMB) and print the basket's NAV next to its component prices
6. print a summary per product (supply, attested reserve, price, holders)
7. reconcile custody records against the chain: clean, then with one planted discrepancy

Everything runs on anvil's public development accounts: never use them on a real network.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from eth_account import Account
from rich.console import Console
from rich.table import Table

from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys

if TYPE_CHECKING:
    from stockpile.nodes.launch import Launched
    from stockpile.reconcile.custody.schema import Catalogue
    from stockpile.reconcile.db.store import Database

# Roles in the sample deployment file (python/stockpile/deploy/samples/devnet.yaml).
DEPLOYER, ATTESTORS, ORACLES, TRANSMITTER, HOLDER, FRIEND = 0, (2, 3), (5, 6, 7), 7, 8, 9
START_PRICES = {  # USD per token unit, the simulated market's starting point
    "NDPR-OXIDE": Decimal("62.50"), "DY-METAL": Decimal("310.00"), "TB-METAL": Decimal("1050.00"),
    "LI2CO3": Decimal("10400.00"), "AG-BAR": Decimal("31.20"),
}


def run_demo(port: int | None = None, work_dir: str | Path | None = None, console: Console | None = None) -> int:
    console = console or Console(width=150)
    work = Path(work_dir or tempfile.mkdtemp(prefix="stockpile-demo-"))
    keys = dev_keys()
    try:
        return _run_demo(port, work, keys, console)
    finally:
        from stockpile.nodes.launch import shutdown

        shutdown()  # the node launcher the attestor and oracle node processes were forked from


def _run_demo(port: int | None, work: Path, keys: list[str], console: Console) -> int:
    with Anvil(port=port) as node:
        console.rule("1. local chain and deployment")
        sp, manifest = _deploy(node.url, keys, work, console)
        console.print(f"anvil at {node.url}, chain id {sp.chain_id}; directory {sp.directory}")
        console.print(f"deployed {len(manifest.contracts)} contracts; manifest {work / 'deployments'}")

        console.rule("2-3. custody records and reserve attestations")
        db, catalogue, as_of = _ingest_samples(sp, work, console)
        lots_by_code = _attest_reserves(sp, db, as_of, keys, console, work)

        console.rule("4. reference prices")
        _publish_prices(node.url, sp, manifest, keys, work, console)

        console.rule("5. mint, transfer, permit, redeem")
        _holder_journey(sp, keys, lots_by_code, console)

        console.rule("5b. basket: one token for a bundle of products")
        _basket_journey(sp, manifest, keys, console)

        console.rule("6. summary")
        _summary(sp, console)

        console.rule("7. reconciliation")
        ok = _reconcile(sp, db, catalogue, as_of, work, console)
        db.dispose()
    console.print(f"work files (manifest, custody database, reports): {work}")
    return 0 if ok else 1


def _deploy(url: str, keys: list[str], work: Path, console: Console):
    from stockpile.deploy import SAMPLE_DEVNET, connect, load_deployment, make_engine
    from stockpile.sdk import Stockpile
    from stockpile.sdk.transactions import Sender

    dep = load_deployment(SAMPLE_DEVNET)
    conn = connect(url, expected_chain_id=31337)
    deployer = Account.from_key(keys[DEPLOYER])
    engine = make_engine(dep, conn.w3, work / "deployments")
    results = engine.apply(Sender(conn.w3, deployer), progress=False)
    bad = [k for k, ok in engine.verify().items() if not ok]
    if bad:
        raise RuntimeError(f"code mismatch at {bad}")
    console.print(f"{sum(r.status == 'applied' for r in results)} deployment steps applied from {SAMPLE_DEVNET.name}")
    sp = Stockpile.connect(conn.w3, directory=engine.manifest.address("directory"), account=deployer)
    return sp, engine.manifest


def _ingest_samples(sp, work: Path, console: Console):
    from stockpile.reconcile.custody.schema import Catalogue
    from stockpile.reconcile.db.store import Database
    from stockpile.reconcile.samples import write_samples

    catalogue = Catalogue.load()
    db = Database(work / "custody.db")
    as_of = sp.w3.eth.get_block("latest")["timestamp"] - 60
    for path in write_samples(work / "exports-1", as_of=iso(as_of)):
        r = db.ingest(path, catalogue, rejects_dir=work / "rejects")
        console.print(f"ingested {path.name}: {r.accepted} lots accepted, {r.rejected} rejected")
    return db, catalogue, as_of


def _reserve_lots(db, product_code: str, as_of: int) -> list[tuple]:
    from stockpile.reconcile.custody.schema import RESERVE_STATUSES

    return [x[:7] for x in db.custody_view(as_of) if x[2] == product_code and x[7] in RESERVE_STATUSES]


ATTESTOR_NODES = (2, 3, 4)  # anvil keys of the three custodian attestor nodes (devnet.yaml's attestors, quorum 2)


def _attest_reserves(sp, db, as_of: int, keys: list[str], console: Console, work: Path | None = None) -> dict[str, list[tuple]]:
    """With ``work`` (make demo): each custodian attestor is its own process (``stockpile reserve node``)
    with its own copy of the exports; custodian-3's copy has one NDPR lot tampered: it refuses and names
    the lot, 2-of-3 still attest. Without (``stockpile devnet``, the portal's tests): the single-process
    mode, every attestor key in this process (devnets only)."""
    if work is None:
        return _attest_locally(sp, db, as_of, keys, console)
    from stockpile.reserve.collect import SubmissionLog
    from stockpile.reserve.demo import AttestorNodes
    from stockpile.sdk.transactions import Sender

    products = [info for info in sp.products() if info.attestor]
    attestors = {info.product_code: info.attestor for info in products}
    out = {}
    with AttestorNodes(sp.w3.provider.endpoint_uri, sp.chain_id, attestors, [keys[i] for i in ATTESTOR_NODES],
                       work / "exports-1", work, tamper={2: "NDPR-OXIDE"}) as nodes:
        console.print("attestor nodes: " + ", ".join(f"{r.name} {r.url} ({r.address})" for r in nodes.refs))
        sender, log = Sender(sp.w3, Account.from_key(keys[DEPLOYER])), SubmissionLog(work / "reserve-attest.db")
        for info in products:
            lots = _reserve_lots(db, info.product_code, as_of)
            if not lots:
                console.print(f"{info.symbol}: no lots in custody, nothing to attest")
                continue
            op = sp.product(info.symbol)
            receipt, got = nodes.attest(sp.w3, sender, op.attestor, info.product_code, lots, as_of,
                                        f"custody report {info.product_code} {iso(as_of)}".encode(), log)
            for f in got.failures.values():
                console.print(f"{info.symbol}: {f}")
            if receipt is None:
                console.print(f"{info.symbol}: quorum not met, not attested")
                continue
            att = op.attestation()
            out[info.product_code] = lots
            console.print(f"{info.symbol}: attested {att.lot_count} lots, {op.amount(att.total_quantity):,.3f} units, "
                          f"root {att.merkle_root[:18]}... (round {att.round_id}); signed by "
                          + ", ".join(f"{n} ({s.signer[:10]}...)" for n, s in sorted(got.signed.items())))
    return out


def _attest_locally(sp, db, as_of: int, keys: list[str], console: Console) -> dict[str, list[tuple]]:
    signers = [Account.from_key(keys[i]) for i in ATTESTORS]
    out = {}
    for info in sp.products():
        lots = _reserve_lots(db, info.product_code, as_of)
        if not lots:
            console.print(f"{info.symbol}: no lots in custody, nothing to attest")
            continue
        att = sp.product(info.symbol).attest(lots, as_of, f"custody report {info.product_code} {iso(as_of)}", signers)
        out[info.product_code] = lots
        amount = sp.product(info.symbol).amount(att.total_quantity)
        console.print(f"{info.symbol}: attested {att.lot_count} lots, {amount:,.3f} units, root {att.merkle_root[:18]}... "
                      f"(round {att.round_id}, 2-of-3 attestor signatures)")
    return out


def start_oracle_node(folder: Path, config: dict, key: str, timeout: float = 60) -> tuple[Launched, str]:
    """One operator's node as its own process (``stockpile oracle node``, forked from the node launcher
    that imported the package once: ``stockpile.nodes.launch``): (process, url). ``config`` is the node
    YAML as a dict; the key goes in ``ORACLE_NODE_KEY`` (``key: {key_env: ...}``)."""
    from stockpile.nodes.launch import launch

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node.yaml").write_text(yaml.safe_dump(config))
    proc = launch(["oracle", "node", "--config", folder / "node.yaml"], env={"ORACLE_NODE_KEY": key},
                  log=folder / "node.log", capture_stdout=True)
    end = time.time() + timeout
    assert proc.stdout is not None
    while time.time() < end:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc, line.strip().rsplit(" ", 1)[-1]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"oracle node in {folder} did not start: {(folder / 'node.log').read_text()[-1000:]}")


def _publish_prices(url: str, sp, manifest, keys: list[str], work: Path, console: Console) -> None:
    """Four operators, each its own process with its own key and its own (simulated) market view; the transmitter
    collects their signed observations and sends one report per round."""
    import secrets

    from stockpile.nodes import NodeRef, Nodes, token_hash
    from stockpile.oracle.config import FeederConfig
    from web3.types import RPCEndpoint

    from stockpile.oracle.transmitter import NodeTransmitter

    hub = manifest.address("price-feed")
    prices = {f"{p.product_code}/USD": START_PRICES[p.product_code] for p in sp.products() if p.feed}
    oracle_keys = [keys[i] for i in ORACLES] + [dev_keys(11)[10]]  # the four signers of devnet.yaml
    token = secrets.token_hex(16)
    procs, refs = [], []
    try:
        for i, key in enumerate(oracle_keys):
            cfg = {"chain_id": sp.chain_id, "rpc_url": url, "feed_address": hub, "key": {"key_env": "ORACLE_NODE_KEY"},
                   "state_db": "state.sqlite", "server": {"transmitters": [{"name": "demo", "token_sha256": token_hash(token)}]},
                   "sources": {"market": {"kind": "simulated", "seed": 100 + i, "step_bps": 20,
                                          "start": {s: str(v) for s, v in prices.items()}}},
                   "products": [{"symbol": s, "sources": [{"source": "market", "key": s}]} for s in prices]}
            proc, node_url = start_oracle_node(work / f"oracle-node-{i}", cfg, key)
            procs.append(proc)
            refs.append(NodeRef(name=f"operator-{i}", url=node_url, token_env="DEMO_NODE_TOKEN",
                                address=Account.from_key(key).address))
        console.print(f"{len(procs)} oracle nodes running as separate processes: " + ", ".join(f"{r.name} {r.url}" for r in refs))
        config = FeederConfig(rpc_url=url, feed_address=hub, state_db=f"sqlite:///{work / 'oracle.db'}",
                              nodes=refs, products=[{"symbol": s, "sources": [], "deviation_bps": 1} for s in prices],
                              metrics={"enabled": False})
        tx = NodeTransmitter(config, transmitter=Account.from_key(keys[TRANSMITTER]), nodes=Nodes(refs, env={"DEMO_NODE_TOKEN": token}))
        try:
            for round_no in (1, 2):
                tx.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [2])  # chain time passes the last observation
                tx.w3.provider.make_request(RPCEndpoint("evm_mine"), [])
                res = tx.run_once()
                for k, v in {**res.errors, **res.node_failures}.items():
                    console.print(f"  {k}: {v}")
                console.print(f"round {round_no}: signed by {', '.join(res.signed_by) or 'nobody'}")
                for p in res.published:
                    console.print(f"  {p.symbol}: {p.value} (read back from chain, round {p.round_id})")
        finally:
            tx.close()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


def _holder_journey(sp, keys: list[str], lots_by_code: dict, console: Console) -> None:
    from stockpile.sdk import errors

    holder_acct, friend_acct = Account.from_key(keys[HOLDER]), Account.from_key(keys[FRIEND])
    holder, friend = sp.with_account(holder_acct), sp.with_account(friend_acct)
    for info in sp.products():
        if info.product_code not in lots_by_code:
            continue
        op = sp.product(info.symbol)
        if op.token.functions.allowlistMode().call():
            op.allowlist(holder_acct.address)
            console.print(f"{info.symbol}: allowlist mode; {holder_acct.address} allowlisted")
        reserve = op.attestation().total_quantity
        op.mint(holder_acct.address, reserve * 6 // 10, f"demo deposit {info.symbol}")
        console.print(f"{info.symbol}: minted {op.amount(reserve * 6 // 10):,.3f} to the holder (60% of the reserve)")
    try:
        reserve = sp.product("NDPR").attestation().total_quantity
        sp.product("NDPR").mint(holder_acct.address, reserve, "over the reserve")
    except errors.ReserveExceeded as refused:
        console.print(f"NDPR: a mint above the attested reserve is refused: {refused}")

    ndpr_h, ndpr_f = holder.product("NDPR"), friend.product("NDPR")
    ndpr_h.transfer(friend_acct.address, Decimal("25"))
    console.print("NDPR: holder transferred 25 kg to a second account")
    deadline = sp.w3.eth.get_block("latest")["timestamp"] + 3600
    permit = ndpr_h.sign_permit(holder_acct, friend_acct.address, Decimal("40"), deadline)
    ndpr_f.submit_permit(permit)
    ndpr_f.transfer_from(holder_acct.address, friend_acct.address, Decimal("40"))
    console.print("NDPR: holder signed an EIP-2612 permit for 40 kg; the second account submitted it and pulled the tokens")
    req = ndpr_h.request_redemption(Decimal("150"), "delivery order DO-2026-0001")
    console.print(f"NDPR: redemption #{req.id} requested for {req.amount:,.3f} kg ({req.status}, tokens in escrow)")
    ndpr_op = sp.product("NDPR")
    accepted = ndpr_op.accept_redemption(req.id)
    console.print(f"NDPR: redemption #{accepted.id} accepted by the operator: {accepted.status} "
                  "(metal being delivered; the holder can no longer cancel)")
    try:
        ndpr_h.cancel_redemption(req.id)
        console.print("NDPR: the holder's cancel after acceptance went through (it must not)")
    except errors.RedemptionNotPending as refused:
        console.print(f"NDPR: the holder's cancel after acceptance is refused: {refused}")
    done = ndpr_op.complete_redemption(req.id)
    console.print(f"NDPR: redemption #{done.id} {done.status} by the operator (tokens burned; metal left the warehouse, "
                  "so it no longer counts as mint room against this attestation)")
    pending = ndpr_h.request_redemption(Decimal("100"), "delivery order DO-2026-0002")
    console.print(f"NDPR: redemption #{pending.id} for {pending.amount:,.3f} kg left {pending.status}")
    value = ndpr_h.holding(holder_acct.address)
    console.print(f"NDPR: holder balance {value.balance.amount:,.3f} kg worth {value.value_usd:,.2f} USD")


def _basket_journey(sp, manifest, keys: list[str], console: Console) -> None:
    """The holder creates SMB shares with approvals and with permits, redeems some; NAV next to prices."""
    from stockpile.sdk import errors

    if "baskets.SMB" not in manifest.contracts:
        return
    sp.add_basket(manifest.address("baskets.SMB"), manifest.address("baskets.SMB.nav"))
    holder = sp.with_account(Account.from_key(keys[HOLDER]))
    smb = holder.basket("SMB")
    parts = ", ".join(f"{c.amount_per_share.normalize():f} {c.symbol}" for c in smb.composition())
    console.print(f"SMB: one share = {parts} (held by the basket contract {smb.token.address})")
    short = [c.symbol for c in smb.composition()
             if holder.product(c.symbol).balance(holder.address).units < 20 * c.units]
    if short:
        console.print(f"SMB: the holder lacks {short} for 20 shares; basket journey skipped")
        return
    smb.create(12)
    console.print("SMB: holder created 12 shares (approved exactly the five deposits, then one create)")
    smb.create(8, permit=True)
    console.print("SMB: holder created 8 more with one EIP-2612 permit per component, in a single transaction")
    smb.redeem(5)
    console.print("SMB: holder redeemed 5 shares and received exactly 5 x the composition back")
    backing = smb.backing()
    console.print("SMB: backing " + ", ".join(f"{b.symbol} {b.held} == {b.required}" for b in backing)
                  + f" -> fully backed: {all(b.held == b.required for b in backing)}")
    try:
        nav = smb.nav()
    except errors.ContractError as refused:
        console.print(f"SMB: NAV refused: {refused}")
        return
    table = Table(title=f"SMB NAV {nav.nav:,.8f} USD per share (from its AggregatorV3 NAV feed)")
    for col in ("component", "per share", "price (USD)", "value per share (USD)"):
        table.add_column(col, justify="right" if col != "component" else "left")
    for c in nav.components:
        table.add_row(c.symbol, f"{c.amount_per_share.normalize():f}", f"{c.price.price:,.8f}",
                      f"{c.value_per_share.normalize():f}")
    console.print(table)
    holding = smb.holding(holder.address)
    console.print(f"SMB: holder has {holding.balance.amount} shares worth {holding.value_usd:,.2f} USD")


def _summary(sp, console: Console) -> None:
    table = Table(title="Stockpile on the local chain")
    for col in ("product", "unit", "supply", "escrowed", "attested reserve", "collateral", "price (USD)", "holders"):
        table.add_column(col, justify="right" if col not in ("product", "unit") else "left")
    for info in sp.products():
        p = sp.product(info.symbol)
        status = p.reserve_status()
        price = p.price()
        table.add_row(
            info.symbol, info.unit, f"{p.amount(status.total_supply):,.3f}", f"{p.amount(status.escrowed):,.3f}",
            f"{p.amount(status.attested_total):,.3f}",
            f"{status.collateralization:.2%}" if status.collateralization else "-",
            f"{price.price:,.2f}" if price else "-", str(len(p.holders())))
    console.print(table)


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plant_released_lot(db: Database, catalogue: Catalogue, as_of: int, work: Path) -> tuple[dict, Path]:
    """Ingest a newer export of the first sample warehouse (30 s after ``as_of``) in which one
    attested lot has been released. Returns the planted item and the export's path."""
    from stockpile.reconcile.custody.generator import generate
    from stockpile.reconcile.samples import SAMPLE_SPECS

    name, wh, products, n, opts = SAMPLE_SPECS[0]
    later = as_of + 30
    g = generate(n, seed=100, warehouses=[wh], products=products, as_of=iso(later), lot_prefix=f"{wh[3:6]}-",
                 discrepancies={"released": 1})
    path = g.write_csv(Path(work) / "exports-2" / name, metadata={"warehouse_id": wh, "as_of": iso(later)}, **opts)
    db.ingest(path, catalogue, rejects_dir=Path(work) / "rejects")
    return g.planted[0], path


def _reconcile(sp, db, catalogue, as_of: int, work: Path, console: Console) -> bool:
    from stockpile.reconcile.chain.reader import ProductContracts
    from stockpile.reconcile.service import RunConfig, reconcile

    contracts = [ProductContracts(p.product_code, p.token, p.attestor) for p in sp.products()]
    baskets = [sp.basket(symbol).token.address for symbol in sp.baskets()]
    cfg = RunConfig(products=contracts, confirmations=0, out_dir=work / "report-clean", baskets=baskets)
    clean = reconcile(db, sp.w3, cfg, catalogue)
    console.print(f"run 1: {clean['status']} (exit code {clean['exit_code']}), {len(clean['breaks'])} breaks; "
                  f"report {clean.get('files', {}).get('html')}")

    planted, path = plant_released_lot(db, catalogue, as_of, work)
    console.print(f"planted: a newer {path.name} where lot {planted['lot_id']} ({planted['product']}) is released "
                  "but still backs tokens")
    cfg.out_dir = work / "report-planted"
    second = reconcile(db, sp.w3, cfg, catalogue)
    for b in second["breaks"]:
        console.print(f"  break: {b['severity']} {b['kind']} {b['product']} lot {b['lot_id']}: {b['message']}")
    console.print(f"run 2: {second['status']} (exit code {second['exit_code']}); report {second.get('files', {}).get('html')}")
    found = any(b["lot_id"] == planted["lot_id"] and b["kind"] == "released_lot_backing" for b in second["breaks"])
    clean_ok = clean["exit_code"] == 0
    console.print(f"result: first run clean: {clean_ok}; planted discrepancy found and named: {found}")
    return clean_ok and found
