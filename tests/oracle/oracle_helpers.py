"""Helpers shared by the oracle tests (imported as a plain module: tests/ has no packages)."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak

from stockpile.oracle.report import FeedEntry, SignerConfig, build_report, feed_id

NDPR = feed_id("NDPR-OXIDE/USD")
DY = feed_id("DY-METAL/USD")
TB = feed_id("TB-METAL/USD")


def make_keys(n: int, tag: str = "signer") -> list[str]:
    """Deterministic test keys, returned in ascending order of their addresses."""
    keys = ["0x" + keccak(text=f"stockpile oracle test {tag} {i}").hex() for i in range(n)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


_SIGNER_SETS: dict[bytes, SignerConfig] = {}


def ape_signer_config(hub) -> SignerConfig:
    """The hub's signer configuration, read through ape. The digest is read every time; the signer
    set behind it once per digest (keccak of chain id, hub address, version, f and signers: the same
    digest is the same set), which halves the reads of a report (an in-process call is ~50 ms)."""
    digest = bytes(hub.configDigest())
    if digest not in _SIGNER_SETS:
        version, f, signers = tuple(hub.signerSet())
        _SIGNER_SETS[digest] = SignerConfig(version=version, f=f, signers=tuple(signers), digest=digest)
    return _SIGNER_SETS[digest]


def addresses(keys) -> list[str]:
    return [Account.from_key(k).address for k in keys]


class Reporter:
    """Signs and sends reports to a hub on ape's network (devnet mode: it holds every key)."""

    def __init__(self, hub, chain, keys, sender):
        self.hub, self.chain, self.keys, self.sender = hub, chain, keys, sender

    def now(self) -> int:
        return self.chain.pending_timestamp

    def config(self) -> SignerConfig:
        return ape_signer_config(self.hub)

    def entries(self, fids, rounds=None):
        return [FeedEntry(fid, rounds[i] if rounds else self.hub.feedConfig(fid).latestRound + 1) for i, fid in enumerate(fids)]

    def report(self, entries, answers_by_signer, keys=None, chain_id=None, contract=None, observed_at=None,
               deadline=None, config=None):
        """Every key in ``keys`` (default: the first ones) observes its answers and signs the whole report."""
        keys = keys if keys is not None else self.keys[: len(answers_by_signer)]
        t = observed_at if observed_at is not None else self.now() - 1
        return build_report(keys, chain_id or self.chain.chain_id, contract or self.hub.address,
                            config or self.config(), entries, t, answers_by_signer, deadline=deadline)

    def send(self, report, args=None):
        return self.hub.transmit(*(args or report.transmit_args()), sender=self.sender)


# ------------------------------------------------------------------ anvil / web3 helpers

ANVIL_TRANSMITTER = 3  # index into anvil_keys used by feeder tests (deploys use index 0)


def advance(w3, seconds: int) -> int:
    """Move anvil's chain time forward and mine a block; returns the new latest timestamp."""
    w3.provider.make_request("evm_increaseTime", [int(seconds)])
    w3.provider.make_request("evm_mine", [])
    return w3.eth.get_block("latest")["timestamp"]


def write_json_prices(path, prices: dict, unit: str = "USD/kg", timestamp=None):
    import json

    doc = {k: ({"price": str(v), "unit": unit} | ({"timestamp": timestamp} if timestamp else {})) for k, v in prices.items()}
    path.write_text(json.dumps(doc))


class Clock:
    """An injectable clock the test moves by hand."""

    def __init__(self, t: float):
        self.t = float(t)

    def __call__(self) -> float:
        return self.t


def make_feeder(anvil, w3, hub_address, sources: dict, products: list[dict], signer_keys, anvil_keys, tmp_path,
                clock=None, fx=None, n_signers=3, **cfg):
    from stockpile.oracle.config import FeederConfig
    from stockpile.oracle.feeder import Feeder

    config = FeederConfig.model_validate({
        "rpc_url": anvil.url,
        "feed_address": hub_address,
        "state_db": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "sources": sources,
        "fx": fx or [],
        "products": products,
        "metrics": {"enabled": False},
        "confirm_timeout_seconds": cfg.pop("confirm_timeout_seconds", 10),
        **cfg,
    })
    clock = clock or Clock(w3.eth.get_block("latest")["timestamp"])
    return Feeder(config, clock=clock, w3=w3,
                  signers=[Account.from_key(k) for k in signer_keys[:n_signers]],
                  transmitter=Account.from_key(anvil_keys[ANVIL_TRANSMITTER]))
