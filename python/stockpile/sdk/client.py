"""The Stockpile SDK: a thin typed client over web3.py and eth-account (no ape needed).

    from stockpile.sdk import Stockpile, accounts
    sp = Stockpile.connect("http://127.0.0.1:8545", directory="0x...",
                           account=accounts.from_env("env:WALLET_KEY"))
    ndpr = sp.product("NDPR")
    ndpr.balance(sp.address).amount          # Decimal, product units
    ndpr.transfer("0x...", Decimal("12.5"))  # Decimal = product units, int = base units
    ndpr.holding(sp.address).value_usd       # from the reference price feed

Contract reverts are raised as ``stockpile.sdk.errors`` exceptions named after the Solidity
error (``errors.ReserveExceeded``...).
"""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from collections.abc import Callable, Iterator, Mapping, ValuesView

from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TopicFilter

from stockpile.contracts import load
from stockpile.merkle import Lot, lot_tree, verify_proof
from stockpile.merkle.lots import lot_leaf
from stockpile.sdk import errors, rpc
from stockpile.core.eth import PERMIT_TYPE, typed_data
from stockpile.sdk.models import (
    AttestationView,
    Balance,
    HistoryEvent,
    HistoryPage,
    Holding,
    Price,
    ProductInfo,
    RedemptionRequest,
    ReserveStatus,
)
from stockpile.sdk.transactions import Sender, call_translating
from stockpile.sdk.units import from_units, to_units

if TYPE_CHECKING:
    from stockpile.sdk.basket import BasketClient

REDEMPTION_STATUS = {0: "none", 1: "pending", 2: "completed", 3: "rejected", 4: "cancelled", 5: "processing"}
HOLDER_EVENTS = ("Transfer", "Minted", "RedemptionRequested", "RedemptionAccepted", "RedemptionCompleted",
                 "RedemptionRejected",
                 "RedemptionCancelled", "AddressFrozen", "Frozen", "ForcedTransfer")


class SdkError(errors.StockpileError):
    pass


def _b32(value: bytes | str | None) -> bytes:
    if value is None:
        return bytes(32)
    if isinstance(value, str):
        if value.startswith("0x") and len(value) == 66:
            return bytes.fromhex(value[2:])
        return Web3.keccak(text=value)  # a human reference (order number...) is hashed
    if len(value) != 32:
        raise SdkError("expected 32 bytes")
    return bytes(value)


class _Functions:
    """``contract.functions`` of one contract, each function taken from a contract object over that function's
    ABI entries and the contract's errors (a revert decodes as before): web3 builds an object over the whole
    CommodityToken ABI in ~20 ms CPU (time growing with the square of its functions), over one function in
    well under 1 ms, and a command calls a few."""

    def __init__(self, sp: Stockpile, kind: str, address: str):
        self._sp, self._kind = sp, kind
        self.address = to_checksum_address(address)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._sp._function(self._kind, self.address, name)


