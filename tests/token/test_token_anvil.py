"""The token stack on a real node (anvil) through web3.py + eth-account only: deployment by
artifacts, secure mint against a quorum-signed attestation, permit, redemption, custom errors as
web3's ContractCustomError, namespaced storage, an upgrade through the timelock, and the Directory."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError

from devkit import stack as stack_model
from devkit.contracts import load
from devkit.devnet import (
    ZERO, decode_custom_error, deploy, deploy_token_implementation, send,
    sign_attestation, sign_permit,
)

pytestmark = pytest.mark.anvil
UNIT = 10**18
HOT_SLOT = 0xD3E228778C55A906AB8AE1C39565F487C99F97B4E0188E9659A48D92959CC500
ERC20_SLOT = 0x52C63247E1F47DB19D5CE0460030C497F067CA4CEBF71BA98EEADABE20BACE00


@pytest.fixture(scope="module")
def keys():
    """anvil's funded keys derived from its mnemonic."""
    Account.enable_unaudited_hdwallet_features()
    m = "test test test test test test test test test test test junk"
    return ["0x" + Account.from_mnemonic(m, account_path=f"m/44'/60'/0'/0/{i}").key.hex() for i in range(10)]


def addr(key: str) -> str:
    return Account.from_key(key).address


@pytest.fixture(scope="module")
def live_stack(w3, keys):
    """Deployed once per module; each test gets it through ``live`` on a reverted chain."""
    admin, minter, operator, alice, bob = keys[0], keys[1], keys[2], keys[3], keys[4]
    attestor_keys = keys[5:10]
    dep = stack_model.deployment(
        addr(admin), [addr(k) for k in attestor_keys], 3,
        [stack_model.product("NDPR", "NDPR-OX-995", min_redemption="1", mint_capacity=10_000, refill_per_second=1)],
        timelock_delay=600,
        roles={"minters": [addr(minter)], "redemption_operators": [addr(operator)],
               "pausers": [addr(admin)], "compliance": [addr(admin)], "asset_protection": [addr(admin)]})
    live = stack_model.apply(w3, admin, dep)  # the deploy engine, as `stockpile deploy apply`
    stack = SimpleNamespace(token=live.token("NDPR"), attestor=live.attestor("NDPR"), timelock=live.timelock)
    t = stack.token
    att = {"merkleRoot": Web3.keccak(text="root"), "totalQuantity": 5_000 * UNIT, "lotCount": 5,
           "asOf": w3.eth.get_block("latest")["timestamp"], "reportHash": Web3.keccak(text="report")}
    args = sign_attestation(attestor_keys[:3], w3.eth.chain_id, stack.attestor.address, att,
                            stack.attestor.functions.configDigest().call())
    send(w3, admin, stack.attestor.functions.attest(*args))
    return dict(stack=stack, t=t, admin=admin, minter=minter, operator=operator, alice=alice, bob=bob)


@pytest.fixture
def live(live_stack, anvil_revert):
    return live_stack


def _expect_error(t, fn, sender: str, name: str, **args):
    with pytest.raises(ContractCustomError) as info:
        fn.call({"from": addr(sender)})
    got, values = decode_custom_error(t.abi, info.value.data)
    assert got == name, (got, values)
    for k, v in args.items():
        assert values[k] == v, (k, values[k], v)


