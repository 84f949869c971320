"""Helpers shared by the oracle tests (imported as a plain module: tests/ has no packages)."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from stockpile.oracle.report import FeedEntry, build_report, feed_id

NDPR = feed_id("NDPR-OXIDE/USD")
DY = feed_id("DY-METAL/USD")
TB = feed_id("TB-METAL/USD")


def make_keys(n: int, tag: str = "signer") -> list[str]:
    """Deterministic test keys, returned in ascending order of their addresses."""
    keys = ["0x" + keccak(text=f"stockpile oracle test {tag} {i}").hex() for i in range(n)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


class Reporter:
    """Signs and sends reports to a hub on ape's network."""

    def __init__(self, hub, chain, keys, sender):
        self.hub, self.chain, self.keys, self.sender = hub, chain, keys, sender

    def now(self) -> int:
        return self.chain.pending_timestamp

    def entries(self, fids, rounds=None):
        return [FeedEntry(fid, rounds[i] if rounds else self.hub.feedConfig(fid).latestRound + 1) for i, fid in enumerate(fids)]

    def report(self, entries, answers_by_signer, keys=None, chain_id=None, contract=None, observed_at=None):
        keys = keys if keys is not None else self.keys[: len(answers_by_signer)]
        t = observed_at if observed_at is not None else self.now() - 1
        return build_report(keys, chain_id or self.chain.chain_id, contract or self.hub.address, entries, t, answers_by_signer)

    def send(self, report, args=None):
        return self.hub.transmit(*(args or report.transmit_args()), sender=self.sender)
