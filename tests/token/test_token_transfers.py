"""Transfers, permit, pause, ERC-7943 asset protection (freeze, partial freeze, forced transfer)
and allowlist mode. Refusals name their custom error and move nothing."""

from __future__ import annotations

import ape
from eth_utils import keccak

from devkit.devnet import sign_permit
from devkit.ape_stack import UNIT, ZERO_ADDRESS

MAX = 2**256 - 1


def _balances(stack):
    t = stack.token
    return [t.balanceOf(a) for a in (stack.alice, stack.bob, stack.carol)] + [t.totalSupply()]


def _erc7943_interface_id() -> bytes:
    sigs = ["forcedTransfer(address,address,uint256)", "setFrozenTokens(address,uint256)", "canSend(address)",
            "canReceive(address)", "getFrozenTokens(address)", "canTransfer(address,address,uint256)"]
    x = 0
    for s in sigs:
        x ^= int.from_bytes(keccak(text=s)[:4], "big")
    return x.to_bytes(4, "big")


def test_plain_transfer_and_transfer_from(funded):
    s, t = funded, funded.token
    t.transfer(s.bob, 10 * UNIT, sender=s.alice)
    t.approve(s.carol, 5 * UNIT, sender=s.alice)
    t.transferFrom(s.alice, s.carol, 5 * UNIT, sender=s.carol)
    assert _balances(s) == [985 * UNIT, 110 * UNIT, 5 * UNIT, 1_100 * UNIT]
    assert t.allowance(s.alice, s.carol) == 0


def test_no_transfer_fee(funded):
    s, t = funded, funded.token
    receipt = t.transfer(s.bob, 7, sender=s.alice)
    assert t.balanceOf(s.bob) == 100 * UNIT + 7 and t.balanceOf(s.alice) == 1000 * UNIT - 7
    assert len(list(receipt.decode_logs(t.Transfer))) == 1


def test_transfer_to_token_contract_refused(funded):
    s, t = funded, funded.token
    with ape.reverts(t.ERC20InvalidReceiver, receiver=t.address):
        t.transfer(t.address, UNIT, sender=s.alice)


def test_permit_signed_in_python_spent_by_second_account(funded, chain):
    s, t = funded, funded.token
    deadline = chain.pending_timestamp + 3600
    owner_key = s.alice.private_key
    v, r, sig_s = sign_permit(owner_key, token_name=t.name(), chain_id=chain.chain_id, token=t.address,
                              owner=s.alice.address, spender=s.bob.address, value=30 * UNIT,
                              nonce=t.nonces(s.alice), deadline=deadline)
    t.permit(s.alice, s.bob, 30 * UNIT, deadline, v, r, sig_s, sender=s.carol)  # anyone may relay it
    assert t.allowance(s.alice, s.bob) == 30 * UNIT and t.nonces(s.alice) == 1
    t.transferFrom(s.alice, s.bob, 30 * UNIT, sender=s.bob)
    assert t.balanceOf(s.bob) == 130 * UNIT
    # replay of the same signature: the nonce moved on, so it recovers to another signer
    with ape.reverts(t.ERC2612InvalidSigner):
        t.permit(s.alice, s.bob, 30 * UNIT, deadline, v, r, sig_s, sender=s.bob)


def test_permit_refused_when_expired_or_signed_by_someone_else(funded, chain):
    s, t = funded, funded.token
    deadline = chain.pending_timestamp + 100
    kw = dict(token_name=t.name(), chain_id=chain.chain_id, token=t.address, owner=s.alice.address,
              spender=s.bob.address, value=UNIT, nonce=0, deadline=deadline)
    v, r, sig_s = sign_permit(s.carol.private_key, **kw)
    with ape.reverts(t.ERC2612InvalidSigner, signer=s.carol.address, owner=s.alice.address):
        t.permit(s.alice, s.bob, UNIT, deadline, v, r, sig_s, sender=s.bob)
    v, r, sig_s = sign_permit(s.alice.private_key, **{**kw, "chain_id": 1})  # wrong chain id
    with ape.reverts(t.ERC2612InvalidSigner):
        t.permit(s.alice, s.bob, UNIT, deadline, v, r, sig_s, sender=s.bob)
    v, r, sig_s = sign_permit(s.alice.private_key, **kw)
    chain.pending_timestamp = deadline + 1
    with ape.reverts(t.ERC2612ExpiredSignature, deadline=deadline):
        t.permit(s.alice, s.bob, UNIT, deadline, v, r, sig_s, sender=s.bob)
    assert t.allowance(s.alice, s.bob) == 0