def test_secure_mint_permit_and_redemption_on_anvil(w3, live):
    t, alice, bob = live["t"], live["alice"], live["bob"]
    receipt = send(w3, live["minter"], t.functions.mint(addr(alice), 1_000 * UNIT, Web3.keccak(text="dep-1")))
    minted = t.events.Minted().process_receipt(receipt)[0]["args"]
    assert minted["to"] == addr(alice) and minted["amount"] == 1_000 * UNIT and minted["minter"] == addr(live["minter"])
    # permit signed with eth-account, spent by bob
    deadline = w3.eth.get_block("latest")["timestamp"] + 3600
    v, r, s = sign_permit(alice, token_name=t.functions.name().call(), chain_id=w3.eth.chain_id,
                          token=t.address, owner=addr(alice), spender=addr(bob), value=100 * UNIT,
                          nonce=t.functions.nonces(addr(alice)).call(), deadline=deadline)
    send(w3, bob, t.functions.permit(addr(alice), addr(bob), 100 * UNIT, deadline, v, r, s))
    send(w3, bob, t.functions.transferFrom(addr(alice), addr(bob), 100 * UNIT))
    assert t.functions.balanceOf(addr(bob)).call() == 100 * UNIT
    # redemption
    receipt = send(w3, alice, t.functions.requestRedemption(300 * UNIT, Web3.keccak(text="delivery-9")))
    req = t.events.RedemptionRequested().process_receipt(receipt)[0]["args"]
    assert req["id"] == 1 and req["holder"] == addr(alice) and req["amount"] == 300 * UNIT
    holder, requested_at, status, amount, ref = t.functions.getRedemption(1).call()
    assert (holder, status, amount, ref) == (addr(alice), 1, 300 * UNIT, Web3.keccak(text="delivery-9"))
    send(w3, live["operator"], t.functions.acceptRedemption(1))
    send(w3, live["operator"], t.functions.completeRedemption(1))
    assert t.functions.totalSupply().call() == 700 * UNIT and t.functions.totalEscrowed().call() == 0


def test_custom_errors_surface_as_contract_custom_error(w3, live):
    t, minter, alice = live["t"], live["minter"], live["alice"]
    send(w3, minter, t.functions.mint(addr(alice), 10 * UNIT, Web3.keccak(text="once")))
    f = t.functions
    _expect_error(t, f.mint(addr(alice), UNIT, Web3.keccak(text="once")), minter, "MintIdUsed",
                  mintId=Web3.keccak(text="once"))
    _expect_error(t, f.mint(addr(alice), 0, Web3.keccak(text="z")), minter, "ZeroAmount")
    _expect_error(t, f.mint(ZERO, UNIT, Web3.keccak(text="z")), minter, "ZeroAddress")
    _expect_error(t, f.mint(addr(alice), 4_991 * UNIT, Web3.keccak(text="big")), minter, "ReserveExceeded",
                  requested=4_991 * UNIT, available=4_990 * UNIT)
    _expect_error(t, f.mint(addr(alice), UNIT, Web3.keccak(text="x")), alice, "AccessControlUnauthorizedAccount",
                  account=addr(alice), neededRole=f.MINTER_ROLE().call())
    _expect_error(t, f.requestRedemption(UNIT - 1, b"\0" * 32), alice, "RedemptionBelowMinimum",
                  amount=UNIT - 1, minimum=UNIT)
    _expect_error(t, f.completeRedemption(7), live["operator"], "RedemptionNotProcessing", id=7, status=0)
    _expect_error(t, f.acceptRedemption(7), live["operator"], "RedemptionNotPending", id=7, status=0)


def test_stale_attestation_on_anvil(w3, live):
    t = live["t"]
    w3.provider.make_request("evm_increaseTime", [7 * 86_400 + 10])
    w3.provider.make_request("evm_mine", [])
    _expect_error(t, t.functions.mint(addr(live["alice"]), UNIT, Web3.keccak(text="late")), live["minter"],
                  "AttestationStale", maxAge=7 * 86_400)


def test_hot_config_lives_in_the_erc7201_slot(w3, live):
    t = live["t"]
    before = int.from_bytes(w3.eth.get_storage_at(t.address, HOT_SLOT), "big")
    assert before & ((1 << 160) - 1) == int(live["stack"].attestor.address, 16)  # reserveAttestor, low bytes
    send(w3, live["admin"], t.functions.pause())
    after = int.from_bytes(w3.eth.get_storage_at(t.address, HOT_SLOT), "big")
    assert after ^ before == 1 << (160 + 64)  # exactly the paused byte flipped
    assert t.functions.paused().call()
    send(w3, live["admin"], t.functions.setAllowlistMode(True))
    assert int.from_bytes(w3.eth.get_storage_at(t.address, HOT_SLOT), "big") ^ after == 1 << 232