class ProductClient:
    """One product: its token, reserve attestor and price feed."""

    def __init__(self, sp: Stockpile, info: ProductInfo):
        self.sp = sp
        self.info = info
        # what the methods below call: each function over its own ABI entries (_Functions)
        self._token = _Functions(sp, "token", info.token)
        self._attestor = _Functions(sp, "attestor", info.attestor) if info.attestor else None

    @functools.cached_property
    def token(self) -> Contract:
        """The product's token (CommodityToken with its EIP-3009 functions), as a web3 contract; built when first used."""
        return self.sp._contract("token", self.info.token)

    @functools.cached_property
    def attestor(self) -> Contract | None:
        """The product's ReserveAttestor (None if it has none); built when first used."""
        return self.sp._contract("attestor", self.info.attestor) if self.info.attestor else None

    @functools.cached_property
    def feed(self) -> Contract | None:
        """The product's reference price feed (None if it has none); built when first used."""
        return self.sp._contract("feed", self.info.feed) if self.info.feed else None

    @property
    def symbol(self) -> str:
        return self.info.symbol

    def units(self, amount: Decimal | int | str) -> int:
        return to_units(amount, self.info.decimals)

    def amount(self, units: int) -> Decimal:
        return from_units(units, self.info.decimals)

    # -- reads ----------------------------------------------------------------------------
    def balance(self, holder: str) -> Balance:
        holder = to_checksum_address(holder)
        units = self._token.balanceOf(holder).call()
        frozen = self._token.getFrozenTokens(holder).call()
        return Balance(symbol=self.symbol, holder=holder, units=units, amount=self.amount(units), frozen_units=frozen)

    def total_supply(self) -> int:
        return int(self._token.totalSupply().call())

    def price(self) -> Price | None:
        if self.feed is None:
            return None
        feed = self.feed  # a name for the lambda: mypy does not narrow an attribute inside it
        try:
            round_id, answer, _, updated_at, _ = call_translating(lambda: feed.functions.latestRoundData().call(),
                                                                  self.feed.abi)
        except errors.error_class("NoDataPresent"):
            return None  # no price published yet
        decimals = self.feed.functions.decimals().call()
        description = self.feed.functions.description().call()
        heartbeat = None
        for name in ("heartbeat", "heartbeatSeconds"):
            if any(i.get("name") == name for i in self.sp.feed_abi):
                heartbeat = getattr(self.feed.functions, name)().call()
                break
        now = self.sp.w3.eth.get_block("latest")["timestamp"]
        age = max(0, now - updated_at)
        return Price(symbol=self.symbol, feed=self.feed.address, description=description, round_id=round_id,
                     answer=answer, decimals=decimals, price=from_units(answer, decimals), updated_at=updated_at,
                     age=age, heartbeat=heartbeat, stale=(updated_at == 0) or (heartbeat is not None and age > heartbeat))

    def holding(self, holder: str) -> Holding:
        bal = self.balance(holder)
        price = self.price()
        value = None if price is None or price.updated_at == 0 else bal.amount * price.price
        return Holding(balance=bal, price=price, value_usd=value, stale_price=price is None or price.stale)

    def redemption(self, request_id: int) -> RedemptionRequest:
        r = call_translating(lambda: self._token.getRedemption(request_id).call(), _token_abi())
        holder, requested_at, status, amount, ref = r
        return RedemptionRequest(id=request_id, holder=holder, units=amount, amount=self.amount(amount),
                                 status=REDEMPTION_STATUS.get(status, str(status)), delivery_ref="0x" + bytes(ref).hex(),
                                 requested_at=requested_at)

    def attestation(self) -> AttestationView | None:
        if self._attestor is None:
            return None
        att, round_id, attested_at = self._attestor.latestAttestation().call()
        if round_id == 0:
            return None
        root, total, count, as_of, report = att
        return AttestationView(round_id=round_id, merkle_root="0x" + bytes(root).hex(), total_quantity=total,
                               lot_count=count, as_of=as_of, attested_at=attested_at, report_hash="0x" + bytes(report).hex())

    def reserve_status(self) -> ReserveStatus:
        """Is every token backed? totalSupply (incl. escrow) plus what was burned (delivered) since the
        attestation's as-of time, against the latest attested total - the rule secure mint enforces."""
        supply = self.total_supply()
        escrowed = self._token.totalEscrowed().call()
        max_age = self._token.maxAttestationAge().call()
        att = self.attestation()
        now = self.sp.w3.eth.get_block("latest")["timestamp"]
        total = att.total_quantity if att else 0
        age = (now - att.as_of) if att else None
        burned = self._token.burnedSince(att.as_of).call() if att else 0
        return ReserveStatus(symbol=self.symbol, total_supply=supply, escrowed=escrowed, attested_total=total,
                             attestation=att, attestation_age=age, max_attestation_age=max_age,
                             burned_since_attestation=burned,
                             backed=supply + burned <= total, stale=att is None or age > max_age,
                             collateralization=(Decimal(total) / Decimal(supply)) if supply else None)

    def verify_lot(self, lot: Lot | tuple[Any, ...], proof: list[bytes | str]) -> bool:
        """Is ``lot`` in the latest attested reserve? Checked locally against the attested root
        and on chain by the attestor's ``verifyLeaf`` (both must agree)."""
        att = self.attestation()
        if att is None or self._attestor is None:  # no attestor: no attestation either
            return False
        values = lot.as_tuple() if isinstance(lot, Lot) else tuple(lot)
        leaf = lot_leaf(values)
        proof_b = [bytes.fromhex(p[2:]) if isinstance(p, str) else bytes(p) for p in proof]
        local = verify_proof(leaf, proof_b, bytes.fromhex(att.merkle_root[2:]))
        onchain = self._attestor.verifyLeaf(leaf, proof_b).call()
        if local != onchain:
            raise SdkError(f"lot proof verified {'locally' if local else 'on chain'} only: root changed meanwhile?")
        return local

    def history(self, holder: str, from_block: int = 0, to_block: int | None = None,
                page_size: int = 1000, block_span: int = 100_000) -> HistoryPage:
        """Events touching ``holder`` (transfers in and out, mints, redemptions, freezes), oldest
        first, at most about ``page_size`` per page; pass ``next_cursor`` as ``from_block`` for the next."""
        w3 = self.sp.w3
        head = w3.eth.block_number if to_block is None else to_block
        topic = "0x" + "00" * 12 + to_checksum_address(holder)[2:].lower()
        events: list[HistoryEvent] = []
        start = from_block
        while start <= head and len(events) < page_size:
            end = min(head, start + block_span - 1)
            events.extend(self._holder_events(topic, start, end))
            start = end + 1
        events.sort(key=lambda e: (e.block_number, e.log_index))
        return HistoryPage(events=events, next_cursor=start if start <= head else None)

    def iter_history(self, holder: str, from_block: int = 0, **kw: Any) -> Iterator[HistoryEvent]:
        cursor: int | None = from_block
        to_block = kw.pop("to_block", None) or self.sp.w3.eth.block_number
        while cursor is not None:
            page = self.history(holder, cursor, to_block=to_block, **kw)
            yield from page.events
            cursor = page.next_cursor

    def _holder_events(self, topic: str, start: int, end: int) -> list[HistoryEvent]:
        w3 = self.sp.w3
        sigs = self.sp.event_topics
        addr = self._token.address
        queries: list[list[TopicFilter]] = [
            [sigs["Transfer"], topic],  # sent
            [sigs["Transfer"], None, topic],  # received
            [[sigs[n] for n in ("RedemptionRequested", "RedemptionAccepted", "RedemptionCompleted",
                                "RedemptionRejected", "RedemptionCancelled", "Minted") if n in sigs], None, topic],
        ]
        seen: dict[tuple[str, int], HistoryEvent] = {}
        for topics in queries:
            for log in w3.eth.get_logs({"address": addr, "fromBlock": start, "toBlock": end, "topics": topics}):
                key = (Web3.to_hex(log["transactionHash"]), log["logIndex"])
                if key in seen:
                    continue
                seen[key] = self.sp.decode_log(self.token, log)
        return list(seen.values())

    # -- holder writes -------------------------------------------------------------------
    def transfer(self, to: str, amount: Decimal | int | str) -> Any:
        return self.sp.send(self._token.transfer(to_checksum_address(to), self.units(amount)))

    def approve(self, spender: str, amount: Decimal | int | str) -> Any:
        return self.sp.send(self._token.approve(to_checksum_address(spender), self.units(amount)))

    def sign_permit(self, owner: LocalAccount, spender: str, amount: Decimal | int | str, deadline: int) -> dict[str, Any]:
        """EIP-2612 permit signed with eth-account typed-data signing (nothing is sent)."""
        value = self.units(amount)
        nonce = self._token.nonces(owner.address).call()
        domain = self._token.eip712Domain().call()
        _, name, version, chain_id, verifying, _, _ = domain
        message = typed_data(name, version, chain_id, verifying, "Permit", {"Permit": PERMIT_TYPE},
                             {"owner": owner.address, "spender": to_checksum_address(spender), "value": value,
                              "nonce": nonce, "deadline": deadline})
        signed = owner.sign_message(encode_typed_data(full_message=message))
        return {"owner": owner.address, "spender": to_checksum_address(spender), "value": value, "deadline": deadline,
                "v": signed.v, "r": signed.r.to_bytes(32, "big"), "s": signed.s.to_bytes(32, "big")}

    def sign_transfer_authorization(self, owner: LocalAccount, to: str, amount: Decimal | int | str,
                                    valid_before: int, valid_after: int = 0, nonce: bytes | str | None = None,
                                    receive: bool = False) -> dict[str, Any]:
        """EIP-3009 TransferWithAuthorization (``receive``: ReceiveWithAuthorization, only the payee may
        submit it) signed with eth-account typed-data signing; nothing is sent. ``nonce``: 32 random bytes
        unless given (a reference string is hashed)."""
        import os

        from stockpile.token.eip3009 import sign_transfer_authorization

        value = self.units(amount)
        nonce_b = os.urandom(32) if nonce is None else _b32(nonce)
        _, name, _version, chain_id, verifying, _, _ = self._token.eip712Domain().call()
        v, r, s = sign_transfer_authorization(
            owner.key, token_name=name, chain_id=chain_id, token=verifying, to=to_checksum_address(to), value=value,
            valid_after=valid_after, valid_before=valid_before, nonce=nonce_b,
            kind="ReceiveWithAuthorization" if receive else "TransferWithAuthorization")
        return {"from": owner.address, "to": to_checksum_address(to), "value": value, "valid_after": valid_after,
                "valid_before": valid_before, "nonce": nonce_b, "v": v, "r": r, "s": s, "receive": receive}

    def submit_transfer_authorization(self, auth: dict[str, Any]) -> Any:
        """Send a signed EIP-3009 authorization (anyone for a transfer; the payee for a receive)."""
        fn = self._token.receiveWithAuthorization if auth["receive"] else \
            self._token.transferWithAuthorization
        return self.sp.send(fn(auth["from"], auth["to"], auth["value"], auth["valid_after"], auth["valid_before"],
                               auth["nonce"], auth["v"], auth["r"], auth["s"]))

    def authorization_used(self, authorizer: str, nonce: bytes | str) -> bool:
        """Whether an EIP-3009 nonce of ``authorizer`` was used or cancelled."""
        return bool(self._token.authorizationState(to_checksum_address(authorizer), _b32(nonce)).call())

    def submit_permit(self, permit: dict[str, Any]) -> Any:
        return self.sp.send(self._token.permit(permit["owner"], permit["spender"], permit["value"],
                                                        permit["deadline"], permit["v"], permit["r"], permit["s"]))

    def transfer_from(self, owner: str, to: str, amount: Decimal | int | str) -> Any:
        return self.sp.send(self._token.transferFrom(to_checksum_address(owner), to_checksum_address(to),
                                                              self.units(amount)))

    def request_redemption(self, amount: Decimal | int | str, delivery_ref: bytes | str) -> RedemptionRequest:
        receipt = self.sp.send(self._token.requestRedemption(self.units(amount), _b32(delivery_ref)))
        (event,) = self.token.events.RedemptionRequested().process_receipt(receipt, errors=DISCARD)
        return self.redemption(event["args"]["id"])

    def cancel_redemption(self, request_id: int) -> RedemptionRequest:
        self.sp.send(self._token.cancelRedemption(request_id))
        return self.redemption(request_id)

    # -- operator writes (need the roles) ------------------------------------------------------
    def mint(self, to: str, amount: Decimal | int | str, mint_id: bytes | str) -> Any:
        """Mint against the attested reserve. ``mint_id`` (32 bytes, or a reference string that is
        hashed) makes the mint idempotent: the same id is refused with ``MintIdUsed``."""
        return self.sp.send(self._token.mint(to_checksum_address(to), self.units(amount), _b32(mint_id)))

    def accept_redemption(self, request_id: int) -> RedemptionRequest:
        """Operator: take a pending request into processing (the material is being delivered). From here
        the holder can no longer cancel; the operator completes (burn) or rejects (refund) it."""
        self.sp.send(self._token.acceptRedemption(request_id))
        return self.redemption(request_id)

    def complete_redemption(self, request_id: int) -> RedemptionRequest:
        """Operator: burn the escrow of an accepted (processing) request: delivery done."""
        self.sp.send(self._token.completeRedemption(request_id))
        return self.redemption(request_id)

    def reject_redemption(self, request_id: int, reason: bytes | str) -> RedemptionRequest:
        self.sp.send(self._token.rejectRedemption(request_id, _b32(reason)))
        return self.redemption(request_id)

    def freeze(self, account: str, frozen: bool = True) -> Any:
        return self.sp.send(self._token.setAddressFrozen(to_checksum_address(account), frozen))

    def freeze_amount(self, account: str, amount: Decimal | int | str) -> Any:
        return self.sp.send(self._token.setFrozenTokens(to_checksum_address(account), self.units(amount)))

    def attest(self, lots: list[Lot | tuple[Any, ...]], as_of: int, report: bytes | str, signers: list[LocalAccount]) -> AttestationView:
        """Build the lot tree, collect the attestors' EIP-712 signatures and submit."""
        tree = lot_tree(lots)
        total = sum(int(v[5]) for v in tree.values)
        return self.attest_root(tree.root, total, len(tree), as_of, report, signers)

    def attest_root(self, merkle_root: bytes | str, total_quantity: int, lot_count: int, as_of: int,
                    report: bytes | str, signers: list[LocalAccount]) -> AttestationView:
        """Submit an attestation of a lot list whose root was computed elsewhere (by the custodian)."""
        from stockpile.reserve.models import Attestation, report_hash
        from stockpile.reserve.signing import signed_attest_args

        if self._attestor is None:
            raise SdkError(f"{self.symbol} has no reserve attestor")
        att = Attestation(merkle_root=merkle_root, total_quantity=total_quantity, lot_count=lot_count, as_of=as_of,
                          report_hash=report_hash(report))
        digest = self._attestor.configDigest().call()
        self.sp.send(self._attestor.attest(
            *signed_attest_args(signers, self.sp.chain_id, self._attestor.address, att, digest)))
        return cast(AttestationView, self.attestation())  # the round just attested

    def pause(self) -> Any:
        """Guardian (PAUSER_ROLE): stop every transfer, mint and redemption. Immediate; only the admin unpauses."""
        return self.sp.send(self._token.pause())

    def unpause(self) -> Any:
        """Admin (DEFAULT_ADMIN_ROLE): lift a pause."""
        return self.sp.send(self._token.unpause())

    def pause_minting(self) -> Any:
        """Guardian (PAUSER_ROLE): stop minting only (transfers and redemptions go on); only the admin resumes it."""
        return self.sp.send(self._token.pauseMinting())

    def unpause_minting(self) -> Any:
        """Admin (DEFAULT_ADMIN_ROLE): resume minting."""
        return self.sp.send(self._token.unpauseMinting())

    def paused(self) -> bool:
        return bool(self._token.paused().call())

    def minting_paused(self) -> bool:
        return bool(self._token.mintingPaused().call())

    def allowlist(self, account: str, allowed: bool = True) -> Any:
        """Add (or remove) a permitted holder, for products in allowlist mode (COMPLIANCE role)."""
        return self.sp.send(self._token.setAllowlisted(to_checksum_address(account), allowed))

    def holders(self, from_block: int = 0) -> dict[str, int]:
        """Every address with a non-zero balance (base units), from the Transfer events."""
        balances: dict[str, int] = {}
        logs = self.token.events.Transfer.get_logs(from_block=from_block)
        for log in logs:
            a = log["args"]
            sender, to, value = a["from"], a["to"], a["value"]
            if int(sender, 16):
                balances[sender] = balances.get(sender, 0) - value
            if int(to, 16):
                balances[to] = balances.get(to, 0) + value
        escrow = self._token.address
        return {k: v for k, v in balances.items() if v and k != escrow}

    def lot_proof(self, lots: list[Lot | tuple[Any, ...]], index: int) -> list[bytes]:
        return lot_tree(lots).proof(index)


