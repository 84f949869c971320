"""Helpers shared by the ReserveAttestor tests (imported as `reserve_helpers`; fixtures are in conftest.py)."""

from __future__ import annotations

import ast
import json
import subprocess
from contextlib import contextmanager
from functools import cache

import ape
from eth_account import Account
from eth_utils import keccak
from ethpm_types import ContractType

from stockpile.contracts import Artifact, load
from stockpile.contracts.compile import compile_standard_json
from stockpile.merkle import LOT_LEAF_TYPES, Lot
from stockpile.reserve import Attestation, attestation_digest, report_hash, sign_by_quorum
from stockpile.reserve.signing import default_deadline
from stockpile.toolchain import PROJECT_ROOT
from devkit.devnet import decode_custom_error

PRODUCT = "NDPR-OXIDE"
DECIMALS = 18
CONSUMER_SOURCE = "tests/reserve/contracts/ReserveFeedConsumer.sol"

# Attestor signing keys (deterministic, test only). They sign; they need no ether.
SIGNERS = [Account.from_key(keccak(text=f"stockpile-test-attestor-{i}")) for i in range(5)]
OUTSIDER_SIGNER = Account.from_key(keccak(text="stockpile-test-not-an-attestor"))


def sample_lots(n: int = 25, product: str = PRODUCT) -> list[Lot]:
    forms = ["oxide powder", "oxide granules", "metal ingot"]
    return [
        Lot(warehouse_id=f"WH-{['ROT', 'SGP', 'BAL'][i % 3]}-{i % 4:02d}", lot_id=f"LOT-2026-{i:05d}",
            product_code=product, form=forms[i % 3], purity_ppm=995_000 - 100 * (i % 7),
            quantity=(250 + i) * 10**DECIMALS, assay_ref=f"SGS-{i // 5:03d}")
        for i in range(n)
    ]


def make_attestation(lots, as_of: int, report: str = "report") -> Attestation:
    return Attestation.of_lots(lots, as_of=as_of, report_hash=report_hash(f"{report}@{as_of}"))





@contextmanager
def custom_error(name: str, abi=None, **inputs):
    """Expect a revert with the custom error ``name`` (and these inputs) on ape's network.

    Stricter than ``ape.reverts(Contract.Error)``, which lets a revert that is not a decoded custom
    error, or an input name that does not exist, pass."""
    with ape.reverts() as info:
        yield info
    err = info.value
    got, got_inputs = type(err).__name__, getattr(err, "inputs", None)
    raw = err.revert_message
    if isinstance(raw, str) and raw[:2] in ('b"', "b'"):  # ape gives undecoded revert data as repr(bytes)
        raw = ast.literal_eval(raw)
    if got == "ContractLogicError" and (isinstance(raw, bytes) or str(raw).startswith("0x")):
        # raised where ape has no ABI to decode it (a proxy's constructor, a contract type built from an
        # artifact): decode with ``abi`` (default: ReserveAttestor's, which includes OpenZeppelin's errors)
        got, got_inputs = decode_custom_error(abi or load("ReserveAttestor").abi, raw)
    assert got == name, f"expected {name}, got {got}: {err}"
    info.inputs = got_inputs  # the decoded inputs, whether ape decoded the revert or we did
    for key, expected in inputs.items():
        assert key in got_inputs, f"{name} has no input {key!r}: {got_inputs}"
        actual = got_inputs[key]
        if isinstance(expected, str) and expected.startswith("0x") and len(expected) == 42:
            actual, expected = str(actual).lower(), expected.lower()
        assert actual == expected, f"{name}.{key}: expected {expected!r}, got {actual!r}"


def ape_container(art: Artifact):
    ct = ContractType.model_validate({
        "contractName": art.name,
        "abi": art.abi,
        "deploymentBytecode": {"bytecode": art.bytecode},
        "runtimeBytecode": {"bytecode": art.deployed_bytecode},
    })
    return ape.contracts.ContractContainer(ct)


@cache
def consumer_artifact() -> Artifact:
    """ReserveFeedConsumer, compiled against @chainlink/contracts' AggregatorV3Interface."""
    out = compile_standard_json({CONSUMER_SOURCE: {"content": (PROJECT_ROOT / CONSUMER_SOURCE).read_text()}},
                                outputs=["abi", "evm.bytecode.object", "evm.deployedBytecode.object"])
    assert any("@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol" in s for s in out["sources"])
    data = out["contracts"][CONSUMER_SOURCE]["ReserveFeedConsumer"]
    return Artifact(name="ReserveFeedConsumer", source=CONSUMER_SOURCE, abi=data["abi"],
                    bytecode="0x" + data["evm"]["bytecode"]["object"],
                    deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"], compiler="solc-js")


def sign(attestor_contract, attestation: Attestation, accounts_, chain_id: int, deadline=None, digest=None):
    """Compact signatures of ``accounts_``, ordered, under the contract's current config digest."""
    digest = bytes(attestor_contract.configDigest()) if digest is None else digest
    deadline = default_deadline(attestation) if deadline is None else deadline
    return sign_by_quorum(accounts_, chain_id, str(attestor_contract.address), attestation, digest, deadline)


def submit(attestor_contract, attestation: Attestation, sigs, sender, deadline=None, digest=None):
    """``attest`` with the current config digest and the default deadline (as-of + a week) unless given."""
    digest = bytes(attestor_contract.configDigest()) if digest is None else digest
    deadline = default_deadline(attestation) if deadline is None else deadline
    return attestor_contract.attest(attestation.as_tuple(), digest, deadline, sigs, sender=sender)


def recover_compact(chain_id: int, attestor_contract, attestation: Attestation, sig, deadline=None, digest=None) -> str:
    """The address a compact signature recovers to on ``attestor_contract`` (what the contract reports)."""
    from eth_account import Account as _Account

    digest = bytes(attestor_contract.configDigest()) if digest is None else digest
    deadline = default_deadline(attestation) if deadline is None else deadline
    h = attestation_digest(chain_id, str(attestor_contract.address), attestation, digest, deadline)
    r, vs = (int.from_bytes(bytes(x), "big") for x in sig)
    return _Account._recover_hash(h, vrs=(27 + (vs >> 255), r, vs & ((1 << 255) - 1)))





def oz_tree(lots: list[Lot]) -> dict:
    """Root and proofs from @openzeppelin/merkle-tree (node), for the same lots."""
    values = [[str(v) if isinstance(v, int) else v for v in lot.as_tuple()] for lot in lots]
    out = subprocess.run(["node", str(PROJECT_ROOT / "tests/merkle/oz_reference.js")],
                         input=json.dumps({"types": LOT_LEAF_TYPES, "values": values}),
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout)


@cache
def oz_artifact(source: str, name: str) -> Artifact:
    """An OpenZeppelin contract from node_modules (e.g. TimelockController), compiled with our settings."""
    out = compile_standard_json({"oz_import.sol": {"content": f'// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\nimport "{source}";\n'}},
                                outputs=["abi", "evm.bytecode.object", "evm.deployedBytecode.object"])
    data = out["contracts"]["node_modules/" + source][name]
    return Artifact(name=name, source=source, abi=data["abi"], bytecode="0x" + data["evm"]["bytecode"]["object"],
                    deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"], compiler="solc-js")