def test_balance_word_layout(w3, live):
    """The transfer hook reads an account's compliance flags from its OpenZeppelin ERC-20 balance word:
    balance in bits 0..247, frozen bit 248, allowlisted bit 249, partial freeze set bit 250; the partial
    frozen amount itself is a full uint256 in frozenAmounts (member #6 of the namespace struct)."""
    t, admin, minter, who = live["t"], live["admin"], live["minter"], addr(live["bob"])
    slot = int.from_bytes(Web3.solidity_keccak(["uint256", "uint256"], [int(who, 16), ERC20_SLOT]), "big")
    frozen_slot = int.from_bytes(Web3.solidity_keccak(["uint256", "uint256"], [int(who, 16), HOT_SLOT + 6]), "big")

    def word(s=slot):
        return int.from_bytes(w3.eth.get_storage_at(t.address, s), "big")

    assert word() == 0
    send(w3, minter, t.functions.mint(who, 7, Web3.keccak(text="layout")))
    assert word() == 7
    send(w3, admin, t.functions.setAddressFrozen(who, True))
    assert word() == 7 | 1 << 248 and t.functions.balanceOf(who).call() == 7
    send(w3, admin, t.functions.setAllowlisted(who, True))
    assert word() == 7 | 1 << 248 | 1 << 249
    send(w3, admin, t.functions.setFrozenTokens(who, 2**256 - 2))
    assert word() == 7 | 1 << 248 | 1 << 249 | 1 << 250 and word(frozen_slot) == 2**256 - 2
    send(w3, admin, t.functions.setFrozenTokens(who, 0))
    assert word() == 7 | 1 << 248 | 1 << 249


def test_upgrade_through_timelock_on_anvil(w3, live):
    stack, admin = live["stack"], live["admin"]
    t, tl = live["t"], stack.timelock
    send(w3, live["minter"], t.functions.mint(addr(live["alice"]), 42 * UNIT, Web3.keccak(text="keep")))
    v2 = deploy_token_implementation(w3, admin, "CommodityTokenV2")
    data = t.encode_abi("upgradeToAndCall", args=[v2.address, b""])
    zero32 = b"\0" * 32
    with pytest.raises(ContractCustomError):
        t.functions.upgradeToAndCall(v2.address, b"").call({"from": addr(admin)})
    send(w3, admin, tl.functions.schedule(t.address, 0, data, zero32, zero32, 600))
    with pytest.raises(ContractCustomError) as info:
        tl.functions.execute(t.address, 0, data, zero32, zero32).call({"from": addr(admin)})
    assert decode_custom_error(tl.abi, info.value.data)[0] == "TimelockUnexpectedOperationState"
    w3.provider.make_request("evm_increaseTime", [601])
    w3.provider.make_request("evm_mine", [])
    send(w3, admin, tl.functions.execute(t.address, 0, data, zero32, zero32))
    upgraded = w3.eth.contract(address=t.address, abi=load("CommodityTokenV2").abi)
    assert upgraded.functions.version().call() == 2
    assert upgraded.functions.balanceOf(addr(live["alice"])).call() == 42 * UNIT


def test_directory_on_anvil(w3, live):
    admin = live["admin"]
    d = deploy(w3, admin, "Directory", addr(admin))
    stack = live["stack"]
    send(w3, admin, d.functions.register("sNDPR", stack.token.address, ZERO, stack.attestor.address))
    assert d.functions.count().call() == 1
    assert d.functions.get("sNDPR").call() == (stack.token.address, ZERO, stack.attestor.address)
    with pytest.raises(ContractCustomError) as info:
        d.functions.register("sNDPR", stack.token.address, ZERO, ZERO).call({"from": addr(admin)})
    assert decode_custom_error(d.abi, info.value.data) == ("ProductAlreadyRegistered", {"symbol": "sNDPR"})
