"""Signed batch reports for the PriceFeed contract (EIP-712), shared by the feeder, tests and bench.

Report format: under the domain ``{name: "Stockpile PriceFeed", version: "1", chainId,
verifyingContract}`` every contributing signer (observer) signs the *whole* report::

    Report(bytes32 configDigest,uint32 observedAt,uint32 deadline,uint256 observers,
           bytes32[] feedIds,uint32[] roundIds,int192[] answers)

``observers`` is a bitmap of the observers' indices in the hub's signer list, ``answers`` every
observer's answer for every feed (feed-major: ``answers[f * k + j]`` is the j-th observer's, in
ascending index order, for feed f). The signatures therefore fix the whole set of observations: a
transmitter cannot leave one out or add one. A report needs observations (and signatures) from
``2f + 1`` or more of the ``n > 3f`` signers; the contract takes the median of exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Sequence

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import to_checksum_address

from stockpile.core.eth import typed_data as eip712
from stockpile.signatures import SECP256K1_N, bytes_from_compact, to_compact  # noqa: F401  (SECP256K1_N re-exported for tests)

DOMAIN_NAME = "Stockpile PriceFeed"
DOMAIN_VERSION = "1"
REPORT_TYPES = {
    "Report": [
        {"name": "configDigest", "type": "bytes32"},
        {"name": "observedAt", "type": "uint32"},
        {"name": "deadline", "type": "uint32"},
        {"name": "observers", "type": "uint256"},
        {"name": "feedIds", "type": "bytes32[]"},
        {"name": "roundIds", "type": "uint32[]"},
        {"name": "answers", "type": "int192[]"},
    ]
}
# What one operator node signs when it answers an observation request (never sent to the contract:
# it lets the transmitter tell which registered key gave which values, and makes a lie attributable).
OBSERVATION_TYPES = {
    "Observation": [
        {"name": "configDigest", "type": "bytes32"},
        {"name": "observedAt", "type": "uint32"},
        {"name": "feedIds", "type": "bytes32[]"},
        {"name": "roundIds", "type": "uint32[]"},
        {"name": "answers", "type": "int192[]"},
    ]
}
DEFAULT_DEADLINE_SECONDS = 300  # a report may land at most this long after its observation time


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


@dataclass(frozen=True)
class SignerConfig:
    """The hub's signer configuration (``signerSet()`` and ``configDigest()``)."""

    version: int
    f: int
    signers: tuple[str, ...]
    digest: bytes

    @property
    def quorum(self) -> int:
        """Observations a report needs: 2f + 1."""
        return 2 * self.f + 1

    def index_of(self, address: str) -> int:
        wanted = int(address, 16)
        for i, s in enumerate(self.signers):
            if int(s, 16) == wanted:
                return i
        raise ValueError(f"{address} is not a signer of configuration {self.version}")

    def as_tuple(self) -> tuple:
        return (int(self.version), int(self.f), [to_checksum_address(s) for s in self.signers])


@dataclass
class Report:
    """A report for ``PriceFeed.transmit``: the observations by observer index and their signatures."""

    config: SignerConfig
    entries: list[FeedEntry]
    observed_at: int
    deadline: int
    observations: dict[int, list[int]] = field(default_factory=dict)  # observer index -> answer per feed
    signatures: dict[int, tuple[bytes, bytes]] = field(default_factory=dict)  # observer index -> (r, vs)

    @property
    def observers(self) -> int:
        bits = 0
        for i in self.observations:
            bits |= 1 << i
        return bits

    def observer_indices(self) -> list[int]:
        return sorted(self.observations)

    def flat_answers(self) -> list[int]:
        idx = self.observer_indices()
        return [int(self.observations[i][f]) for f in range(len(self.entries)) for i in idx]

    def report_tuple(self) -> tuple:
        """The ``Report`` struct as a tuple (ABI order)."""
        return (
            bytes(self.config.digest),
            int(self.observed_at),
            int(self.deadline),
            self.observers,
            [bytes(e.feed_id) for e in self.entries],
            [int(e.round_id) for e in self.entries],
            self.flat_answers(),
        )

    def message(self) -> dict:
        r = self.report_tuple()
        return {"configDigest": r[0], "observedAt": r[1], "deadline": r[2], "observers": r[3],
                "feedIds": r[4], "roundIds": r[5], "answers": r[6]}

    def transmit_args(self) -> tuple:
        """Arguments of ``PriceFeed.transmit(report, signerSet, signatures)``."""
        missing = [i for i in self.observer_indices() if i not in self.signatures]
        if missing:
            raise ValueError(f"observer(s) {missing} have not signed the report")
        return (self.report_tuple(), self.config.as_tuple(),
                [self.signatures[i] for i in self.observer_indices()])

    def medians(self) -> list[int]:
        """Per feed, the median the contract will store (the transmitter's record of what it sends)."""
        return [median([obs[f] for obs in self.observations.values()]) for f in range(len(self.entries))]

    def sign(self, private_key: str | bytes, chain_id: int, contract: str) -> None:
        """Add ``private_key``'s signature over the whole report (its signer must be an observer)."""
        acct = Account.from_key(private_key)
        index = self.config.index_of(acct.address)
        if index not in self.observations:
            raise ValueError(f"{acct.address} (signer {index}) has no observation in this report")
        self.signatures[index] = sign_report(private_key, chain_id, contract, self)


