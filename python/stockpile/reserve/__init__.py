"""Reserve attestations: the custodian's lot list (Merkle root), total, lot count and as-of time,
signed by a quorum of attestors (EIP-712) and accepted by the product's ReserveAttestor contract.

web3.py / eth-account only (no ape), for the SDK, deployment and reconciliation.
"""

from stockpile.reserve.models import Attestation, report_hash
from stockpile.reserve.signing import (
    DOMAIN_NAME,
    DOMAIN_VERSION,
    AttestCall,
    SignedAttestation,
    attest_args,
    attest_tx_signers,
    attestation_digest,
    attestation_typed_data,
    decode_attest_call,
    order_signatures,
    recover_signer,
    sign_attestation,
    sign_by_quorum,
    signed_attest_args,
)

__all__ = [
    "AttestCall",
    "Attestation",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "SignedAttestation",
    "attest_args",
    "attest_tx_signers",
    "attestation_digest",
    "attestation_typed_data",
    "decode_attest_call",
    "order_signatures",
    "recover_signer",
    "report_hash",
    "sign_attestation",
    "sign_by_quorum",
    "signed_attest_args",
]
