"""A contract importing OpenZeppelin compiles through ape and py-solc-x, and runs on both chains."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from eth_account import Account

from devkit.cli import run
from stockpile.contracts import Artifact, artifacts_dir, compile_all, load
from stockpile.toolchain import PROJECT_ROOT, SOLC_VERSION
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


# compile_all writes these from npm's @safe-global/safe-contracts on every run (EXTERNAL_CONTRACTS)
SAFE_CONTRACTS = {"Safe", "SafeProxyFactory", "SafeProxy", "CompatibilityFallbackHandler", "MultiSendCallOnly"}
# fields that do not depend on which other sources share the compile (storage layouts and immutable
# references carry AST ids, which do)
SAME_IN_ANY_COMPILE = ("name", "source", "abi", "bytecode", "deployed_bytecode", "method_identifiers", "metadata",
                       "compiler")


def test_py_solc_x_artifacts_deploy_on_anvil(w3, anvil_keys, tmp_path):
    """compile_all on one product folder (a full compile of contracts/ is what `stockpile build` in
    `make setup` ran to make the package's artifacts: ~13 s CPU against ~4 s here) gives the same
    artifacts as that build, drops artifacts whose source is gone, and deploys on anvil."""
    packaged = {p.stem for p in artifacts_dir().glob("*.json")}
    assert {"Directory", "CommodityToken", "BasketToken"} | SAFE_CONTRACTS <= packaged
    assert not packaged & {"Hello", "CommodityTokenV2", "PlainERC20"}  # product only: no test/bench contracts
    assert not packaged & {"IDirectory", "IBasketToken", "AccessControl"}  # no interfaces, no OpenZeppelin

    gone = tmp_path / "Gone.json"  # an artifact of a deleted contract
    gone.write_text(json.dumps({"name": "Gone", "source": "contracts/gone/Gone.sol"}))
    other = tmp_path / "CommodityToken.json"  # not in this compile, but its source exists
    shutil.copy(artifacts_dir() / "CommodityToken.json", other)

    # Directory imports the interfaces IDirectory and IBasketToken and OpenZeppelin's AccessControl
    written = compile_all(contracts_dir=PROJECT_ROOT / "contracts" / "directory", out_dir=tmp_path)
    assert {p.name for p in written} == {f"{n}.json" for n in {"Directory"} | SAFE_CONTRACTS}
    assert not gone.exists() and other.exists()
    for path in written:
        art = json.loads(path.read_text())
        built = load(art["name"]).model_dump()
        assert {k: art[k] for k in SAME_IN_ANY_COMPILE} == {k: built[k] for k in SAME_IN_ANY_COMPILE}, art["name"]

    art = Artifact.model_validate_json((tmp_path / "Directory.json").read_text())
    acct = Account.from_key(anvil_keys[0])
    contract = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    tx = contract.constructor(acct.address).build_transaction({"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address)})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction))
    assert receipt.status == 1
    deployed = w3.eth.contract(address=receipt.contractAddress, abi=art.abi)
    assert deployed.functions.hasRole(deployed.functions.REGISTRAR_ROLE().call(), acct.address).call()
    assert w3.eth.chain_id == 31337


def test_cli_version_and_help():
    # the installed entry point once, as a process of its own (~1.5 s CPU of imports); the help text
    # of the same app in-process (devkit.cli.run)
    stockpile = Path(sys.executable).parent / "stockpile"
    out = subprocess.run([str(stockpile), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "0.1.0" in out.stdout
    out = run("--help")
    assert out.returncode == 0 and "demo" in out.stdout and "build" in out.stdout
