"""`stockpile deploy` against a network that behaves like a public testnet (see conftest.py):
it completes through rate limits and dropped requests, resumes after being killed without
deploying anything twice, and `deploy verify` passes."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from web3 import Web3

from rehearsal_helpers import PASSPHRASE_ENV, SEPOLIA, STOCKPILE, stockpile

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

N_DEPLOYS = 7  # timelock, directory, 2 implementations, price feed, attestor and token proxies


def _deploy_args(r, manifest_dir):
    return ["--network", r.url, "--chain-id", SEPOLIA, "--account", r.account_spec, "--manifest-dir", manifest_dir]


def test_apply_through_a_flaky_rpc_resumes_after_a_kill_and_verifies(rehearsal, tmp_path):
    r = rehearsal
    manifest_dir = tmp_path / "deployments"
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
    assert killed["pending"] and len(killed["contracts"]) < N_DEPLOYS

    out = stockpile("deploy", "apply", r.deployment_file, *_deploy_args(r, manifest_dir))
    assert out.returncode == 0, out.stdout + out.stderr
    final = json.loads(manifest.read_text())
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

    verify = stockpile("deploy", "verify", "--network", r.url, "--chain-id", SEPOLIA, "--manifest-dir", manifest_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.count("ok ") == N_DEPLOYS
    again = stockpile("deploy", "apply", r.deployment_file, *_deploy_args(r, manifest_dir))
    assert again.returncode == 0 and "0 steps applied" in again.stdout, again.stdout + again.stderr

    # the network really was flaky, and the private key never showed
    stats = r.proxy.stats
    assert stats["rate_limited"] > 0 and stats["dropped_before"] > 0 and stats["dropped_after"] > 0, stats
    for text in (out.stdout + out.stderr, again.stdout + again.stderr):
        assert "Traceback" not in text and PASSPHRASE_ENV["DEPLOYER_PASS"] not in text
    assert Web3.is_checksum_address(final["contracts"]["directory"]["address"])
