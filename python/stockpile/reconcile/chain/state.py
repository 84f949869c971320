"""What the reconciliation needs from the chain, per product, at one confirmed block.

:class:`stockpile.reconcile.chain.reader.ChainReader` fills these from a node (web3.py);
the classifier only sees these plain values, so it can be driven from any source.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Attestation:
    merkle_root: str  # 0x-hex, 32 bytes
    total_quantity: int  # token base units
    lot_count: int
    as_of: int  # unix seconds
    report_hash: str
    round_id: int
    attested_at: int


@dataclass(frozen=True)
class PendingRedemption:
    id: int
    holder: str
    amount: int
    requested_at: int  # block timestamp of the request
    block_number: int
    delivery_ref: str = ""
    status: str = "pending"  # "pending", or "processing" once the operator accepted it (no cancel any more)


@dataclass
class ProductChainState:
    product: str
    token: str
    attestor: str | None
    block_number: int
    block_timestamp: int
    total_supply: int
    decimals: int = 18
    total_escrowed: int | None = None
    attestation: Attestation | None = None
    minted_from_events: int | None = None  # sum of Transfer(0x0 -> x) up to block_number
    burned_from_events: int | None = None  # sum of Transfer(x -> 0x0)
    pending: list[PendingRedemption] = field(default_factory=list)
    event_counts: dict[str, int] = field(default_factory=dict)
    paused: bool | None = None  # everything paused (transfers too)
    minting_paused: bool | None = None  # only minting paused (the guardian's pauseMinting)
    # who signed the latest attestation: {"signers": [...], "tx", "block"} or {"signers": None, "why"}
    attestation_signers: dict | None = None

    @property
    def supply_from_events(self) -> int | None:
        if self.minted_from_events is None or self.burned_from_events is None:
            return None
        return self.minted_from_events - self.burned_from_events
