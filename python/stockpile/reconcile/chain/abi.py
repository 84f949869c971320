"""The parts of the CommodityToken and ReserveAttestor ABIs the reconciliation reads.

Built in (agreed names) so the reader works without the artifacts; when the compiled
artifacts exist their ABI entries of the same names are used instead (tests check that the
built-in entries are a subset of the artifacts')."""

from __future__ import annotations


def _ev(name, *inputs):
    return {"type": "event", "name": name, "anonymous": False,
            "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in inputs]}


def _fn(name, inputs=(), outputs=(), mutability="view"):
    def conv(items):
        out = []
        for item in items:
            if isinstance(item, dict):
                out.append(item)
            else:
                n, t = item
                out.append({"name": n, "type": t})
        return out

    return {"type": "function", "name": name, "stateMutability": mutability, "inputs": conv(inputs),
            "outputs": conv(outputs)}


ATTESTATION_TUPLE = {
    "name": "attestation", "type": "tuple", "internalType": "struct IReserveAttestor.Attestation",
    "components": [{"name": "merkleRoot", "type": "bytes32"}, {"name": "totalQuantity", "type": "uint256"},
                   {"name": "lotCount", "type": "uint64"}, {"name": "asOf", "type": "uint64"},
                   {"name": "reportHash", "type": "bytes32"}],
}

TOKEN_ABI = [
    _fn("totalSupply", outputs=[("", "uint256")]),
    _fn("decimals", outputs=[("", "uint8")]),
    _fn("symbol", outputs=[("", "string")]),
    _fn("productCode", outputs=[("", "string")]),
    _fn("totalEscrowed", outputs=[("", "uint256")]),
    _fn("paused", outputs=[("", "bool")]),
    _fn("mintingPaused", outputs=[("", "bool")]),
    _fn("pause", mutability="nonpayable"),
    _ev("Transfer", ("from", "address", True), ("to", "address", True), ("value", "uint256", False)),
    _ev("Minted", ("mintId", "bytes32", True), ("to", "address", True), ("amount", "uint256", False),
        ("minter", "address", True)),
    _ev("RedemptionRequested", ("id", "uint256", True), ("holder", "address", True), ("amount", "uint256", False),
        ("deliveryRef", "bytes32", False)),
    _ev("RedemptionAccepted", ("id", "uint256", True), ("holder", "address", True), ("amount", "uint256", False)),
    _ev("RedemptionCompleted", ("id", "uint256", True), ("holder", "address", True), ("amount", "uint256", False)),
    _ev("RedemptionRejected", ("id", "uint256", True), ("holder", "address", True), ("amount", "uint256", False),
        ("reasonCode", "bytes32", False)),
    _ev("RedemptionCancelled", ("id", "uint256", True), ("holder", "address", True), ("amount", "uint256", False)),
    _ev("Frozen", ("user", "address", True), ("amount", "uint256", False)),
    _ev("ForcedTransfer", ("from", "address", True), ("to", "address", True), ("amount", "uint256", False)),
    _ev("AddressFrozen", ("account", "address", True), ("frozen", "bool", False)),
    _ev("Paused", ("account", "address", False)),
    _ev("Unpaused", ("account", "address", False)),
    _ev("MintingPaused", ("account", "address", False)),
    _ev("MintingUnpaused", ("account", "address", False)),
]

ATTESTOR_ABI = [
    _fn("latestAttestation", outputs=[ATTESTATION_TUPLE, ("roundId", "uint80"), ("attestedAt", "uint64")]),
    _fn("reserveTotal", outputs=[("totalQuantity", "uint256"), ("asOf", "uint64")]),
    _fn("productCode", outputs=[("", "string")]),
    _ev("ReserveAttested", ("roundId", "uint80", True), ("merkleRoot", "bytes32", False),
        ("totalQuantity", "uint256", False), ("lotCount", "uint64", False), ("asOf", "uint64", False),
        ("reportHash", "bytes32", False)),
]

READ_FUNCTIONS = {"token": ["totalSupply", "decimals", "totalEscrowed"], "attestor": ["latestAttestation", "productCode"]}


def merged(builtin: list[dict], artifact_name: str) -> list[dict]:
    """The artifact's ABI when it exists (it is the truth), else the built-in one."""
    try:
        from stockpile.contracts import load

        return list(load(artifact_name).abi)
    except Exception:
        return builtin


def token_abi() -> list[dict]:
    return merged(TOKEN_ABI, "CommodityToken")


def attestor_abi() -> list[dict]:
    return merged(ATTESTOR_ABI, "ReserveAttestor")
