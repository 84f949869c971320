"""A contract importing OpenZeppelin compiles through ape and py-solc-x, and runs on both chains."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from eth_account import Account

from stockpile.contracts import compile_all, load
from stockpile.toolchain import SOLC_VERSION
from stockpile.toolchain.solc import solcx_folder, solc_version_of


def test_shim_is_registered_for_py_solc_x_and_ape():
    import solcx

    link = solcx_folder() / f"solc-v{SOLC_VERSION}"
    assert link.exists()
    assert str(solcx.get_installed_solc_versions()[0]) == SOLC_VERSION
    assert solc_version_of(link) == SOLC_VERSION


def test_ape_compiles_and_deploys_on_the_in_process_network(project, accounts):
    # Directory: a product contract importing OpenZeppelin (AccessControl)
    directory = accounts[0].deploy(project.Directory, accounts[0])
    assert directory.hasRole(directory.REGISTRAR_ROLE(), accounts[0])
    assert directory.count() == 0


def test_py_solc_x_artifacts_deploy_on_anvil(w3, anvil_keys, tmp_path):
    written = compile_all(out_dir=tmp_path)
    assert any(p.name == "Directory.json" for p in written)
    assert not any(p.name in ("Hello.json", "CommodityTokenV2.json", "PlainERC20.json") for p in written)  # product only
    art = load("Directory")
    acct = Account.from_key(anvil_keys[0])
    contract = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    tx = contract.constructor(acct.address).build_transaction({"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address)})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction))
    assert receipt.status == 1
    deployed = w3.eth.contract(address=receipt.contractAddress, abi=art.abi)
    assert deployed.functions.hasRole(deployed.functions.REGISTRAR_ROLE().call(), acct.address).call()
    assert w3.eth.chain_id == 31337


def test_cli_version_and_help():
    stockpile = Path(sys.executable).parent / "stockpile"
    out = subprocess.run([str(stockpile), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "0.1.0" in out.stdout
    out = subprocess.run([str(stockpile), "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout and "build" in out.stdout