def _domain(chain_id: int, contract: str) -> dict:
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": to_checksum_address(contract)}


_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def typed_data(chain_id: int, contract: str, report: Report) -> dict:
    return eip712(DOMAIN_NAME, DOMAIN_VERSION, chain_id, contract, "Report", REPORT_TYPES, report.message())


def sign_report(private_key: str | bytes, chain_id: int, contract: str, report: Report) -> tuple[bytes, bytes]:
    """One signer's compact signature over the whole report."""
    acct = Account.from_key(private_key)
    signed = acct.sign_message(encode_typed_data(full_message=typed_data(chain_id, contract, report)))
    return to_compact(signed.v, signed.r, signed.s)


def report_signer(chain_id: int, contract: str, report: Report, signature: tuple[bytes, bytes]) -> str:
    """The address that made a compact signature over the whole report."""
    return Account.recover_message(encode_typed_data(full_message=typed_data(chain_id, contract, report)),
                                   signature=bytes_from_compact(*signature))


def report_digest(chain_id: int, contract: str, report: Report) -> bytes:
    """The EIP-712 hash a signer signs for this report (what a node remembers it signed)."""
    from eth_utils import keccak

    m = encode_typed_data(full_message=typed_data(chain_id, contract, report))
    return keccak(b"\x19" + m.version + m.header + m.body)


def observation_typed_data(chain_id: int, contract: str, digest: bytes, observed_at: int,
                           feed_ids: Sequence[bytes], round_ids: Sequence[int], answers: Sequence[int]) -> dict:
    return {
        "domain": _domain(chain_id, contract),
        "types": {"EIP712Domain": _DOMAIN_TYPE, **OBSERVATION_TYPES},
        "primaryType": "Observation",
        "message": {"configDigest": bytes(digest), "observedAt": int(observed_at), "feedIds": [bytes(f) for f in feed_ids],
                    "roundIds": [int(r) for r in round_ids], "answers": [int(a) for a in answers]},
    }


def sign_observation(private_key: str | bytes, chain_id: int, contract: str, digest: bytes, observed_at: int,
                     feed_ids: Sequence[bytes], round_ids: Sequence[int], answers: Sequence[int]) -> tuple[bytes, bytes]:
    msg = encode_typed_data(full_message=observation_typed_data(chain_id, contract, digest, observed_at, feed_ids, round_ids, answers))
    signed = Account.from_key(private_key).sign_message(msg)
    return to_compact(signed.v, signed.r, signed.s)


def observation_signer(chain_id: int, contract: str, digest: bytes, observed_at: int, feed_ids: Sequence[bytes],
                       round_ids: Sequence[int], answers: Sequence[int], signature: tuple[bytes, bytes]) -> str:
    msg = encode_typed_data(full_message=observation_typed_data(chain_id, contract, digest, observed_at, feed_ids, round_ids, answers))
    return Account.recover_message(msg, signature=bytes_from_compact(*signature))


def build_report(
    signer_keys: Sequence[str | bytes],
    chain_id: int,
    contract: str,
    config: SignerConfig,
    entries: Sequence[FeedEntry],
    observed_at: int,
    answers_by_signer: Sequence[Sequence[int]],
    deadline: int | None = None,
) -> Report:
    """A report with key i's observation ``answers_by_signer[i]`` (one answer per entry), signed by
    every key. Devnet mode: this one process holds every key."""
    if len(signer_keys) != len(answers_by_signer):
        raise ValueError("one answer list per signer key")
    report = Report(config=config, entries=list(entries), observed_at=int(observed_at),
                    deadline=int(deadline if deadline is not None else observed_at + DEFAULT_DEADLINE_SECONDS))
    for key, answers in zip(signer_keys, answers_by_signer):
        if len(answers) != len(entries):
            raise ValueError("one answer per feed entry")
        index = config.index_of(Account.from_key(key).address)
        if index in report.observations:
            raise ValueError(f"signer {index} observes twice")
        report.observations[index] = [int(a) for a in answers]
    for key in signer_keys:
        report.sign(key, chain_id, contract)
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
