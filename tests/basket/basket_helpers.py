"""Helpers of the basket tests on ape's in-process network (imported as a plain module).

A stack of five real CommodityTokens (each behind its proxy with its own ReserveAttestor and a first
attestation), a real PriceFeed hub with one PriceFeedAdapter per component, and a BasketToken behind a
StockpileProxy (UPGRADER_ROLE held by a TimelockController) with its BasketNavFeed.

Prices are published through the hub's signed reports in ``Prices.publish`` only, so a change of the
oracle's report format touches one function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from stockpile.oracle.report import FeedEntry, SignerConfig, build_report, feed_id
from stockpile.token.eip3009 import sign_transfer_authorization
from stockpile.toolchain.anvil import dev_keys
from devkit.ape_stack import ATTESTOR_KEYS, TIMELOCK_DELAY, ZERO_ADDRESS, Attest, deploy_token, mint_id

# anvil's development keys and their roles in the sample deployment file (devnet.yaml)
KEYS = dev_keys()
DEPLOYER, ATTESTORS, ORACLES, TRANSMITTER, HOLDER = 0, (2, 3), (5, 6, 7), 7, 8  # 3 = 2f + 1 of 4 oracle signers
START = {"NDPR-OXIDE": "62.50", "DY-METAL": "310.00", "TB-METAL": "1050.00", "LI2CO3": "10400.00", "AG-BAR": "31.20"}

ORACLE_KEYS = sorted(["0x" + keccak(text=f"stockpile basket oracle {i}").hex() for i in range(4)],
                     key=lambda k: int(Account.from_key(k).address, 16))
ORACLE_F = 1  # 4 signers tolerate 1 faulty one: a report needs 2f + 1 = 3 observations
FEED_DECIMALS = 8
HEARTBEAT = 86_400
MAX_REPORT_AGE = 3_600  # the deploy engine's default (stockpile.deploy.config.FeedConfig.report_age)

# (symbol, product code, decimals, units per share (basket decimals 0), price USD per whole token)
COMPONENTS = [
    ("sNDPR", "NDPR-OX-995", 18, 5 * 10**17, Decimal("62.50")),      # 0.5 kg NdPr oxide
    ("sDY", "DY-MET-999", 18, 10**17, Decimal("310.25")),            # 0.1 kg dysprosium
    ("sTB", "TB-MET-999", 6, 20_000, Decimal("1234.56789012")),      # 0.02 kg terbium
    ("sLI", "LI2CO3-995", 3, 1, Decimal("10450.1")),                 # 0.001 t lithium carbonate
    ("sAG", "AG-999", 8, 10**8, Decimal("31.07")),                   # 1 oz silver
]


@dataclass
class Component:
    symbol: str
    token: object
    attestor: object
    adapter: object
    fid: bytes
    units: int
    decimals: int


@dataclass
class BasketStack:
    basket: object
    nav: object
    hub: object
    timelock: object
    components: list[Component]
    admin: object
    pauser: object
    protector: object
    compliance: object
    minter: object
    alice: object
    bob: object
    carol: object
    stranger: object
    prices: Prices = field(default=None)

    @property
    def tokens(self):
        return [c.token for c in self.components]


class Prices:
    """Publishes component prices through the hub's signed reports (every one of the 4 signers observes the
    same answers and signs the whole report)."""

    def __init__(self, hub, chain, sender):
        self.hub, self.chain, self.sender = hub, chain, sender

    def publish(self, answers: dict[bytes, int], observed_at: int | None = None):
        fids = list(answers)
        entries = [FeedEntry(f, self.hub.feedConfig(f).latestRound + 1) for f in fids]
        t = observed_at if observed_at is not None else self.chain.pending_timestamp - 1
        version, f, signers = tuple(self.hub.signerSet())
        config = SignerConfig(version=version, f=f, signers=tuple(signers), digest=bytes(self.hub.configDigest()))
        report = build_report(ORACLE_KEYS, self.chain.chain_id, self.hub.address, config, entries, t,
                              [[answers[f] for f in fids]] * len(ORACLE_KEYS))
        return self.hub.transmit(*report.transmit_args(), sender=self.sender)


def answer_of(price: Decimal) -> int:
    return int(price.scaleb(FEED_DECIMALS))


def deploy_basket(project, admin, timelock, params: list[tuple], name="Strategic Minerals Basket",
                  symbol="SMB", decimals=0):
    """A BasketToken behind a StockpileProxy. params: (token, units, feed, heartbeat) per component."""
    impl = admin.deploy(project.BasketToken)
    init = (name, symbol, decimals, admin.address, 86_400, timelock.address, params)
    proxy = admin.deploy(project.StockpileProxy, impl.address, impl.initialize.encode_input(init))
    return project.BasketToken.at(proxy.address)


def build_basket_stack(project, accounts, chain, components=COMPONENTS) -> BasketStack:
    admin, pauser, protector, compliance, minter, alice, bob, carol, stranger = accounts[:9]
    timelock = admin.deploy(project.StockpileTimelock, TIMELOCK_DELAY, [admin.address], [admin.address],
                            ZERO_ADDRESS)
    hub = admin.deploy(project.PriceFeed, admin, 0, admin, [Account.from_key(k).address for k in ORACLE_KEYS],
                       ORACLE_F)
    comps = []
    for symbol, code, dec, units, _price in components:
        att_impl = admin.deploy(project.ReserveAttestor)
        att_data = att_impl.initialize.encode_input(
            code, dec, [Account.from_key(k).address for k in ATTESTOR_KEYS], 3, admin.address, 86_400,
            timelock.address)
        attestor = project.ReserveAttestor.at(admin.deploy(project.StockpileProxy, att_impl.address, att_data).address)
        token = deploy_token(project, admin, timelock.address, attestor.address, name=f"Stockpile {symbol}",
                             symbol=symbol, decimals=dec, product_code=code, unit_description=f"{code} unit",
                             minimum_redemption=0)
        for role, who in (("MINTER_ROLE", minter), ("ASSET_PROTECTION_ROLE", protector),
                          ("PAUSER_ROLE", pauser), ("COMPLIANCE_ROLE", compliance)):
            token.grantRole(getattr(token, role)(), who, sender=admin)
        token.setMinterLimit(minter, 10**38, 0, sender=admin)
        Attest(attestor, chain, admin, chain.chain_id)(10**38)
        fid = feed_id(f"{symbol}/USD")
        hub.addFeed(fid, FEED_DECIMALS, f"{symbol} / USD per unit", 1, 10**20, HEARTBEAT, MAX_REPORT_AGE,
                    sender=admin)
        adapter = project.PriceFeedAdapter.at(hub.adapterOf(fid))
        comps.append(Component(symbol, token, attestor, adapter, fid, units, dec))
    basket = deploy_basket(project, admin, timelock, [(c.token.address, c.units, c.adapter.address, HEARTBEAT)
                                                      for c in comps])
    nav = admin.deploy(project.BasketNavFeed, basket.address)
    for role, who in (("ASSET_PROTECTION_ROLE", protector), ("PAUSER_ROLE", pauser),
                      ("COMPLIANCE_ROLE", compliance)):
        basket.grantRole(getattr(basket, role)(), who, sender=admin)
    s = BasketStack(basket, nav, hub, timelock, comps, admin, pauser, protector, compliance, minter, alice, bob,
                    carol, stranger)
    s.prices = Prices(hub, chain, admin)
    return s


def fund(s: BasketStack, holder, shares: int, label: str = ""):
    """Mint the components for `shares` to `holder` and approve the basket for them."""
    for c in s.components:
        amount = c.units * shares
        c.token.mint(holder, amount, mint_id(f"{label}{holder.address}{c.symbol}{amount}"), sender=s.minter)
        c.token.approve(s.basket.address, amount, sender=holder)


def timelock_call(s: BasketStack, chain, target, data: bytes, salt: bytes = b"\0" * 32):
    """Schedule, wait the delay, execute `target.call(data)` through the timelock."""
    pred = b"\0" * 32
    s.timelock.schedule(target, 0, data, pred, salt, TIMELOCK_DELAY, sender=s.admin)
    chain.pending_timestamp += TIMELOCK_DELAY + 1
    return s.timelock.execute(target, 0, data, pred, salt, sender=s.admin)


SALT = keccak(text="basket authorisation test")


def nonce_of(to, shares: int, salt: bytes) -> bytes:
    """The nonce model: keccak256(abi.encode(to, shares, salt))."""
    return keccak(encode(["address", "uint256", "bytes32"], [str(to), shares, salt]))


def sign_authorizations(s, chain, owner, to, shares, salt=SALT, *, valid_after=0, valid_before=None, values=None):
    """One ReceiveWithAuthorization per component, (value, validAfter, validBefore, v, r, s) in composition order."""
    valid_before = chain.pending_timestamp + 3600 if valid_before is None else valid_before
    nonce = nonce_of(to, shares, salt)
    auths = []
    for i, c in enumerate(s.components):
        value = c.units * shares if values is None else values[i]
        v, r, ss = sign_transfer_authorization(
            owner.private_key, token_name=c.token.name(), chain_id=chain.chain_id, token=c.token.address,
            to=s.basket.address, value=value, valid_after=valid_after, valid_before=valid_before, nonce=nonce,
            kind="ReceiveWithAuthorization")
        auths.append((value, valid_after, valid_before, v, r, ss))
    return auths
