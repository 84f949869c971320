"""EIP-712 signing of reserve attestations with eth-account (no ape).

Domain: name "Stockpile ReserveAttestor", version "1", the chain id and the ReserveAttestor's
address as verifyingContract. ``attest`` needs the signatures ordered by strictly increasing
signer address: use :func:`order_signatures`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from stockpile.reserve.models import Attestation

DOMAIN_NAME = "Stockpile ReserveAttestor"
DOMAIN_VERSION = "1"
ATTESTATION_TYPE = [
    {"name": "merkleRoot", "type": "bytes32"},
    {"name": "totalQuantity", "type": "uint256"},
    {"name": "lotCount", "type": "uint64"},
    {"name": "asOf", "type": "uint64"},
    {"name": "reportHash", "type": "bytes32"},
]
EIP712_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


class SignedAttestation(NamedTuple):
    signer: str  # checksummed address
    signature: bytes  # 65 bytes r || s || v


def attestation_typed_data(chain_id: int, attestor_address: str, attestation: Attestation) -> dict[str, Any]:
    """The full EIP-712 message for ``attestation`` on the ReserveAttestor at ``attestor_address``."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, "Attestation": ATTESTATION_TYPE},
        "primaryType": "Attestation",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": int(chain_id),
            "verifyingContract": to_checksum_address(attestor_address),
        },
        "message": attestation.message(),
    }


def attestation_digest(chain_id: int, attestor_address: str, attestation: Attestation) -> bytes:
    """The 32-byte digest signed (equals the contract's ``attestationDigest``)."""
    return _hash_eip191_message(encode_typed_data(full_message=attestation_typed_data(chain_id, attestor_address, attestation)))


def sign_attestation(account: Any, chain_id: int, attestor_address: str, attestation: Attestation) -> SignedAttestation:
    """Sign with an eth-account ``LocalAccount`` (or a private key)."""
    if not hasattr(account, "sign_typed_data"):
        account = Account.from_key(account)
    signed = account.sign_typed_data(full_message=attestation_typed_data(chain_id, attestor_address, attestation))
    return SignedAttestation(to_checksum_address(account.address), bytes(signed.signature))


def recover_signer(chain_id: int, attestor_address: str, attestation: Attestation, signature: bytes) -> str:
    """The address that produced ``signature`` over this attestation (checksummed)."""
    msg = encode_typed_data(full_message=attestation_typed_data(chain_id, attestor_address, attestation))
    return to_checksum_address(Account.recover_message(msg, signature=signature))


def order_signatures(signed: Iterable[SignedAttestation]) -> list[bytes]:
    """Signatures sorted by strictly increasing signer address, as ``attest`` requires.

    Raises ValueError on a duplicated signer (the contract would refuse it with DuplicateSigner)."""
    items = sorted(signed, key=lambda s: int(s.signer, 16))
    for prev, cur in zip(items, items[1:]):
        if int(prev.signer, 16) == int(cur.signer, 16):
            raise ValueError(f"signer {cur.signer} signed twice")
    return [s.signature for s in items]


def sign_by_quorum(accounts: Iterable[Any], chain_id: int, attestor_address: str, attestation: Attestation) -> list[bytes]:
    """Every account signs; the signatures come back ordered for ``attest``."""
    return order_signatures(sign_attestation(a, chain_id, attestor_address, attestation) for a in accounts)
