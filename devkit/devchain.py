"""A dev chain holding real CommodityToken + ReserveAttestor stacks for reconciliation tests,
the benchmarks (web3.py + eth-account; development only, not in the package)."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from stockpile.reconcile.chain.reader import ProductContracts
from devkit.devnet import send
from stockpile.reserve.models import Attestation
from stockpile.reserve.signing import signed_attest_args
from devkit import stack


@dataclass
class ProductStack:
    product: str
    token: Contract
    attestor: Contract
    admin_key: str
    attestor_keys: list[str]
    start_block: int

    def contracts(self) -> ProductContracts:
        return ProductContracts(self.product, self.token.address, self.attestor.address, self.start_block)


def deploy_product(w3: Web3, admin_key: str, attestor_keys: list[str], product: str, decimals: int = 18,
                   quorum: int | None = None, max_attestation_age: int = 7 * 86_400) -> ProductStack:
    """One product's token + attestor (behind proxies, timelock as upgrader), deployed by the deploy
    engine (``devkit.stack``); the admin is also minter (with a limit no test reaches), redemption
    operator and pauser, and the minimum redemption is one base unit."""
    admin = Account.from_key(admin_key).address
    signers = [Account.from_key(k).address for k in attestor_keys]
    symbol = product.split("-")[0][:6].upper()
    dep = stack.deployment(admin, signers, quorum or len(attestor_keys), [stack.product(
        symbol, product, decimals=decimals, max_attestation_age=max_attestation_age,
        min_redemption=stack.base_units(1, decimals), mint_capacity=stack.base_units(2**127, decimals),
        refill_per_second=stack.base_units(2**100, decimals))],
        roles={"minters": [admin], "redemption_operators": [admin], "pausers": [admin]})
    live = stack.apply(w3, admin_key, dep)
    return ProductStack(product, live.token(symbol), live.attestor(symbol), admin_key, attestor_keys, live.start_block)


def attest(w3: Web3, stack: ProductStack, root: bytes | str, total: int, lot_count: int, as_of: int,
           report_hash: bytes | str | None = None):
    """Sign by every attestor key (EIP-712) and submit."""
    att = Attestation(merkle_root=root, total_quantity=total, lot_count=lot_count, as_of=as_of,
                      report_hash=report_hash or Web3.keccak(text=f"report {stack.product} {as_of}"))
    args = signed_attest_args(stack.attestor_keys, w3.eth.chain_id, stack.attestor.address, att,
                              stack.attestor.functions.configDigest().call())
    return send(w3, stack.admin_key, stack.attestor.functions.attest(*args))


def mint(w3: Web3, stack: ProductStack, to: str, amount: int, label: str):
    fn = stack.token.functions.mint(Web3.to_checksum_address(to), amount, Web3.keccak(text=f"mint:{stack.product}:{label}"))
    try:
        return send(w3, stack.admin_key, fn)
    except RuntimeError as exc:  # say why (the custom error) instead of only "reverted"
        try:
            fn.call({"from": Account.from_key(stack.admin_key).address})
        except Exception as why:
            raise RuntimeError(f"mint of {amount} {stack.product} reverted: {why!r}") from exc
        raise


def request_redemption(w3: Web3, stack: ProductStack, holder_key: str, amount: int, ref: str = "delivery"):
    return send(w3, holder_key, stack.token.functions.requestRedemption(amount, Web3.keccak(text=ref)))


def accept_redemption(w3: Web3, stack: ProductStack, request_id: int):
    """The operator takes a pending request into processing (no cancel after it)."""
    return send(w3, stack.admin_key, stack.token.functions.acceptRedemption(request_id))


def complete_redemption(w3: Web3, stack: ProductStack, request_id: int):
    """Accept (if still pending) and complete: the escrow is burned."""
    if stack.token.functions.getRedemption(request_id).call()[2] == 1:
        accept_redemption(w3, stack, request_id)
    return send(w3, stack.admin_key, stack.token.functions.completeRedemption(request_id))
