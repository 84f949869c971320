"""The full holder journey against anvil by RPC URL, through the SDK only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account

from stockpile.contracts import load
from stockpile.merkle import Lot
from stockpile.sdk import Stockpile, errors
from stockpile.sdk.units import QuantityError
from sdk_helpers import ATTESTOR_KEYS, SPENDER, BatchCountingProxy, publish_price

pytestmark = pytest.mark.anvil

LOTS = [
    Lot(warehouse_id="WH-ROTTERDAM-01", lot_id=f"NDPR-{i:04d}", product_code="NDPR-OXIDE", form="powder",
        purity_ppm=995_000, quantity=(500 + i) * 10**18, assay_ref=f"SGS-2026-{i:04d}")
    for i in range(5)
]  # 2,510 kg in all


def attest(operator: Stockpile, lots=LOTS):
    now = operator.w3.eth.get_block("latest")["timestamp"]
    last = operator.product("NDPR").attestation()
    as_of = now - 60 if last is None else max(now - 60, last.as_of + 1)  # strictly newer, never future
    signers = [Account.from_key(k) for k in ATTESTOR_KEYS[:2]]
    return operator.product("NDPR").attest(lots, as_of=as_of, report=b"custody report", signers=signers)


def test_products_are_discovered_from_the_directory(holder):
    symbols = [p.symbol for p in holder.products()]
    assert symbols == ["NDPR", "DY", "TB", "LI2CO3", "AG"]
    ndpr = holder.product("NDPR").info
    assert (ndpr.product_code, ndpr.decimals, ndpr.unit) == ("NDPR-OXIDE", 18, "NdPr oxide, 1 kg, 99.5%")
    assert ndpr.attestor and ndpr.feed


def test_connect_reads_the_directory_in_a_few_requests_and_a_product_when_asked(devnet, holder):
    """connect() reads the Directory's entries in one JSON-RPC batch; a product's name, code, unit and decimals
    are read (one batch) when it is first asked for, and products() reads the rest in one more."""
    url, manifest = devnet
    with BatchCountingProxy(url) as proxy:
        sp = Stockpile.connect(proxy.url, manifest=manifest)
        at_connect = proxy.stats.copy()
        ndpr = sp.product("NDPR").info
        after_one = proxy.stats.copy()
        assert sp.product("NDPR").info == ndpr and proxy.stats == after_one  # read once
        products = sp.products()
    assert at_connect["batches"] == 1 and at_connect["requests"] <= 6, at_connect  # unbatched: ~30 requests
    assert after_one["batches"] == 2 and after_one["requests"] == at_connect["requests"], after_one
    assert proxy.stats["batches"] == 3 and proxy.stats["requests"] == at_connect["requests"], proxy.stats
    assert ndpr == holder.product("NDPR").info and products == holder.products() and len(products) == 5
    assert sp.baskets() == holder.baskets() == ["SMB"]


@pytest.mark.parametrize("refuse", ["error", "http", "short"])
def test_connect_to_a_node_that_refuses_batches(devnet, holder, refuse):
    """A node that refuses batches (a JSON-RPC error, HTTP 400, or an answer missing) is read one call at a
    time, with the same products; the connection remembers it and sends it no further batch."""
    from stockpile.sdk import rpc

    url, manifest = devnet
    with BatchCountingProxy(url, refuse=refuse) as proxy:
        w3 = rpc.connect(proxy.url)
        sp = Stockpile.connect(w3, manifest=manifest)
        assert sp.products() == holder.products() and sp.baskets() == ["SMB"]
        assert proxy.stats["refused"] == 1 and proxy.stats["requests"] > 10, proxy.stats
        again = Stockpile.connect(w3, manifest=manifest)
        assert again.products() == holder.products()
        assert proxy.stats["batches"] == 1, proxy.stats  # not asked again


def test_a_call_that_fails_in_a_batch_raises_as_it_does_alone(devnet, holder):
    """rpc.read_calls: one failing view among others raises what that view raises on its own (the
    Directory's UnknownProduct revert), and the node is still asked in batches afterwards."""
    from web3.exceptions import ContractLogicError

    from stockpile.sdk import rpc

    url, _ = devnet
    with BatchCountingProxy(url) as proxy:
        w3 = rpc.connect(proxy.url)
        d = w3.eth.contract(address=holder.directory, abi=load("Directory").abi)
        with pytest.raises(ContractLogicError) as alone:
            d.functions.get("NOPE").call()
        with pytest.raises(ContractLogicError) as batched:
            rpc.read_calls(w3, [d.functions.get("NDPR"), d.functions.get("NOPE"), d.functions.get("AG")])
        assert str(batched.value) == str(alone.value) and batched.value.data == alone.value.data
        batches = proxy.stats["batches"]
        found = rpc.read_calls(w3, [d.functions.get("NDPR"), d.functions.get("AG")])
        assert [f[0] for f in found] == [holder.product("NDPR").info.token, holder.product("AG").info.token]
        assert proxy.stats["batches"] == batches + 1


def test_the_chain_id_is_not_asked_again_for_each_call(devnet, holder):
    """web3 asks eth_chainId before every call and transaction unless the provider caches it:
    rpc.connect's provider keeps it, and caches nothing else (each call and block read reaches the node)."""
    from stockpile.sdk import rpc

    url, _ = devnet
    with BatchCountingProxy(url) as proxy:
        w3 = rpc.connect(proxy.url, chain_id=31337)
        token = w3.eth.contract(address=holder.product("NDPR").info.token, abi=load("CommodityToken").abi)
        token.functions.totalSupply().call()
        asked = proxy.stats["eth_chainId"]
        for _ in range(5):
            token.functions.totalSupply().call()
            w3.eth.get_block("latest")
    assert 1 <= asked <= 2 and proxy.stats["eth_chainId"] == asked, proxy.stats  # the check, web3's validation
    assert proxy.stats["eth_call"] == 6 and proxy.stats["eth_getBlockByNumber"] == 5, proxy.stats


def test_holder_journey(operator, holder, devnet):
    me = holder.address
    spender_acct = Account.from_key(SPENDER)
    ndpr_op = operator.product("NDPR")
    ndpr = holder.product("NDPR")

    att = attest(operator)
    assert att.total_quantity == sum(l.quantity for l in LOTS) and att.lot_count == 5

    ndpr_op.mint(me, Decimal("1000"), "deposit WH-ROTTERDAM-01 #1")
    assert ndpr.balance(me).amount == Decimal("1000")
    with pytest.raises(errors.MintIdUsed):
        ndpr_op.mint(me, Decimal("1"), "deposit WH-ROTTERDAM-01 #1")

    # transfer, approve, permit signed by the holder and spent by a second account
    ndpr.transfer(spender_acct.address, Decimal("12.5"))
    assert ndpr.balance(spender_acct.address).units == 12_500_000 * 10**12
    deadline = holder.w3.eth.get_block("latest")["timestamp"] + 3600
    permit = ndpr.sign_permit(holder.account, spender_acct.address, Decimal("100"), deadline)
    spender = holder.with_account(spender_acct)
    spender.product("NDPR").submit_permit(permit)
    assert ndpr.token.functions.allowance(me, spender_acct.address).call() == 100 * 10**18
    spender.product("NDPR").transfer_from(me, spender_acct.address, Decimal("40"))
    assert ndpr.balance(me).amount == Decimal("947.5")

    # value of holdings from the reference price
    publish_price(operator, "NDPR", "63.25")
    holding = ndpr.holding(me)
    assert holding.price.price == Decimal("63.25") and not holding.stale_price
    assert holding.value_usd == Decimal("947.5") * Decimal("63.25")

    # redemption: request, follow, cancel; request again and the operator completes it
    req = ndpr.request_redemption(Decimal("100"), "delivery order DO-7781")
    assert req.status == "pending" and req.amount == Decimal("100")
    assert ndpr.balance(me).amount == Decimal("847.5")
    assert ndpr.cancel_redemption(req.id).status == "cancelled"
    assert ndpr.balance(me).amount == Decimal("947.5")
    req2 = ndpr.request_redemption(Decimal("200"), "delivery order DO-7782")
    with pytest.raises(errors.RedemptionBelowMinimum) as below:
        ndpr.request_redemption(Decimal("99.999999"), "too small")
    assert below.value.args_dict == {"amount": 99_999_999 * 10**12, "minimum": 100 * 10**18}
    with pytest.raises(errors.RedemptionNotProcessing):  # the operator accepts first
        ndpr_op.complete_redemption(req2.id)
    assert ndpr_op.accept_redemption(req2.id).status == "processing"
    with pytest.raises(errors.RedemptionNotPending):  # no cancel once accepted
        ndpr.cancel_redemption(req2.id)
    done = ndpr_op.complete_redemption(req2.id)
    assert done.status == "completed"
    assert ndpr.total_supply() == 800 * 10**18

    # backing: supply <= attested reserve, lot proofs
    status = ndpr.reserve_status()
    assert status.backed and not status.stale
    assert status.burned_since_attestation == 200 * 10**18  # delivered after the attestation's as-of
    assert status.collateralization == Decimal(att.total_quantity) / Decimal(800 * 10**18)
    proof = ndpr.lot_proof(LOTS, 3)
    assert ndpr.verify_lot(LOTS[3], proof)
    forged = LOTS[3].model_copy(update={"quantity": LOTS[3].quantity + 1})
    assert not ndpr.verify_lot(forged, proof)

    # history of the holder, paginated
    events = list(ndpr.iter_history(me, page_size=2, block_span=3))
    names = [e.event for e in events]
    assert names.count("Minted") == 1
    assert names.count("RedemptionRequested") == 2 and "RedemptionCancelled" in names and "RedemptionCompleted" in names
    assert names.index("RedemptionAccepted") < names.index("RedemptionCompleted")
    assert [e.block_number for e in events] == sorted(e.block_number for e in events)
    one_page = ndpr.history(me, page_size=10_000)
    assert one_page.next_cursor is None and len(one_page.events) == len(events)


def test_mint_beyond_reserve_is_refused_with_arguments(operator, holder):
    ndpr_op = operator.product("NDPR")
    attest(operator)
    supply = ndpr_op.total_supply()
    status = ndpr_op.reserve_status()
    # mint room: attested total - supply - what was delivered (burned) since the attestation's as-of
    available = status.attested_total - supply - status.burned_since_attestation
    with pytest.raises(errors.ReserveExceeded) as exc:
        ndpr_op.mint(holder.address, available + 1, "too much")
    assert exc.value.args_dict == {"requested": available + 1, "available": available}
    assert ndpr_op.total_supply() == supply  # nothing minted


def test_privileged_calls_from_a_holder_are_refused(holder):
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as exc:
        holder.product("NDPR").mint(holder.address, 1, "not a minter")
    assert exc.value.args_dict["account"] == holder.address


def test_floats_are_refused_before_anything_is_sent(holder):
    with pytest.raises(QuantityError, match="not float"):
        holder.product("NDPR").transfer(holder.address, 1.5)
    with pytest.raises(QuantityError, match="more than 6 decimal places"):
        holder.product("AG").transfer(holder.address, Decimal("0.0000001"))


def test_a_mined_failure_is_decoded_on_anvil(holder):
    """Sent with a fixed gas limit (no estimation), the mint is mined and fails; the SDK replays
    it and raises the custom error rather than a bare status 0."""
    token = holder.product("NDPR").token
    before = holder.w3.eth.get_transaction_count(holder.address)
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        holder._sender.transact({"to": token.address, "gas": 200_000,
                                 "data": token.encode_abi("mint", args=[holder.address, 1, b"\1" * 32])})
    assert holder.w3.eth.get_transaction_count(holder.address) == before + 1  # it was mined


def test_eip3009_authorization_signed_by_the_holder_relayed_by_another(operator, holder):
    """The holder signs an EIP-3009 transfer (no gas); a second account relays it, once."""
    ndpr_op, ndpr = operator.product("NDPR"), holder.product("NDPR")
    attest(operator)
    ndpr_op.mint(holder.address, Decimal("10"), "deposit for EIP-3009")
    spender_acct = Account.from_key(SPENDER)
    relayer = holder.with_account(spender_acct).product("NDPR")
    before = ndpr.balance(spender_acct.address).units
    valid_before = holder.w3.eth.get_block("latest")["timestamp"] + 3600
    auth = ndpr.sign_transfer_authorization(holder.account, spender_acct.address, Decimal("2.5"), valid_before)
    assert not ndpr.authorization_used(holder.address, auth["nonce"])
    relayer.submit_transfer_authorization(auth)
    assert ndpr.balance(spender_acct.address).units == before + 2_500_000 * 10**12
    assert ndpr.authorization_used(holder.address, auth["nonce"])
    with pytest.raises(errors.AuthorizationAlreadyUsed) as used:
        relayer.submit_transfer_authorization(auth)
    assert used.value.args_dict["authorizer"] == holder.address
    receive = ndpr.sign_transfer_authorization(holder.account, spender_acct.address, Decimal("1"), valid_before,
                                               receive=True)
    with pytest.raises(errors.CallerNotPayee):  # only the payee may submit a receive authorization
        operator.product("NDPR").submit_transfer_authorization(receive)
    relayer.submit_transfer_authorization(receive)
    assert ndpr.balance(spender_acct.address).units == before + 3_500_000 * 10**12
