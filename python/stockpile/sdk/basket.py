"""Basket shares (BasketToken): composition, NAV, create / redeem with approvals or permits, holdings.

    smb = sp.basket("SMB")
    smb.composition()                    # components, units per share
    smb.nav().nav                        # USD per whole share, from the basket's NAV feed
    smb.create(3)                        # approves exactly what is missing, then creates 3 shares
    smb.create(3, permit=True)           # one EIP-2612 permit per component instead of approvals
    smb.create(3, method="authorization")  # one EIP-3009 ReceiveWithAuthorization per component, one tx
    signed = smb.sign_authorizations(3)  # ... or signed here and relayed by anyone: relayer.submit_authorizations(signed)
    smb.redeem(1)
    smb.holding(sp.address).value_usd

Shares: ``int`` = basket base units, ``Decimal`` = whole shares (same rule as product quantities).
Contract reverts arrive as ``stockpile.sdk.errors`` exceptions (``errors.ComponentPaused``...).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from eth_abi import encode

from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from stockpile.sdk import errors
from stockpile.core.eth import PERMIT_TYPE, typed_data
from stockpile.sdk.models import (
    Balance, BasketBacking, BasketComponentInfo, BasketHolding, BasketInfo, ComponentValue, Nav, Price,
)
from stockpile.sdk.transactions import call_translating
from stockpile.sdk.units import from_units, to_units

if TYPE_CHECKING:
    from stockpile.sdk.client import Stockpile

PERMIT_TTL = 3600  # seconds a permit (or an EIP-3009 authorisation) signed by create() stays valid
CREATE_METHODS = ("approve", "permit", "authorization")
CreateMethod = Literal["approve", "permit", "authorization"]


class BasketClient:
    """One basket: its BasketToken proxy and (when known) its BasketNavFeed."""

    def __init__(self, sp: Stockpile, address: str, nav_feed: str | None = None):
        self.sp = sp
        self.token = sp._contract("basket", to_checksum_address(address))
        self.nav_feed = sp._contract("nav", to_checksum_address(nav_feed)) if nav_feed else None
        self.symbol = self.token.functions.symbol().call()
        self.decimals = self.token.functions.decimals().call()
        self._components: list[BasketComponentInfo] | None = None

    # -- quantities ------------------------------------------------------------------------
    def shares(self, shares: Decimal | int | str) -> int:
        """Whole shares (Decimal/str) or base units (int) -> base units."""
        return to_units(shares, self.decimals)

    def amount(self, units: int) -> Decimal:
        return from_units(units, self.decimals)

    # -- reads -----------------------------------------------------------------------------
    def composition(self) -> list[BasketComponentInfo]:
        if self._components is None:
            by_token = self.sp._symbols_by_token()
            out = []
            for token, units, feed, heartbeat, token_decimals, _feed_decimals in \
                    self.token.functions.composition().call():
                symbol = by_token.get(token.lower()) or self._erc20(token).functions.symbol().call()
                out.append(BasketComponentInfo(
                    symbol=symbol, token=token, units=units,
                    amount_per_share=Decimal(units).scaleb(self.decimals - token_decimals), decimals=token_decimals,
                    feed=feed if int(feed, 16) else None, heartbeat=heartbeat))
            self._components = out
        return self._components

    def info(self) -> BasketInfo:
        return BasketInfo(symbol=self.symbol, name=self.token.functions.name().call(), address=self.token.address,
                          decimals=self.decimals, nav_feed=self.nav_feed.address if self.nav_feed else None,
                          components=self.composition())

    def total_supply(self) -> int:
        return int(self.token.functions.totalSupply().call())

    def balance(self, holder: str) -> Balance:
        holder = to_checksum_address(holder)
        units = self.token.functions.balanceOf(holder).call()
        frozen = self.token.functions.getFrozenTokens(holder).call()
        return Balance(symbol=self.symbol, holder=holder, units=units, amount=self.amount(units), frozen_units=frozen)

    def amounts_for(self, shares: Decimal | int | str) -> dict[str, int]:
        """Component base units that ``shares`` stand for (deposit on create, payout on redeem), by symbol."""
        n = self.shares(shares)
        return {c.symbol: c.units * n for c in self.composition()}

    def backing(self) -> list[BasketBacking]:
        """Per component: held by the basket vs totalSupply x units (equal unless tokens were donated)."""
        supply = self.total_supply()
        out = []
        for c in self.composition():
            held = self._erc20(c.token).functions.balanceOf(self.token.address).call()
            required = supply * c.units
            out.append(BasketBacking(symbol=c.symbol, token=c.token, held=held, required=required,
                                     surplus=max(0, held - required), backed=held >= required))
        return out

    def nav(self) -> Nav:
        """NAV per whole share from the NAV feed (raises the feed's error naming a missing or stale
        component, e.g. ``errors.ComponentPriceStale``), with each component's price and value per share."""
        if self.nav_feed is None:
            raise errors.StockpileError(f"basket {self.symbol}: no NAV feed known (connect with the manifest)")
        feed = self.nav_feed
        round_id, answer, _, updated_at, _ = call_translating(lambda: feed.functions.latestRoundData().call(), feed.abi)
        decimals = feed.functions.decimals().call()
        parts = []
        for c in self.composition():
            price = self._component_price(c)
            parts.append(ComponentValue(symbol=c.symbol, amount_per_share=c.amount_per_share, price=price,
                                        value_per_share=c.amount_per_share * price.price))
        return Nav(symbol=self.symbol, nav=from_units(answer, decimals), answer=answer, decimals=decimals,
                   round_id=round_id, updated_at=updated_at, components=parts)

    def holding(self, holder: str) -> BasketHolding:
        bal = self.balance(holder)
        try:
            nav = self.nav()
        except errors.ContractError:
            return BasketHolding(balance=bal, nav=None, value_usd=None)
        return BasketHolding(balance=bal, nav=nav, value_usd=bal.amount * nav.nav)

    # -- writes ----------------------------------------------------------------------------
    def approve_components(self, shares: Decimal | int | str) -> list[Any]:
        """Approve the basket for exactly what ``shares`` need, for every component whose allowance is short."""
        n = self.shares(shares)
        owner = self._me()
        receipts = []
        for c in self.composition():
            erc20 = self._erc20(c.token)
            need = c.units * n
            if erc20.functions.allowance(owner, self.token.address).call() < need:
                receipts.append(self.sp.send(erc20.functions.approve(self.token.address, need)))
        return receipts

    def create(self, shares: Decimal | int | str, to: str | None = None, permit: bool = False,
               method: CreateMethod | None = None) -> Any:
        """Deposit the components for ``shares`` and mint them to ``to`` (default: this account).
        ``method="approve"`` (the default) approves what is missing first; ``"permit"`` (or ``permit=True``)
        signs one EIP-2612 permit per component and sends a single transaction; ``"authorization"`` signs one
        EIP-3009 ReceiveWithAuthorization per component (no allowance at all) and sends
        ``createWithAuthorizations``."""
        method = method or ("permit" if permit else "approve")
        if method not in CREATE_METHODS:
            raise errors.StockpileError(f"create method must be one of {', '.join(CREATE_METHODS)}, got {method!r}")
        n = self.shares(shares)
        to = to_checksum_address(to or self._me())
        self._check_balances(n)
        if method == "authorization":
            return self.submit_authorizations(self.sign_authorizations(n, to))
        if method == "approve":
            self.approve_components(n)
            return self.sp.send(self.token.functions.create(n, to))
        return self.sp.send(self.token.functions.createWithPermits(n, to, self.sign_permits(n)))

    def authorization_nonce(self, to: str, shares: int, salt: bytes) -> bytes:
        """The EIP-3009 nonce of every component authorisation of one ``createWithAuthorizations``:
        ``keccak256(abi.encode(to, shares, salt))`` (the contract's ``authorizationNonce``): it binds the
        authorisations to the receiver of the shares and their number."""
        return keccak(encode(["address", "uint256", "bytes32"], [to_checksum_address(to), shares, salt]))

    def sign_authorizations(self, shares: Decimal | int | str, to: str | None = None, salt: bytes | None = None,
                            valid_before: int | None = None, valid_after: int = 0) -> dict[str, Any]:
        """One EIP-3009 ReceiveWithAuthorization per component (composition order), signed by this client's
        account for exactly ``units x shares``, payee the basket; nothing is sent. Returns the arguments of
        ``createWithAuthorizations`` as a dict that any account may submit with ``submit_authorizations``
        (the shares can only go to ``to``). ``salt``: 32 random bytes unless given."""
        account = self.sp.account
        if account is None:
            raise errors.StockpileError("this client has no account to sign authorisations with")
        n = self.shares(shares)
        to = to_checksum_address(to or account.address)
        salt = os.urandom(32) if salt is None else salt
        if valid_before is None:
            valid_before = self.sp.w3.eth.get_block("latest")["timestamp"] + PERMIT_TTL
        nonce = self.authorization_nonce(to, n, salt)
        products = self.sp._symbols_by_token()
        auths = []
        for c in self.composition():
            if c.token.lower() not in products:
                raise errors.StockpileError(f"basket {self.symbol}: component {c.symbol} ({c.token}) is not a "
                                            "product of this deployment; cannot sign its authorisation")
            a = self.sp.product(products[c.token.lower()]).sign_transfer_authorization(
                account, self.token.address, c.units * n, valid_before, valid_after, nonce, receive=True)
            auths.append((a["value"], a["valid_after"], a["valid_before"], a["v"], a["r"], a["s"]))
        return {"shares": n, "to": to, "payer": account.address, "salt": salt, "authorizations": auths}

    def submit_authorizations(self, signed: dict[str, Any]) -> Any:
        """Send ``createWithAuthorizations`` with what ``sign_authorizations`` returned (any account pays the gas)."""
        return self.sp.send(self.token.functions.createWithAuthorizations(
            signed["shares"], signed["to"], signed["payer"], signed["salt"], signed["authorizations"]))

    def sign_permits(self, shares: Decimal | int | str, deadline: int | None = None) -> list[tuple[Any, ...]]:
        """(deadline, v, r, s) per component, signed by this client's account, for ``createWithPermits``."""
        account = self.sp.account
        if account is None:
            raise errors.StockpileError("this client has no account to sign permits with")
        n = self.shares(shares)
        if deadline is None:
            deadline = self.sp.w3.eth.get_block("latest")["timestamp"] + PERMIT_TTL
        out = []
        for c in self.composition():
            erc20 = self._erc20(c.token)
            typed = typed_data(erc20.functions.name().call(), "1", self.sp.chain_id, erc20.address, "Permit",
                               {"Permit": PERMIT_TYPE},
                               {"owner": account.address, "spender": self.token.address, "value": c.units * n,
                                "nonce": erc20.functions.nonces(account.address).call(), "deadline": deadline})
            signed = account.sign_message(encode_typed_data(full_message=typed))
            out.append((deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")))
        return out

    def redeem(self, shares: Decimal | int | str, to: str | None = None) -> Any:
        """Burn ``shares`` of this account; ``to`` (default: this account) receives exactly the components."""
        n = self.shares(shares)
        return self.sp.send(self.token.functions.redeem(n, to_checksum_address(to or self._me())))

    def transfer(self, to: str, shares: Decimal | int | str) -> Any:
        return self.sp.send(self.token.functions.transfer(to_checksum_address(to), self.shares(shares)))

    # -- plumbing --------------------------------------------------------------------------
    def _check_balances(self, n: int) -> None:
        """Name the component the account lacks before sending (the contract's revert would be the
        component's ERC20InsufficientBalance, which does not say which component)."""
        me = self._me()
        for c in self.composition():
            have = self._erc20(c.token).functions.balanceOf(me).call()
            if have < c.units * n:
                raise errors.StockpileError(
                    f"basket {self.symbol}: {n} share(s) need {c.units * n} {c.symbol} base units, "
                    f"{me} holds {have}")

    def _me(self) -> str:
        if self.sp.address is None:
            raise errors.StockpileError("this client has no account: connect(..., account=...) to send transactions")
        return self.sp.address

    def _erc20(self, address: str) -> Contract:
        return self.sp._contract("erc20", to_checksum_address(address))

    def _component_price(self, c: BasketComponentInfo) -> Price:
        """The component's price from the feed the basket records for it (the one its NAV uses)."""
        if c.feed is None:
            raise errors.StockpileError(f"basket {self.symbol}: component {c.symbol} has no price feed")
        feed = self.sp._contract("feed", c.feed)
        round_id, answer, _, updated_at, _ = call_translating(lambda: feed.functions.latestRoundData().call(), feed.abi)
        decimals = feed.functions.decimals().call()
        now = self.sp.w3.eth.get_block("latest")["timestamp"]
        age = max(0, now - updated_at)
        return Price(symbol=c.symbol, feed=c.feed, description=feed.functions.description().call(), round_id=round_id,
                     answer=answer, decimals=decimals, price=from_units(answer, decimals), updated_at=updated_at,
                     age=age, heartbeat=c.heartbeat, stale=updated_at == 0 or age > c.heartbeat)
