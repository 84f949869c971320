"""EIP-712 signing of reserve attestations with eth-account (no ape).

Domain: name "Stockpile ReserveAttestor", version "1", the chain id and the ReserveAttestor's
address as verifyingContract. Attestors sign the attestation together with the ReserveAttestor's
current ``configDigest()`` (it changes whenever the attestor set or quorum changes, so a
signature collected under an old configuration is refused) and a ``deadline``:

    Attestation(bytes32 merkleRoot,uint256 totalQuantity,uint64 lotCount,uint64 asOf,
                bytes32 reportHash,bytes32 configDigest,uint64 deadline)

``attest(attestation, configDigest, deadline, signatures)`` needs compact signatures ordered by
strictly increasing signer address: :func:`order_signatures` / :func:`sign_by_quorum` return them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import to_checksum_address

from stockpile.reserve.models import Attestation
from stockpile.core.eth import typed_data
from stockpile.signatures import compact_from_bytes, signature_bytes

DOMAIN_NAME = "Stockpile ReserveAttestor"
DOMAIN_VERSION = "1"
DEFAULT_VALIDITY_SECONDS = 7 * 86_400  # default deadline: a week after the snapshot's as-of time
ATTESTATION_TYPE = [
    {"name": "merkleRoot", "type": "bytes32"},
    {"name": "totalQuantity", "type": "uint256"},
    {"name": "lotCount", "type": "uint64"},
    {"name": "asOf", "type": "uint64"},
    {"name": "reportHash", "type": "bytes32"},
    {"name": "configDigest", "type": "bytes32"},
    {"name": "deadline", "type": "uint64"},
]


class SignedAttestation(NamedTuple):
    signer: str  # checksummed address
    signature: bytes  # 65 bytes r || s || v


def default_deadline(attestation: Attestation) -> int:
    return attestation.as_of + DEFAULT_VALIDITY_SECONDS


def _digest_bytes(config_digest: bytes | str) -> bytes:
    if isinstance(config_digest, str):
        config_digest = bytes.fromhex(config_digest.removeprefix("0x"))
    if len(config_digest) != 32:
        raise ValueError("config digest must be 32 bytes")
    return bytes(config_digest)


def attestation_typed_data(chain_id: int, attestor_address: str, attestation: Attestation,
                           config_digest: bytes | str, deadline: int) -> dict[str, Any]:
    """The full EIP-712 message for ``attestation`` on the ReserveAttestor at ``attestor_address``."""
    return typed_data(DOMAIN_NAME, DOMAIN_VERSION, chain_id, attestor_address, "Attestation",
                      {"Attestation": ATTESTATION_TYPE},
                      {**attestation.message(), "configDigest": _digest_bytes(config_digest), "deadline": int(deadline)})


def attestation_digest(chain_id: int, attestor_address: str, attestation: Attestation,
                       config_digest: bytes | str, deadline: int) -> bytes:
    """The 32-byte digest signed (equals the contract's ``attestationDigest``)."""
    return _hash_eip191_message(encode_typed_data(
        full_message=attestation_typed_data(chain_id, attestor_address, attestation, config_digest, deadline)))


def sign_attestation(account: Any, chain_id: int, attestor_address: str, attestation: Attestation,
                     config_digest: bytes | str, deadline: int) -> SignedAttestation:
    """Sign with an eth-account ``LocalAccount`` (or a private key)."""
    if not hasattr(account, "sign_typed_data"):
        account = Account.from_key(account)
    signed = account.sign_typed_data(
        full_message=attestation_typed_data(chain_id, attestor_address, attestation, config_digest, deadline))
    return SignedAttestation(to_checksum_address(account.address), bytes(signed.signature))


def recover_signer(chain_id: int, attestor_address: str, attestation: Attestation, config_digest: bytes | str,
                   deadline: int, signature: Any) -> str:
    """The address that produced ``signature`` over this attestation (checksummed). ``signature``:
    65 bytes ``r || s || v``, or compact as ``attest`` takes it (``(r, vs)`` or ``{"r", "vs"}``)."""
    msg = encode_typed_data(
        full_message=attestation_typed_data(chain_id, attestor_address, attestation, config_digest, deadline))
    return to_checksum_address(Account.recover_message(msg, signature=signature_bytes(signature)))


def order_signatures(signed: Iterable[SignedAttestation]) -> list[tuple[bytes, bytes]]:
    """Compact signatures sorted by strictly increasing signer address, as ``attest`` requires.

    Raises ValueError on a duplicated signer (the contract would refuse it with DuplicateSigner)."""
    items = sorted(signed, key=lambda s: int(s.signer, 16))
    for prev, cur in zip(items, items[1:]):
        if int(prev.signer, 16) == int(cur.signer, 16):
            raise ValueError(f"signer {cur.signer} signed twice")
    return [compact_from_bytes(s.signature) for s in items]


def sign_by_quorum(accounts: Iterable[Any], chain_id: int, attestor_address: str, attestation: Attestation,
                   config_digest: bytes | str, deadline: int) -> list[tuple[bytes, bytes]]:
    """Every account signs; the compact signatures come back ordered for ``attest``."""
    return order_signatures(sign_attestation(a, chain_id, attestor_address, attestation, config_digest, deadline)
                            for a in accounts)


def attest_args(attestation: Attestation, config_digest: bytes | str, deadline: int,
                signatures: Iterable[tuple[bytes, bytes]]) -> tuple:
    """The arguments of ``ReserveAttestor.attest(attestation, configDigest, deadline, signatures)``."""
    return (attestation.as_tuple(), _digest_bytes(config_digest), int(deadline), list(signatures))


def signed_attest_args(accounts: Iterable[Any], chain_id: int, attestor_address: str, attestation: Attestation,
                       config_digest: bytes | str, deadline: int | None = None) -> tuple:
    """Sign by every account and return the ``attest`` arguments (deadline default: as-of + a week)."""
    deadline = default_deadline(attestation) if deadline is None else int(deadline)
    sigs = sign_by_quorum(accounts, chain_id, attestor_address, attestation, config_digest, deadline)
    return attest_args(attestation, config_digest, deadline, sigs)


def submit_attestation(w3: Any, sender: Any, attestor: Any, attestation: Attestation, config_digest: bytes | str,
                       deadline: int, signatures: Iterable[tuple[bytes, bytes]]) -> Any:
    """Send ``attest`` (anyone may submit: the signatures carry the authority) through the SDK's
    ``Sender`` and return the receipt. ``sender``: a LocalAccount or a private key; ``attestor``: a
    web3 contract of the ReserveAttestor; ``signatures``: compact, ordered (``order_signatures``).
    A revert raises the SDK's decoded contract error."""
    from stockpile.sdk.transactions import Sender

    account = sender if hasattr(sender, "sign_transaction") else Account.from_key(sender)
    return Sender(w3, account).transact(
        attestor.functions.attest(*attest_args(attestation, config_digest, deadline, signatures)))


class AttestCall(NamedTuple):
    """The arguments of one ``ReserveAttestor.attest`` call, decoded from its calldata."""

    attestation: Attestation
    config_digest: bytes
    deadline: int
    signatures: list[tuple[bytes, bytes]]  # compact (r, vs), in call order

    def signers(self, chain_id: int, attestor_address: str) -> list[str]:
        """Who signed, in call order (checksummed), recovered with this module's digest."""
        return [recover_signer(chain_id, attestor_address, self.attestation, self.config_digest, self.deadline, sig)
                for sig in self.signatures]


def decode_attest_call(data: bytes | str) -> AttestCall:
    """Decode the calldata of ``attest(attestation, configDigest, deadline, signatures)``; ValueError
    when it calls another function (e.g. a Safe's ``execTransaction`` that relayed it)."""
    from eth_abi.exceptions import DecodingError
    from web3 import Web3

    from stockpile.contracts import load

    contract = Web3().eth.contract(abi=load("ReserveAttestor").abi)
    try:
        fn, params = contract.decode_function_input(data)
    except (ValueError, DecodingError) as exc:
        raise ValueError(f"not a ReserveAttestor call: {exc}") from None
    if fn.fn_name != "attest":
        raise ValueError(f"the transaction calls {fn.fn_name}, not attest")
    a, digest, deadline, sigs = (params[n] for n in ("a", "signedConfigDigest", "deadline", "signatures"))
    return AttestCall(Attestation.from_chain(a), bytes(digest), int(deadline),
                      [(bytes(s["r"]), bytes(s["vs"])) if isinstance(s, dict) else (bytes(s[0]), bytes(s[1]))
                       for s in sigs])


def attest_tx_signers(w3: Any, chain_id: int, attestor_address: str, tx_hash: bytes | str) -> list[str]:
    """The signers of the attestation submitted by transaction ``tx_hash`` (checksummed, in call
    order). ValueError when the transaction did not call ``attest`` on ``attestor_address`` directly
    (a multisig or relayer contract submitted it: its calldata is not readable here)."""
    tx = w3.eth.get_transaction(tx_hash)
    to = tx.get("to")
    if to is None or int(to, 16) != int(attestor_address, 16):
        raise ValueError(f"the transaction was sent to {to}, not to the attestor {to_checksum_address(attestor_address)}")
    return decode_attest_call(tx["input"]).signers(chain_id, attestor_address)