def test_pause_stops_transfers_not_compliance(funded):
    s, t = funded, funded.token
    receipt = t.pause(sender=s.pauser)
    assert t.paused() and len(list(receipt.decode_logs(t.Paused))) == 1
    before = _balances(s)
    with ape.reverts(t.EnforcedPause):
        t.transfer(s.bob, UNIT, sender=s.alice)
    t.approve(s.carol, UNIT, sender=s.alice)  # approvals are not transfers
    with ape.reverts(t.EnforcedPause):
        t.transferFrom(s.alice, s.carol, UNIT, sender=s.carol)
    assert not t.canTransfer(s.alice, s.bob, UNIT)
    # compliance and asset protection keep working while paused
    t.setAddressFrozen(s.bob, True, sender=s.protector)
    t.setFrozenTokens(s.alice, UNIT, sender=s.protector)
    t.setAllowlisted(s.carol, True, sender=s.compliance)
    t.forcedTransfer(s.bob, s.carol, 10 * UNIT, sender=s.protector)
    assert t.balanceOf(s.carol) == 10 * UNIT
    with ape.reverts(t.EnforcedPause):
        t.pause(sender=s.pauser)
    t.unpause(sender=s.admin)  # the guardian that pauses cannot unpause (finding 10)
    with ape.reverts(t.ExpectedPause):
        t.unpause(sender=s.admin)
    t.transfer(s.carol, UNIT, sender=s.alice)
    assert before[0] - UNIT == t.balanceOf(s.alice)


def test_frozen_address_cannot_send_receive_or_approve(funded):
    """As Circle's FiatToken: a frozen account cannot send, receive, approve or be approved."""
    s, t = funded, funded.token
    t.approve(s.carol, UNIT, sender=s.alice)  # approved before the freeze
    receipt = t.setAddressFrozen(s.alice, True, sender=s.protector)
    ev = list(receipt.decode_logs(t.AddressFrozen))[0]
    assert ev.account == s.alice.address and ev.frozen == 1
    assert t.isFrozen(s.alice) and not t.canSend(s.alice) and t.getFrozenTokens(s.alice) == MAX
    assert t.balanceOf(s.alice) == 1_000 * UNIT  # the flag does not show in the balance
    before = _balances(s)
    with ape.reverts(t.ERC7943CannotSend, account=s.alice.address):
        t.transfer(s.bob, UNIT, sender=s.alice)
    with ape.reverts(t.ERC7943CannotSend, account=s.alice.address):
        t.transferFrom(s.alice, s.carol, UNIT, sender=s.carol)
    with ape.reverts(t.ERC7943CannotReceive, account=s.alice.address):
        t.transfer(s.alice, UNIT, sender=s.bob)
    with ape.reverts(t.AccountFrozen, account=s.alice.address):
        t.approve(s.carol, 2 * UNIT, sender=s.alice)
    with ape.reverts(t.AccountFrozen, account=s.alice.address):
        t.approve(s.alice, UNIT, sender=s.bob)
    assert _balances(s) == before and t.allowance(s.alice, s.carol) == UNIT
    assert not t.canReceive(s.alice) and not t.canTransfer(s.alice, s.bob, 1) and not t.canTransfer(s.bob, s.alice, 1)
    t.setAddressFrozen(s.alice, False, sender=s.protector)
    t.transfer(s.bob, UNIT, sender=s.alice)
    with ape.reverts(t.ZeroAddress):
        t.setAddressFrozen(ZERO_ADDRESS, True, sender=s.protector)


