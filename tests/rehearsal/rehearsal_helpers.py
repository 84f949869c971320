"""Shared helpers of the rehearsal tests."""

from __future__ import annotations

import sys
from pathlib import Path

from eth_account import Account
from web3 import Web3

from devkit.cli import run as run_cli
from stockpile.toolchain.anvil import dev_keys

SEPOLIA = 11155111
STOCKPILE = str(Path(sys.executable).parent / "stockpile")
PASSPHRASE_ENV = {"DEPLOYER_PASS": "rehearsal-deployer-pass"}
FAUCET = Account.from_key(dev_keys()[9])
# the contracts `deploy apply` creates for the rehearsal's one-product file: timelock, directory,
# token authorizations (EIP-3009 code), token and attestor implementations, price feed, attestor and token proxies
N_DEPLOYS = 8


def stockpile(*args, env=None):
    """`stockpile ARGS` in-process (devkit.cli: the installed app's exit codes and output) with the
    keystores' passphrase set; the kill mid-apply starts the installed script (STOCKPILE) instead."""
    return run_cli(*args, env={**PASSPHRASE_ENV, **(env or {})})


def fund(w3: Web3, address: str, amount: int = 10**20) -> None:
    """The faucet: ether from a dev account of the rehearsal node (sent to the node directly)."""
    block = w3.eth.get_block("latest")
    tx = {"to": address, "value": amount, "gas": 21_000, "nonce": w3.eth.get_transaction_count(FAUCET.address, "pending"),
          "chainId": SEPOLIA, "maxFeePerGas": 3 * block["baseFeePerGas"] + 10**9, "maxPriorityFeePerGas": 10**9}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(FAUCET.sign_transaction(tx).raw_transaction),
                                        poll_latency=0.1)


def new_keystore(path: Path, key: str) -> str:
    """A keystore written by `stockpile deploy new-keystore`; returns the --account spec for it."""
    out = stockpile("deploy", "new-keystore", path, "--passphrase-env", "DEPLOYER_PASS", "--from-account", "env:IMPORT_KEY",
                    env={"IMPORT_KEY": key})
    assert out.returncode == 0, out.stderr
    return f"keystore:{path}:DEPLOYER_PASS"




def owner_keystore(path: Path, account) -> str:
    """A Safe owner's keystore, encrypted with PBKDF2 at 1,024 rounds instead of the scrypt that
    `stockpile deploy new-keystore` uses (~0.7 s CPU to write and again at every use: the owners sign
    and execute several times); read through the same ``keystore:`` account spec. The deployer's
    keystore is the one `new-keystore` writes."""
    from stockpile.sdk.accounts import write_keystore

    write_keystore(account, path, PASSPHRASE_ENV["DEPLOYER_PASS"], kdf="pbkdf2", iterations=1024)
    return f"keystore:{path}:DEPLOYER_PASS"
