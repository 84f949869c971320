"""Deploying through an RPC URL to an anvil started by the test, exactly as a testnet is used."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from eth_account import Account
from web3 import Web3

from devkit.cli import run as stockpile  # in-process (devkit/cli.py)
from stockpile.contracts import load
from stockpile.deploy import SAMPLE_DEVNET, load_deployment
from stockpile.sdk.accounts import write_keystore
from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys

pytestmark = pytest.mark.anvil

KEYS = dev_keys()
DEPLOYER = Account.from_key(KEYS[0])
ADMIN = Account.from_key(KEYS[1])
STOCKPILE = str(Path(sys.executable).parent / "stockpile")
N_DEPLOYS = 19  # timelock, directory, 3 implementations (token + its EIP-3009 code, attestor), price feed,
                # 5 x 2 proxies, basket impl + proxy + NAV feed
N_STEPS = 75  # per product: bind attestor to token, set it as the token's reserve attestor; basket: 3 deploys, roles, allowlisting, Directory entry


def cli(*args, env_extra=None):
    """`stockpile deploy ARGS` in-process (devkit.cli: the installed app's exit codes and stderr);
    the tests that are about the process itself (killed mid-apply, the installed script's exit
    code) start it with subprocess."""
    return stockpile("deploy", *args, env=env_extra)


def installed_cli(*args, env_extra=None, timeout=300):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([STOCKPILE, "deploy", *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def node():
    with Anvil() as n:
        yield n


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """A node on which `deploy apply` applied the sample file once (module scope), and its manifest folder."""
    manifests = tmp_path_factory.mktemp("applied")
    with Anvil() as n:
        out = cli("apply", SAMPLE_DEVNET, "--rpc-url", n.url, "--manifest-dir", manifests)
        assert out.returncode == 0, out.stderr
        assert f"{N_STEPS} steps applied, 0 already done" in out.stdout
        yield n, manifests


@pytest.fixture
def applied_node(applied, tmp_path):
    """The module's applied node as `deploy apply` left it (chain and clock put back after the test:
    evm_snapshot/evm_revert), its manifest copied into tmp_path (the test's --manifest-dir)."""
    n, manifests = applied
    w3 = Web3(Web3.HTTPProvider(n.url))
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    shutil.copytree(manifests, tmp_path, dirs_exist_ok=True)
    try:
        yield n
    finally:
        assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True


@pytest.fixture
def keystore(tmp_path):
    path = write_keystore(DEPLOYER, tmp_path / "deployer.json", "s3cret-pass", kdf="pbkdf2", iterations=1000)
    return f"keystore:{path}:DEPLOYER_PASS", {"DEPLOYER_PASS": "s3cret-pass"}


def nonce(url, address=DEPLOYER.address):
    return Web3(Web3.HTTPProvider(url)).eth.get_transaction_count(address)


def test_apply_by_rpc_url_with_keystore_then_again_changes_nothing(node, keystore, tmp_path):
    spec, env = keystore
    out = cli("apply", SAMPLE_DEVNET, "--rpc-url", node.url, "--chain-id", 31337, "--account", spec,
              "--manifest-dir", tmp_path / "m", env_extra=env)
    assert out.returncode == 0, out.stderr
    assert f"{N_STEPS} steps applied, 0 already done" in out.stdout
    for secret in (KEYS[0][2:], "s3cret-pass"):
        assert secret not in out.stdout + out.stderr
    manifest = json.loads((tmp_path / "m" / "31337.json").read_text())
    assert manifest["chain_id"] == 31337 and manifest["compiler"].startswith("solc-js 0.8.28")
    assert len(manifest["contracts"]) == N_DEPLOYS and not manifest["pending"]
    for rec in manifest["contracts"].values():
        assert rec["tx_hash"].startswith("0x") and rec["block_number"] > 0 and Web3.is_checksum_address(rec["address"])
    assert nonce(node.url) == N_STEPS
    # each product's feed: its symbol and id on the hub, and the Chainlink-style adapter consumers read
    w3 = Web3(Web3.HTTPProvider(node.url))
    hub = manifest["contracts"]["price-feed"]["address"]
    assert sorted(manifest["feeds"]) == sorted(p.symbol for p in load_deployment(SAMPLE_DEVNET).products)
    for product, feed in manifest["feeds"].items():
        assert feed["hub"] == hub and bytes.fromhex(feed["feed_id"][2:]).rstrip(b"\0").decode() == feed["symbol"]
        adapter = w3.eth.contract(address=feed["adapter"], abi=load("PriceFeedAdapter").abi)
        assert adapter.functions.description().call().startswith(feed["symbol"].split("/")[0])
        directory = w3.eth.contract(address=manifest["contracts"]["directory"]["address"], abi=load("Directory").abi)
        assert directory.functions.get(product).call()[1] == feed["adapter"]

    again = cli("apply", SAMPLE_DEVNET, "--rpc-url", node.url, "--account", spec, "--manifest-dir", tmp_path / "m", env_extra=env)
    assert again.returncode == 0, again.stderr
    assert f"0 steps applied, {N_STEPS} already done" in again.stdout
    assert nonce(node.url) == N_STEPS  # nothing sent

    plan = cli("plan", SAMPLE_DEVNET, "--rpc-url", node.url, "--account", spec, "--manifest-dir", tmp_path / "m", env_extra=env)
    assert plan.returncode == 0 and f"0 of {N_STEPS} steps to do" in plan.stdout
    verify = cli("verify", "--rpc-url", node.url, "--manifest-dir", tmp_path / "m")
    assert verify.returncode == 0 and verify.stdout.count("ok ") == N_DEPLOYS


def test_plan_touches_nothing_and_estimates_gas(node, tmp_path):
    out = cli("plan", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"{N_STEPS} of {N_STEPS} steps to do" in out.stdout
    estimated = int(out.stdout.rsplit("estimable now: ", 1)[1].split()[0].replace(",", ""))
    assert estimated > 5_000_000
    assert nonce(node.url) == 0 and not list(tmp_path.iterdir())


def test_interrupted_apply_is_completed_without_duplicates(tmp_path):
    with Anvil(block_time=0.25) as node:
        manifest = tmp_path / "31337.json"
        proc = subprocess.Popen([STOCKPILE, "deploy", "apply", str(SAMPLE_DEVNET), "--rpc-url", node.url,
                                 "--manifest-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while time.time() < deadline:
            if manifest.exists():
                data = json.loads(manifest.read_text())
                if len(data["contracts"]) >= 4 and data["pending"]:
                    break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # killed between sending and confirming a transaction
        proc.wait()
        killed = json.loads(manifest.read_text())
        assert killed["pending"], "the kill should land while a transaction is in flight"
        assert len(killed["contracts"]) < N_DEPLOYS

        out = cli("apply", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
        assert out.returncode == 0, out.stderr
        final = json.loads(manifest.read_text())
        assert len(final["contracts"]) == N_DEPLOYS and not final["pending"]
        # Every step sent exactly once: one transaction per step, one creation per contract.
        w3 = Web3(Web3.HTTPProvider(node.url))
        assert w3.eth.get_transaction_count(DEPLOYER.address) == N_STEPS
        creations = 0
        for n in range(1, w3.eth.block_number + 1):
            for tx in w3.eth.get_block(n, full_transactions=True)["transactions"]:
                creations += tx["to"] is None
        assert creations == N_DEPLOYS


def test_bad_deployment_file_is_refused_and_nothing_is_deployed(node, tmp_path):
    data = yaml.safe_load(SAMPLE_DEVNET.read_text())
    data["products"][2]["decimals"] = 40
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    out = cli("apply", bad, "--rpc-url", node.url, "--manifest-dir", tmp_path / "m")
    assert out.returncode == 2
    assert "products[2].decimals: must be <= 18, got 40" in out.stderr
    assert nonce(node.url) == 0 and not (tmp_path / "m").exists()


def test_mainnet_chain_id_is_refused_by_the_cli(tmp_path):
    """By the installed `stockpile` script: its exit code and one-line stderr."""
    with Anvil(chain_id=1) as node:
        out = installed_cli("apply", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path, "--account", "env:K",
                  env_extra={"K": KEYS[0]})
        assert out.returncode == 2
        assert "chain id 1 is Ethereum mainnet: refusing without --allow-mainnet" in out.stderr
        assert nonce(node.url) == 0


def test_remote_chain_needs_an_explicit_account(tmp_path):
    with Anvil(chain_id=11155111) as node:  # a node answering Sepolia's chain id
        out = cli("plan", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
        assert out.returncode == 2 and "give --account" in out.stderr


def test_handover_moves_admin_two_step(applied_node, tmp_path):
    node = applied_node  # the sample applied by `deploy apply`
    out = cli("handover", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    assert "transfer begun" in out.stdout
    w3 = Web3(Web3.HTTPProvider(node.url))
    manifest = json.loads((tmp_path / "31337.json").read_text())
    token = w3.eth.contract(address=manifest["contracts"]["NDPR.token"]["address"], abi=load("CommodityToken").abi)
    attestor = w3.eth.contract(address=manifest["contracts"]["NDPR.attestor"]["address"], abi=load("ReserveAttestor").abi)
    directory = w3.eth.contract(address=manifest["contracts"]["directory"]["address"], abi=load("Directory").abi)
    pending, schedule = token.functions.pendingDefaultAdmin().call()
    assert pending == ADMIN.address and token.functions.defaultAdmin().call() == DEPLOYER.address
    # attestor set/quorum and price-trust roles are the timelock's (self-administered), never the admin's
    timelock = manifest["contracts"]["timelock"]["address"]
    manager = Web3.keccak(text="ATTESTOR_MANAGER_ROLE")
    assert attestor.functions.hasRole(manager, timelock).call()
    assert not attestor.functions.hasRole(manager, ADMIN.address).call()
    assert not attestor.functions.hasRole(manager, DEPLOYER.address).call()
    feed = w3.eth.contract(address=manifest["contracts"]["price-feed"]["address"], abi=load("PriceFeed").abi)
    for role in ("SIGNER_ADMIN_ROLE", "FEED_ADMIN_ROLE"):
        rid = Web3.keccak(text=role)
        assert feed.functions.hasRole(rid, timelock).call()
        assert not feed.functions.hasRole(rid, DEPLOYER.address).call()
        assert not feed.functions.hasRole(rid, ADMIN.address).call()
    assert directory.functions.hasRole(bytes(32), ADMIN.address).call()
    assert not directory.functions.hasRole(bytes(32), DEPLOYER.address).call()

    # the new admin accepts once the delay has passed
    w3.provider.make_request("evm_increaseTime", [120])
    w3.provider.make_request("evm_mine", [])
    tx = token.functions.acceptDefaultAdminTransfer().build_transaction(
        {"from": ADMIN.address, "nonce": w3.eth.get_transaction_count(ADMIN.address)})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(ADMIN.sign_transaction(tx).raw_transaction))
    assert token.functions.defaultAdmin().call() == ADMIN.address

    again = cli("handover", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
    assert again.returncode == 0 and "NDPR.token" in again.stdout


def test_apply_on_the_in_process_network(tmp_path):
    out = cli("apply", SAMPLE_DEVNET, "--rpc-url", "in-process", "--manifest-dir", tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"{N_STEPS} steps applied" in out.stdout
    assert (tmp_path / "131277322940537.json").exists()


def test_governed_change_after_handover_goes_through_the_timelock(applied_node, tmp_path):
    """Once the deployer renounced GOVERNOR_ROLE (handover), adding a minter is scheduled on the timelock by a
    proposer, refused to run early, and executed by a later apply after the delay."""
    node = applied_node  # the sample applied by `deploy apply`
    out = cli("handover", SAMPLE_DEVNET, "--rpc-url", node.url, "--manifest-dir", tmp_path)
    assert out.returncode == 0 and "renounced (timelock keeps it)" in out.stdout, out.stdout + out.stderr
    w3 = Web3(Web3.HTTPProvider(node.url))
    manifest = json.loads((tmp_path / "31337.json").read_text())
    token = w3.eth.contract(address=manifest["contracts"]["NDPR.token"]["address"], abi=load("CommodityToken").abi)
    governor, minter_role = Web3.keccak(text="GOVERNOR_ROLE"), Web3.keccak(text="MINTER_ROLE")
    timelock = manifest["contracts"]["timelock"]["address"]
    assert not token.functions.hasRole(governor, DEPLOYER.address).call()
    assert token.functions.hasRole(governor, timelock).call()

    new_minter = Account.from_key(KEYS[8]).address
    data = yaml.safe_load(SAMPLE_DEVNET.read_text())
    data["roles"]["minters"].append(new_minter)
    changed = tmp_path / "more-minters.yaml"
    changed.write_text(yaml.safe_dump(data))
    wrong = cli("apply", changed, "--rpc-url", node.url, "--manifest-dir", tmp_path)  # the deployer: no proposer
    assert wrong.returncode == 2 and "is not a timelock proposer: run apply with --account of one" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    proposer = {"K": KEYS[1]}  # the timelock's proposer and executor in the sample file
    first = cli("apply", changed, "--rpc-url", node.url, "--manifest-dir", tmp_path, "--account", "env:K",
                env_extra=proposer)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("scheduled on the timelock") == 10  # role + limit, 5 products
    assert not token.functions.hasRole(minter_role, new_minter).call()
    early = cli("apply", changed, "--rpc-url", node.url, "--manifest-dir", tmp_path, "--account", "env:K",
                env_extra=proposer)
    assert early.returncode == 0 and early.stdout.count("timelock: waiting until") == 10
    assert not token.functions.hasRole(minter_role, new_minter).call()
    plan = cli("plan", changed, "--rpc-url", node.url, "--manifest-dir", tmp_path, "--account", "env:K",
               env_extra=proposer)
    assert plan.returncode == 0 and "timelock: waiting" in plan.stdout

    w3.provider.make_request("evm_increaseTime", [61])
    w3.provider.make_request("evm_mine", [])
    late = cli("apply", changed, "--rpc-url", node.url, "--manifest-dir", tmp_path, "--account", "env:K",
               env_extra=proposer)
    assert late.returncode == 0, late.stderr
    assert "10 steps applied" in late.stdout
    assert token.functions.hasRole(minter_role, new_minter).call()
    assert token.functions.availableToMint(new_minter).call() == 100_000 * 10**18


def test_handover_refuses_to_renounce_governor_when_the_timelock_lost_it(node, tmp_path):
    """The deployer gives up GOVERNOR_ROLE only to a timelock that holds it: a timelock that renounced it
    (through its own delayed operation) gets a one-line refusal, exit 2, before handover sends anything."""
    data = yaml.safe_load(SAMPLE_DEVNET.read_text())
    data["products"], data["baskets"] = data["products"][:1], []
    file = tmp_path / "one.yaml"
    file.write_text(yaml.safe_dump(data))
    assert cli("apply", file, "--rpc-url", node.url, "--manifest-dir", tmp_path).returncode == 0
    w3 = Web3(Web3.HTTPProvider(node.url))
    manifest = json.loads((tmp_path / "31337.json").read_text())
    token = w3.eth.contract(address=manifest["contracts"]["NDPR.token"]["address"], abi=load("CommodityToken").abi)
    timelock = w3.eth.contract(address=manifest["contracts"]["timelock"]["address"], abi=load("StockpileTimelock").abi)
    governor = Web3.keccak(text="GOVERNOR_ROLE")
    renounce = bytes.fromhex(token.encode_abi("renounceRole", args=[governor, timelock.address])[2:])
    op = [token.address, 0, renounce, bytes(32), bytes(32)]
    for fn, extra in (("schedule", [data["timelock"]["delay"]]), ("execute", [])):  # by the sample's proposer/executor
        tx = getattr(timelock.functions, fn)(*op, *extra).build_transaction(
            {"from": ADMIN.address, "nonce": w3.eth.get_transaction_count(ADMIN.address)})
        assert w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(ADMIN.sign_transaction(tx).raw_transaction))["status"] == 1
        w3.provider.make_request("evm_increaseTime", [data["timelock"]["delay"] + 1])
        w3.provider.make_request("evm_mine", [])
    assert not token.functions.hasRole(governor, timelock.address).call()

    before = nonce(node.url)
    out = cli("handover", file, "--rpc-url", node.url, "--manifest-dir", tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "NDPR.token: the timelock does not hold GOVERNOR_ROLE; refusing to renounce it" in out.stderr
    assert "Traceback" not in out.stderr
    assert nonce(node.url) == before  # nothing sent
    assert token.functions.hasRole(governor, DEPLOYER.address).call()
