"""The main journey on a local chain: start anvil, deploy, and print what happened.

It grows with each capability (deploy, prices, mint, redeem, reconcile)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from web3 import Web3

from stockpile.contracts import load
from stockpile.toolchain import Anvil

ANVIL_FIRST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # public anvil test key


def run_demo(port: int | None = None) -> int:
    console = Console()
    with Anvil(port=port) as anvil:
        w3 = Web3(Web3.HTTPProvider(anvil.url))
        account = w3.eth.account.from_key(ANVIL_FIRST_KEY)
        console.print(f"anvil at {anvil.url}, chain id {w3.eth.chain_id}")
        art = load("Hello")
        contract = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
        tx = contract.constructor().build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)})
        signed = account.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
        table = Table(title="Deployed")
        for col in ("contract", "address", "chain id", "block", "gas used"):
            table.add_column(col, no_wrap=True)
        table.add_row("Hello", receipt.contractAddress, str(w3.eth.chain_id), str(receipt.blockNumber), str(receipt.gasUsed))
        console.print(table)
        print(f"deployed Hello at {receipt.contractAddress} on chain id {w3.eth.chain_id}")
    return 0
