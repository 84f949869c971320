"""`stockpile deploy` against a network that behaves like a public testnet (see conftest.py):
it completes through rate limits and dropped requests, resumes after being killed without
deploying anything twice, and `deploy verify` passes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import pytest
from web3 import Web3

from rehearsal_helpers import N_DEPLOYS, PASSPHRASE_ENV, SEPOLIA, STOCKPILE, stockpile
from stockpile.toolchain.paths import PROJECT_ROOT

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def _deploy_args(r, manifest_dir):
    return ["--rpc-url", r.url, "--chain-id", SEPOLIA, "--account", r.account_spec, "--manifest-dir", manifest_dir]


@pytest.fixture(scope="module")
def deployed(rehearsal):
    """The deployment applied through the flaky proxy, killed mid-way and completed by a rerun."""
    r = rehearsal
    manifest_dir = r.work / "deployments"
    manifest = manifest_dir / f"{SEPOLIA}.json"
    env = dict(__import__("os").environ, **PASSPHRASE_ENV)
    proc = subprocess.Popen([STOCKPILE, "deploy", "apply", str(r.deployment_file), *map(str, _deploy_args(r, manifest_dir))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if manifest.exists():
            data = json.loads(manifest.read_text())
            if len(data["contracts"]) >= 3 and data["pending"]:
                break
        time.sleep(0.02)
    assert proc.poll() is None, f"apply ended before the kill: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)  # killed with a transaction in flight
    proc.communicate()
    killed = json.loads(manifest.read_text())

    out = stockpile("deploy", "apply", r.deployment_file, *_deploy_args(r, manifest_dir))
    return manifest_dir, killed, out


def test_apply_through_a_flaky_rpc_resumes_after_a_kill_and_verifies(rehearsal, deployed):
    r = rehearsal
    manifest_dir, killed, out = deployed
    assert out.returncode == 0, out.stdout + out.stderr
    final = json.loads((manifest_dir / f"{SEPOLIA}.json").read_text())
    assert len(final["contracts"]) == N_DEPLOYS and not final["pending"] and final["chain_id"] == SEPOLIA

    # Nothing was sent twice: one transaction per step, one contract creation per deployed contract.
    w3 = r.w3
    steps = len(final["contracts"]) + len(final["actions"])
    assert w3.eth.get_transaction_count(r.deployer) == steps
    creations, base_fees = 0, set()
    for n in range(1, w3.eth.block_number + 1):
        block = w3.eth.get_block(n, full_transactions=True)
        base_fees.add(block["baseFeePerGas"])
        creations += sum(1 for tx in block["transactions"] if tx["from"] == r.deployer and tx["to"] is None)
    assert creations == N_DEPLOYS
    assert len(base_fees) > 3, "the EIP-1559 base fee should move with the deployment's blocks"

    verify = stockpile("deploy", "verify", "--rpc-url", r.url, "--chain-id", SEPOLIA, "--manifest-dir", manifest_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("ok ") == N_DEPLOYS
    again = stockpile("deploy", "apply", r.deployment_file, *_deploy_args(r, manifest_dir))
    assert again.returncode == 0 and "0 steps applied" in again.stdout, again.stdout + again.stderr

    # the network really was flaky, and the private key never showed
    stats = r.proxy.stats
    assert stats["rate_limited"] > 0 and stats["dropped_before"] > 0 and stats["dropped_after"] > 0, stats
    for text in (out.stdout + out.stderr, again.stdout + again.stderr):
        assert "Traceback" not in text and PASSPHRASE_ENV["DEPLOYER_PASS"] not in text
    assert killed["pending"] and len(killed["contracts"]) < N_DEPLOYS  # the kill landed mid-apply
    assert Web3.is_checksum_address(final["contracts"]["directory"]["address"])


def _sourcify(bundle, rpc_url):
    out = subprocess.run(["node", str(PROJECT_ROOT / "tools" / "sourcify" / "verify-bundle.js"), str(bundle), rpc_url],
                         capture_output=True, text=True, timeout=600)
    return out, [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def test_verification_bundles_are_full_matches_for_sourcify(rehearsal, deployed, tmp_path):
    r = rehearsal
    manifest_dir, _, applied = deployed
    assert applied.returncode == 0
    bundle = tmp_path / "bundle"
    out = stockpile("deploy", "verify", "--rpc-url", r.url, "--manifest-dir", manifest_dir, "--bundle", bundle)
    assert out.returncode == 0, out.stdout + out.stderr
    index = json.loads((bundle / "bundle.json").read_text())
    manifest = json.loads((manifest_dir / f"{SEPOLIA}.json").read_text())
    assert set(index["contracts"]) == set(manifest["contracts"]) and index["chain_id"] == SEPOLIA
    token = index["contracts"]["NDPR.token"]
    assert token["name"] == "StockpileProxy" and token["compiler"].startswith("0.8.28+commit.7893614a")
    std_input = json.loads((bundle / "NDPR.token" / "input.json").read_text())
    assert std_input["language"] == "Solidity" and "contracts/proxy/StockpileProxy.sol" in std_input["sources"]
    assert (bundle / "NDPR.token" / "constructor-args.txt").read_text().strip() == token["constructor_arguments"]
    assert len(token["constructor_arguments"]) > 2 + 64 * 2  # implementation address and initialiser data

    # Sourcify's own library recompiles from the metadata and compares with the chain (the node, as an explorer sees it)
    result, lines = _sourcify(bundle, r.node.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {x["key"] for x in lines} == set(manifest["contracts"])
    assert all(x["runtimeMatch"] == "perfect" and x["creationMatch"] == "perfect" for x in lines), lines

    # a bundle whose source was changed is not a match, and fails the run though the others match: a
    # copy of the bundle with the changed timelock and one unchanged contract (every contract's full
    # match was shown just above; recompiling the other six again would only repeat that)
    tampered = tmp_path / "tampered"
    shutil.copytree(bundle, tampered)
    index["contracts"] = {k: v for k, v in index["contracts"].items() if k in ("timelock", "directory")}
    (tampered / "bundle.json").write_text(json.dumps(index))
    src = tampered / "timelock" / "input.json"
    data = json.loads(src.read_text())
    path = "contracts/governance/StockpileTimelock.sol"
    data["sources"][path]["content"] = data["sources"][path]["content"].replace("unchanged", "changed")
    src.write_text(json.dumps(data))
    result, lines = _sourcify(tampered, r.node.url)
    assert result.returncode == 1
    assert {x["key"] for x in lines} == {"timelock", "directory"}
    bad = next(x for x in lines if x["key"] == "timelock")
    assert bad.get("runtimeMatch") != "perfect" and "error" in bad
    good = next(x for x in lines if x["key"] == "directory")
    assert good["runtimeMatch"] == "perfect" and good["creationMatch"] == "perfect", good


def test_operators_with_keystores_take_over_admin_through_the_safe(rehearsal, deployed):
    from stockpile.contracts import load

    r = rehearsal
    manifest_dir, _, applied = deployed
    assert applied.returncode == 0
    safe = r.safe["safe"]
    out = stockpile("deploy", "handover", r.deployment_file, *_deploy_args(r, manifest_dir))
    assert out.returncode == 0 and "transfer begun" in out.stdout, out.stdout + out.stderr
    r.w3.provider.make_request("evm_increaseTime", [61])  # the admin transfer delay of the deployment file
    r.w3.provider.make_request("evm_mine", [])

    proposal = r.work / "accept-admin.json"
    out = stockpile("deploy", "accept-admin", r.deployment_file, "--rpc-url", r.url, "--manifest-dir", manifest_dir,
                    "--via-safe", safe, "--multisend", r.safe["multisend_call_only"], "--proposal", proposal)
    assert out.returncode == 0, out.stdout + out.stderr
    for spec in (r.owner_specs[2], r.owner_specs[0]):  # two owners, each with its own keystore, one after the other
        signed = stockpile("safe", "sign", proposal, "--rpc-url", r.url, "--chain-id", SEPOLIA, "--account", spec)
        assert signed.returncode == 0, signed.stdout + signed.stderr
    assert "2 of 2 signatures" in signed.stdout
    done = stockpile("safe", "execute", proposal, "--rpc-url", r.url, "--chain-id", SEPOLIA, "--account", r.owner_specs[0])
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((manifest_dir / f"{SEPOLIA}.json").read_text())
    for key, artifact in (("NDPR.token", "CommodityToken"), ("NDPR.attestor", "ReserveAttestor"), ("price-feed", "PriceFeed")):
        c = r.w3.eth.contract(address=manifest["contracts"][key]["address"], abi=load(artifact).abi)
        assert c.functions.defaultAdmin().call() == safe, key
    # governed token changes and price trust are the timelock's alone once the deployer handed over
    timelock = manifest["contracts"]["timelock"]["address"]
    for key, artifact, role in (("NDPR.token", "CommodityToken", "GOVERNOR_ROLE"), ("price-feed", "PriceFeed", "SIGNER_ADMIN_ROLE"),
                                ("price-feed", "PriceFeed", "FEED_ADMIN_ROLE")):
        c = r.w3.eth.contract(address=manifest["contracts"][key]["address"], abi=load(artifact).abi)
        rid = getattr(c.functions, role)().call()
        assert c.functions.hasRole(rid, timelock).call() and not c.functions.hasRole(rid, r.deployer).call(), (key, role)
