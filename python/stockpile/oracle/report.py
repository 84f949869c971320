"""Signed batch reports for the PriceFeed contract (EIP-712), shared by the feeder, tests and bench.

Report format: every oracle signer signs, under the domain
``{name: "Stockpile PriceFeed", version: "1", chainId, verifyingContract}``, the struct
``Observation(bytes32[] feedIds,uint32[] roundIds,uint32 observedAt,int192[] answers)``:
the batch (feeds, the round each becomes, the report's observation time) with its *own* answer
per feed. The transmitter sends all signers' answers (flat, feed-major:
``answers[f * nSigners + s]``) and signatures ordered by ascending signer address; the contract
takes the median of the signers' answers per feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

DOMAIN_NAME = "Stockpile PriceFeed"
DOMAIN_VERSION = "1"
OBSERVATION_TYPES = {
    "Observation": [
        {"name": "feedIds", "type": "bytes32[]"},
        {"name": "roundIds", "type": "uint32[]"},
        {"name": "observedAt", "type": "uint32"},
        {"name": "answers", "type": "int192[]"},
    ]
}
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def feed_id(symbol: str) -> bytes:
    """bytes32 feed id of a symbol: its ASCII left-aligned and zero-padded (cheap calldata), e.g. "NDPR/USD"."""
    raw = symbol.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"feed symbol must be 1..32 ASCII characters: {symbol!r}")
    return raw.ljust(32, b"\0")


def feed_symbol(fid: bytes) -> str:
    return bytes(fid).rstrip(b"\0").decode("ascii", errors="replace")


@dataclass(frozen=True)
class FeedEntry:
    """One feed of a batch and the round it becomes."""

    feed_id: bytes
    round_id: int


@dataclass
class SignedObservation:
    signer: str
    answers: list[int]
    r: bytes
    vs: bytes


@dataclass
class Report:
    """A batch report ready for ``PriceFeed.transmit``."""

    entries: list[FeedEntry]
    observed_at: int
    observations: list[SignedObservation] = field(default_factory=list)

    def ordered(self) -> list[SignedObservation]:
        return sorted(self.observations, key=lambda o: int(o.signer, 16))

    def transmit_args(self) -> tuple:
        """Arguments of ``PriceFeed.transmit(feedIds, roundIds, observedAt, answers, signatures)``."""
        obs = self.ordered()
        flat = [o.answers[f] for f in range(len(self.entries)) for o in obs]
        return (
            [e.feed_id for e in self.entries],
            [e.round_id for e in self.entries],
            int(self.observed_at),
            flat,
            [(o.r, o.vs) for o in obs],
        )

    def medians(self) -> list[int]:
        return [median([o.answers[f] for o in self.observations]) for f in range(len(self.entries))]


def typed_data(
    chain_id: int, contract: str, entries: Sequence[FeedEntry], observed_at: int, answers: Sequence[int]
) -> dict:
    return {
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(contract),
        },
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            **OBSERVATION_TYPES,
        },
        "primaryType": "Observation",
        "message": {
            "feedIds": [bytes(e.feed_id) for e in entries],
            "roundIds": [int(e.round_id) for e in entries],
            "observedAt": int(observed_at),
            "answers": [int(a) for a in answers],
        },
    }


def to_compact(v: int, r: int, s: int) -> tuple[bytes, bytes]:
    """EIP-2098 compact signature (r, yParity|s)."""
    if s > SECP256K1_N // 2:  # eth-account always returns low s; keep it explicit
        raise ValueError("high-s signature")
    parity = v - 27 if v >= 27 else v
    return r.to_bytes(32, "big"), ((parity << 255) | s).to_bytes(32, "big")


def sign_observation(
    private_key: str | bytes,
    chain_id: int,
    contract: str,
    entries: Sequence[FeedEntry],
    observed_at: int,
    answers: Sequence[int],
) -> SignedObservation:
    """One signer's signed observation of a batch (its own answer for each feed)."""
    if len(answers) != len(entries):
        raise ValueError("one answer per feed entry")
    acct = Account.from_key(private_key)
    signed = acct.sign_message(encode_typed_data(full_message=typed_data(chain_id, contract, entries, observed_at, answers)))
    r, vs = to_compact(signed.v, signed.r, signed.s)
    return SignedObservation(signer=acct.address, answers=[int(a) for a in answers], r=r, vs=vs)


def build_report(
    signer_keys: Sequence[str | bytes],
    chain_id: int,
    contract: str,
    entries: Sequence[FeedEntry],
    observed_at: int,
    answers_by_signer: Sequence[Sequence[int]],
) -> Report:
    """Sign ``entries`` with every key (answers_by_signer[i] = key i's answers) into a Report."""
    if len(signer_keys) != len(answers_by_signer):
        raise ValueError("one answer list per signer key")
    report = Report(entries=list(entries), observed_at=int(observed_at))
    for key, answers in zip(signer_keys, answers_by_signer):
        report.observations.append(sign_observation(key, chain_id, contract, entries, observed_at, answers))
    return report


def median(values: Sequence[int]) -> int:
    """The contract's median: odd count -> middle; even -> floor of the mean of the two middle values."""
    v = sorted(int(x) for x in values)
    n = len(v)
    if n == 0:
        raise ValueError("median of nothing")
    if n % 2:
        return v[n // 2]
    return (v[n // 2 - 1] + v[n // 2]) >> 1