def test_partial_freeze_limits_to_unfrozen_balance(funded):
    s, t = funded, funded.token
    receipt = t.setFrozenTokens(s.alice, 900 * UNIT, sender=s.protector)
    ev = list(receipt.decode_logs(t.Frozen))[0]
    assert ev.account == s.alice.address and ev.amount == 900 * UNIT
    assert t.getFrozenTokens(s.alice) == 900 * UNIT and t.canSend(s.alice)
    assert t.canTransfer(s.alice, s.bob, 100 * UNIT) and not t.canTransfer(s.alice, s.bob, 100 * UNIT + 1)
    assert not t.canTransfer(s.alice, s.bob, 1000 * UNIT)
    with ape.reverts(t.ERC7943InsufficientUnfrozenBalance, account=s.alice.address, amount=100 * UNIT + 1,
                     unfrozen=100 * UNIT):
        t.transfer(s.bob, 100 * UNIT + 1, sender=s.alice)
    t.transfer(s.bob, 100 * UNIT, sender=s.alice)
    with ape.reverts(t.ERC7943InsufficientUnfrozenBalance, account=s.alice.address, amount=1, unfrozen=0):
        t.transfer(s.bob, 1, sender=s.alice)
    # more than the balance can be frozen (ERC-7943); the ERC-20 error still wins for overdrafts
    t.setFrozenTokens(s.bob, 10_000 * UNIT, sender=s.protector)
    with ape.reverts(t.ERC7943InsufficientUnfrozenBalance, account=s.bob.address, amount=UNIT, unfrozen=0):
        t.transfer(s.alice, UNIT, sender=s.bob)
    t.setFrozenTokens(s.alice, 0, sender=s.protector)
    with ape.reverts(t.ERC20InsufficientBalance):
        t.transfer(s.bob, 901 * UNIT, sender=s.alice)
    t.setFrozenTokens(s.carol, MAX, sender=s.protector)
    assert t.getFrozenTokens(s.carol) == MAX


def test_forced_transfer_moves_frozen_tokens_and_adjusts_freeze(funded):
    s, t = funded, funded.token
    t.setFrozenTokens(s.alice, 950 * UNIT, sender=s.protector)
    receipt = t.forcedTransfer(s.alice, s.carol, 100 * UNIT, sender=s.protector)
    forced = list(receipt.decode_logs(t.ForcedTransfer))[0]
    assert (forced["from"], forced.to, forced.amount) == (s.alice.address, s.carol.address, 100 * UNIT)
    frozen = list(receipt.decode_logs(t.Frozen))
    assert frozen and frozen[0].amount == 900 * UNIT  # the 50 frozen tokens moved were unfrozen first
    names = [e.event_name for e in receipt.events]
    assert names.index("Frozen") < names.index("Transfer") < names.index("ForcedTransfer")
    assert t.getFrozenTokens(s.alice) == 900 * UNIT and t.balanceOf(s.alice) == 900 * UNIT
    # within the unfrozen part nothing is unfrozen
    t.setFrozenTokens(s.alice, 100 * UNIT, sender=s.protector)
    receipt = t.forcedTransfer(s.alice, s.carol, 10 * UNIT, sender=s.protector)
    assert not list(receipt.decode_logs(t.Frozen)) and t.getFrozenTokens(s.alice) == 100 * UNIT
    # a freeze above the balance (withholding future receipts) only loses the frozen part moved
    t.setFrozenTokens(s.alice, 5_000 * UNIT, sender=s.protector)
    t.forcedTransfer(s.alice, s.carol, 90 * UNIT, sender=s.protector)
    assert t.getFrozenTokens(s.alice) == 4_910 * UNIT
    t.setAddressFrozen(s.bob, True, sender=s.protector)
    receipt = t.forcedTransfer(s.bob, s.carol, 100 * UNIT, sender=s.protector)  # whole-address freeze: still seizable
    assert t.balanceOf(s.bob) == 0 and t.balanceOf(s.carol) == 300 * UNIT