class Stockpile:
    """Entry point: products discovered from a Directory contract or a deployment manifest."""

    def __init__(self, w3: Web3, products: Mapping[str, ProductInfo], account: LocalAccount | None = None,
                 directory: str | None = None, baskets: dict[str, tuple[str, str | None]] | None = None):
        self.w3 = w3
        self._baskets = dict(baskets or {})  # symbol -> (BasketToken address, BasketNavFeed address or None)
        _cache_chain_id(w3)
        self.account = account
        self.directory = directory
        self._products = products
        self._sender = Sender(w3, account) if account else None
        self.chain_id = w3.eth.chain_id
        self.feed_abi = _feed_abi()
        self.event_topics = {
            item["name"]: Web3.to_hex(Web3.keccak(text=f"{item['name']}({','.join(errors._abi_type(i) for i in item['inputs'])})"))
            for item in _token_abi() if item.get("type") == "event"
        }
        self._clients: dict[str, ProductClient] = {}
        # web3 contract objects by (kind, address), and their factories by kind, shared with with_account():
        # web3 spends ~10 ms CPU on each object over a large ABI (CommodityToken's), twice that without the factory
        self._contracts: dict[tuple[str, str], Contract] = {}
        self._factories: dict[str, type[Contract]] = {}

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def connect(cls, rpc_url: str | Web3, directory: str | None = None, manifest: str | Path | dict[str, Any] | None = None,
                account: LocalAccount | None = None) -> Stockpile:
        w3 = rpc_url if isinstance(rpc_url, Web3) else rpc.connect(rpc_url)
        from_manifest: dict[str, tuple[str, str | None]] = {}
        if manifest is not None:
            data = manifest if isinstance(manifest, dict) else json.loads(Path(manifest).read_text())
            directory = directory or data["contracts"]["directory"]["address"]
            from_manifest = _baskets_from_manifest(data)
        if directory is None:
            raise SdkError("give a Directory address or a deployment manifest")
        _cache_chain_id(w3)  # before the Directory is read
        products = _products_from_directory(w3, directory)
        baskets = {**from_manifest, **_baskets_from_directory(w3, directory)}  # the Directory's entry wins
        return cls(w3, products, account, directory, baskets)

    @property
    def address(self) -> str | None:
        return self.account.address if self.account else None

    def products(self) -> list[ProductInfo]:
        return list(self._products.values())

    def product(self, symbol: str) -> ProductClient:
        if symbol not in self._products:
            raise SdkError(f"unknown product {symbol!r}; known: {sorted(self._products)}")
        if symbol not in self._clients:
            self._clients[symbol] = ProductClient(self, self._products[symbol])
        return self._clients[symbol]

    def with_account(self, account: LocalAccount) -> Stockpile:
        """The same connection acting as another account."""
        other = Stockpile(self.w3, self._products, account, self.directory, self._baskets)
        other._contracts, other._factories = self._contracts, self._factories
        return other

    def baskets(self) -> list[str]:
        """Symbols of the baskets known to this client (from the Directory, the deployment manifest or
        ``add_basket``)."""
        return sorted(self._baskets)

    def add_basket(self, address: str, nav_feed: str | None = None) -> BasketClient:
        """Make a basket known by address (and its NAV feed); returns its client."""
        from stockpile.sdk.basket import BasketClient

        client = BasketClient(self, address, nav_feed)
        self._baskets[client.symbol] = (client.token.address, nav_feed)
        return client

    def basket(self, symbol: str) -> BasketClient:
        """A basket by symbol, e.g. ``sp.basket("SMB")``: composition, NAV, create / redeem, holdings."""
        from stockpile.sdk.basket import BasketClient

        if symbol not in self._baskets:
            raise SdkError(f"unknown basket {symbol!r}; known: {self.baskets()} (registered in the Directory, "
                           "or in the deployment manifest, or add_basket(address, nav_feed))")
        address, nav_feed = self._baskets[symbol]
        return BasketClient(self, address, nav_feed)

    # -- plumbing ------------------------------------------------------------------------------
    def _symbols_by_token(self) -> dict[str, str]:
        """Product symbol by token address (lower case), without reading any token's metadata."""
        products = self._products
        if isinstance(products, _DirectoryProducts):
            return products.symbols_by_token()
        return {info.token.lower(): symbol for symbol, info in products.items()}

    def _function(self, kind: str, address: str, name: str) -> Any:
        """The web3 contract function ``name`` of the ``kind`` contract at ``address`` (see ``_Functions``)."""
        key = (f"{kind}.{name}", address)
        if key not in self._contracts:
            abi = _function_abi(kind, name)
            if not abi:
                raise AttributeError(f"{kind} has no function {name!r}")
            self._contracts[key] = self.w3.eth.contract(address=cast(ChecksumAddress, address), abi=abi)
        return getattr(self._contracts[key].functions, name)

    def _contract(self, kind: str, address: str) -> Contract:
        """The web3 contract of ``kind`` (a key of ``CONTRACT_ABIS``) at ``address``, built once per connection.
        The address is passed on as given (web3 checks it): the cast only names its type."""
        key = (kind, address)
        if key not in self._contracts:
            if kind not in self._factories:
                self._factories[kind] = self.w3.eth.contract(abi=CONTRACT_ABIS[kind]())
            self._contracts[key] = self._factories[kind](address=cast(ChecksumAddress, address))
        return self._contracts[key]

    def send(self, fn: Any) -> Any:
        if self._sender is None:
            raise SdkError("this client has no account: connect(..., account=...) to send transactions")
        return self._sender.transact(fn)

    def decode_log(self, contract: Any, log: Any) -> HistoryEvent:
        topic0 = Web3.to_hex(log["topics"][0])
        name = next((n for n, t in self.event_topics.items() if t == topic0), "Unknown")
        args: dict[str, Any] = {}
        if name != "Unknown":
            decoded = getattr(contract.events, name)().process_log(log)
            args = {k: ("0x" + v.hex() if isinstance(v, (bytes, bytearray)) else v) for k, v in decoded["args"].items()}
        return HistoryEvent(block_number=log["blockNumber"], tx_hash=Web3.to_hex(log["transactionHash"]),
                            log_index=log["logIndex"], event=name, args=args)