def test_forced_transfer_bad_inputs(funded):
    s, t = funded, funded.token
    before = _balances(s)
    with ape.reverts(t.ZeroAmount):
        t.forcedTransfer(s.alice, s.bob, 0, sender=s.protector)
    with ape.reverts(t.ZeroAddress):
        t.forcedTransfer(ZERO_ADDRESS, s.bob, 1, sender=s.protector)
    with ape.reverts(t.ZeroAddress):
        t.forcedTransfer(s.alice, ZERO_ADDRESS, 1, sender=s.protector)
    with ape.reverts(t.ERC20InvalidReceiver, receiver=t.address):
        t.forcedTransfer(s.alice, t.address, 1, sender=s.protector)
    with ape.reverts(t.ERC20InvalidSender, sender=t.address):  # escrow is not seizable
        t.forcedTransfer(t.address, s.bob, 1, sender=s.protector)
    with ape.reverts(t.ERC20InsufficientBalance):
        t.forcedTransfer(s.alice, s.bob, 1001 * UNIT, sender=s.protector)
    t.setAddressFrozen(s.carol, True, sender=s.protector)
    with ape.reverts(t.ERC7943CannotReceive, account=s.carol.address):
        t.forcedTransfer(s.alice, s.carol, UNIT, sender=s.protector)
    t.setAllowlistMode(True, sender=s.compliance)
    with ape.reverts(t.ERC7943CannotReceive, account=s.bob.address):
        t.forcedTransfer(s.alice, s.bob, UNIT, sender=s.protector)
    assert _balances(s) == before


def test_allowlist_mode_requires_both_parties(funded):
    s, t = funded, funded.token
    receipt = t.setAllowlistMode(True, sender=s.compliance)
    assert t.allowlistMode() and list(receipt.decode_logs(t.AllowlistModeSet))[0].enabled == 1
    before = _balances(s)
    with ape.reverts(t.ERC7943CannotSend, account=s.alice.address):
        t.transfer(s.bob, UNIT, sender=s.alice)
    receipt = t.setAllowlisted(s.alice, True, sender=s.compliance)
    ev = list(receipt.decode_logs(t.AllowlistUpdated))[0]
    assert ev.account == s.alice.address and ev.allowed == 1
    assert t.canSend(s.alice) and not t.canReceive(s.bob) and not t.canTransfer(s.alice, s.bob, UNIT)
    with ape.reverts(t.ERC7943CannotReceive, account=s.bob.address):
        t.transfer(s.bob, UNIT, sender=s.alice)
    assert _balances(s) == before
    t.setAllowlisted(s.bob, True, sender=s.compliance)
    assert t.canTransfer(s.alice, s.bob, UNIT)
    t.transfer(s.bob, UNIT, sender=s.alice)
    t.setAllowlisted(s.alice, False, sender=s.compliance)
    assert not t.isAllowlisted(s.alice)
    with ape.reverts(t.ERC7943CannotSend, account=s.alice.address):
        t.transfer(s.bob, UNIT, sender=s.alice)
    t.setAllowlistMode(False, sender=s.compliance)
    t.transfer(s.carol, UNIT, sender=s.alice)  # off again: anyone
    with ape.reverts(t.ZeroAddress):
        t.setAllowlisted(ZERO_ADDRESS, True, sender=s.compliance)


def test_can_transfer_views(funded):
    s, t = funded, funded.token
    assert t.canTransfer(s.alice, s.bob, 1000 * UNIT)
    # ERC-7943: a plain balance shortfall is the base token's business, not a permissioned rule
    assert t.canTransfer(s.alice, s.bob, 1000 * UNIT + 1)
    assert not t.canTransfer(s.alice, ZERO_ADDRESS, 1) and not t.canTransfer(s.alice, t.address, 1)
    assert t.canSend(s.stranger) and t.canReceive(s.stranger) and t.getFrozenTokens(s.stranger) == 0


def test_supports_erc7943_and_access_control_interfaces(stack):
    t = stack.token
    assert _erc7943_interface_id() == bytes.fromhex("3edbb4c4")  # the id ERC-7943 specifies
    assert t.supportsInterface(_erc7943_interface_id())
    assert t.supportsInterface(bytes.fromhex("7965db0b"))  # IAccessControl
    assert t.supportsInterface(bytes.fromhex("01ffc9a7"))  # ERC-165
    assert not t.supportsInterface(bytes.fromhex("ffffffff"))