def _cache_chain_id(w3: Web3) -> None:
    """web3 asks eth_chainId before every call unless its provider caches it: ask it once."""
    if hasattr(w3.provider, "cache_allowed_requests"):
        w3.provider.cache_allowed_requests = True


def _feed_abi() -> list[dict[str, Any]]:
    """The price feed ABI: our PriceFeed's if built, else Chainlink's AggregatorV3Interface."""
    for name in ("PriceFeedAdapter", "ReserveAttestor"):
        try:
            return load(name).abi
        except FileNotFoundError:
            continue
    raise SdkError("no feed ABI available: run `stockpile build`")


def _baskets_from_manifest(data: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Baskets recorded by the deploy engine: ``baskets.<SYMBOL>`` (BasketToken proxy) and ``.nav``."""
    contracts = data.get("contracts", {})
    out = {}
    for key, rec in contracts.items():
        parts = key.split(".")
        if len(parts) == 2 and parts[0] == "baskets":
            nav = contracts.get(f"{key}.nav")
            out[parts[1]] = (rec["address"], nav["address"] if nav else None)
    return out


def _baskets_from_directory(w3: Web3, directory: str) -> dict[str, tuple[str, str | None]]:
    """Baskets registered in the Directory (symbol -> BasketToken, NAV feed). A Directory deployed before it
    had a basket list answers none (its baskets are then known from the manifest only)."""
    from web3.exceptions import BadFunctionCallOutput, ContractLogicError

    d = w3.eth.contract(address=to_checksum_address(directory), abi=_views("Directory", *DIRECTORY_VIEWS))
    try:
        symbols = d.functions.basketSymbols().call()
    except (ContractLogicError, BadFunctionCallOutput):
        return {}
    found = rpc.read_calls(w3, [d.functions.getBasket(symbol) for symbol in symbols])
    return {symbol: (basket, nav if int(nav, 16) else None) for symbol, (basket, nav) in zip(symbols, found)}


def _token_abi() -> list[dict[str, Any]]:
    """CommodityToken's ABI plus the EIP-3009 functions, events and errors its fallback serves."""
    from stockpile.token.eip3009 import token_abi_with_authorizations

    return token_abi_with_authorizations(load("CommodityToken").abi, load("CommodityTokenAuthorizations").abi)


def _products_from_directory(w3: Web3, directory: str) -> _DirectoryProducts:
    """Every product of the Directory: its addresses now (one JSON-RPC batch), its token's metadata when asked."""
    d = w3.eth.contract(address=to_checksum_address(directory), abi=_views("Directory", *DIRECTORY_VIEWS))
    symbols = d.functions.symbols().call()
    entries = rpc.read_calls(w3, [d.functions.get(symbol) for symbol in symbols])
    return _DirectoryProducts(w3, {symbol: tuple(entry) for symbol, entry in zip(symbols, entries)})


class _DirectoryProducts(Mapping[str, ProductInfo]):
    """The Directory's products by symbol, in its order. Their token, feed and attestor addresses are read at
    connect; each token's name, product code, unit and decimals when that product is first asked for
    (``values()``: all of them, in one JSON-RPC batch). A command on one product reads its four views, not
    four per product of the deployment."""

    def __init__(self, w3: Web3, entries: dict[str, tuple[str, str, str]]):
        self._w3 = w3
        self._entries = entries  # symbol -> (token, feed, attestor)
        self._infos: dict[str, ProductInfo] = {}

    def __getitem__(self, symbol: str) -> ProductInfo:
        if symbol not in self._infos:
            self._read([symbol])
        return self._infos[symbol]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> ValuesView[ProductInfo]:
        self._read([symbol for symbol in self._entries if symbol not in self._infos])
        return super().values()

    def symbols_by_token(self) -> dict[str, str]:
        return {token.lower(): symbol for symbol, (token, _, _) in self._entries.items()}

    def _read(self, symbols: list[str]) -> None:
        entries = [self._entries[symbol] for symbol in symbols]  # KeyError for a symbol the Directory lacks
        token_views = self._w3.eth.contract(abi=_views("CommodityToken", *TOKEN_VIEWS))  # one factory for all
        calls = []
        for token, _, _ in entries:
            functions = token_views(address=cast(ChecksumAddress, token)).functions
            calls += [getattr(functions, view)() for view in TOKEN_VIEWS]
        values = rpc.read_calls(self._w3, calls)
        for i, (symbol, (token, feed, attestor)) in enumerate(zip(symbols, entries)):
            name, product_code, unit, decimals = values[i * len(TOKEN_VIEWS):(i + 1) * len(TOKEN_VIEWS)]
            self._infos[symbol] = ProductInfo(
                symbol=symbol, name=name, product_code=product_code, unit=unit, decimals=decimals, token=token,
                attestor=attestor if int(attestor, 16) else None, feed=feed if int(feed, 16) else None)


# The views connect() reads. A web3 contract object costs time with the square of its ABI's functions
# (~15 ms CPU for CommodityToken's whole ABI, ~0.5 ms for these four), so connect builds its own over
# just these ABI entries (taken from the artifacts, not copied).
DIRECTORY_VIEWS = ("symbols", "get", "basketSymbols", "getBasket")
TOKEN_VIEWS = ("name", "productCode", "unitDescription", "decimals")


# What a basket reads and sends to its components: the ERC-20 (and EIP-2612 nonce) functions of
# CommodityToken's ABI, with all its errors (a revert is decoded with the called contract's names).
ERC20_FUNCTIONS = ("name", "symbol", "decimals", "balanceOf", "allowance", "approve", "nonces")


@functools.cache
def _erc20_abi() -> list[dict[str, Any]]:
    return _views("CommodityToken", *ERC20_FUNCTIONS) + [e for e in load("CommodityToken").abi if e["type"] == "error"]


@functools.cache
def _views(artifact: str, *names: str) -> list[dict[str, Any]]:
    """The ABI entries of the functions ``names`` in ``artifact``'s ABI."""
    return [e for e in load(artifact).abi if e.get("type") == "function" and e.get("name") in names]


CONTRACT_ABIS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "token": _token_abi,
    "attestor": lambda: load("ReserveAttestor").abi,
    "feed": _feed_abi,
    "erc20": _erc20_abi,  # a basket's component, as an ERC-20 with permit
    "basket": lambda: load("BasketToken").abi,
    "nav": lambda: load("BasketNavFeed").abi,
}


@functools.cache
def _function_abi(kind: str, name: str) -> list[dict[str, Any]]:
    """The ABI entries of function ``name`` (its overloads) of a ``kind`` contract, with all its errors."""
    abi = CONTRACT_ABIS[kind]()
    functions = [e for e in abi if e.get("type") == "function" and e.get("name") == name]
    return functions + [e for e in abi if e.get("type") == "error"] if functions else []
