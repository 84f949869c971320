"""Redemption: request (escrow at the token's own address), accept (Pending -> Processing, no cancel
after it), complete (burn), reject (refund with reason), cancel by the holder while Pending; every
refusal names its error and loses nothing."""

from __future__ import annotations

import ape

from devkit.ape_stack import MIN_REDEMPTION, UNIT

PENDING, COMPLETED, REJECTED, CANCELLED, PROCESSING = 1, 2, 3, 4, 5
REF = bytes.fromhex("ab" * 32)
REASON = bytes.fromhex("01" + "00" * 31)


def _accounting(stack):
    t = stack.token
    return t.balanceOf(stack.alice), t.balanceOf(t.address), t.totalEscrowed(), t.totalSupply()


def test_request_moves_tokens_to_escrow(funded, chain):
    s, t = funded, funded.token
    receipt = t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    ev = list(receipt.decode_logs(t.RedemptionRequested))[0]
    assert (ev.id, ev.holder, ev.amount, ev.deliveryRef) == (1, s.alice.address, 40 * UNIT, REF)
    assert _accounting(s) == (960 * UNIT, 40 * UNIT, 40 * UNIT, 1_100 * UNIT)
    r = t.getRedemption(1)
    assert (r.holder, r.amount, r.deliveryRef, r.status) == (s.alice.address, 40 * UNIT, REF, PENDING)
    assert r.requestedAt == chain.blocks.head.timestamp
    assert t.redemptionCount() == 1 and t.minimumRedemption() == MIN_REDEMPTION


def test_accept_then_complete_burns_escrow(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    receipt = t.acceptRedemption(1, sender=s.operator)
    ev = list(receipt.decode_logs(t.RedemptionAccepted))[0]
    assert (ev.id, ev.holder, ev.amount) == (1, s.alice.address, 40 * UNIT)
    assert t.getRedemption(1).status == PROCESSING
    assert _accounting(s) == (960 * UNIT, 40 * UNIT, 40 * UNIT, 1_100 * UNIT)  # still escrowed
    receipt = t.completeRedemption(1, sender=s.operator)
    ev = list(receipt.decode_logs(t.RedemptionCompleted))[0]
    assert (ev.id, ev.holder, ev.amount) == (1, s.alice.address, 40 * UNIT)
    assert _accounting(s) == (960 * UNIT, 0, 0, 1_060 * UNIT)
    assert t.getRedemption(1).status == COMPLETED
    assert t.burnedSince(0) == 40 * UNIT


def test_complete_needs_acceptance_first(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    before = _accounting(s)
    with ape.reverts(t.RedemptionNotProcessing, id=1, status=PENDING):
        t.completeRedemption(1, sender=s.operator)
    assert _accounting(s) == before


def test_attack_holder_cancels_after_accept_refused(funded):
    """Finding 4: the holder front-runs completeRedemption with cancelRedemption once the operator has
    accepted (metal shipped): refused, and the operator's completion still goes through."""
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    t.acceptRedemption(1, sender=s.operator)
    before = _accounting(s)
    with ape.reverts(t.RedemptionNotPending, id=1, status=PROCESSING):
        t.cancelRedemption(1, sender=s.alice)
    assert _accounting(s) == before and t.getRedemption(1).status == PROCESSING
    t.completeRedemption(1, sender=s.operator)
    assert t.balanceOf(s.alice) == 960 * UNIT and t.getRedemption(1).status == COMPLETED


def test_accepted_request_can_still_be_rejected(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    t.acceptRedemption(1, sender=s.operator)
    with ape.reverts(t.RedemptionNotPending, id=1, status=PROCESSING):
        t.acceptRedemption(1, sender=s.operator)
    t.rejectRedemption(1, REASON, sender=s.operator)  # e.g. the delivery failed: refund
    assert _accounting(s) == (1_000 * UNIT, 0, 0, 1_100 * UNIT)


def test_double_completion_and_processing_closed_requests_refused(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    t.acceptRedemption(1, sender=s.operator)
    t.completeRedemption(1, sender=s.operator)
    before = _accounting(s)
    with ape.reverts(t.RedemptionNotProcessing, id=1, status=COMPLETED):
        t.completeRedemption(1, sender=s.operator)
    with ape.reverts(t.RedemptionNotOpen, id=1, status=COMPLETED):
        t.rejectRedemption(1, REASON, sender=s.operator)
    with ape.reverts(t.RedemptionNotPending, id=1, status=COMPLETED):
        t.cancelRedemption(1, sender=s.alice)
    with ape.reverts(t.RedemptionNotPending, id=1, status=COMPLETED):
        t.acceptRedemption(1, sender=s.operator)
    with ape.reverts(t.RedemptionNotProcessing, id=99, status=0):  # unknown id
        t.completeRedemption(99, sender=s.operator)
    with ape.reverts(t.RedemptionNotPending, id=99, status=0):
        t.acceptRedemption(99, sender=s.operator)
    assert _accounting(s) == before


def test_reject_refunds_with_reason(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    receipt = t.rejectRedemption(1, REASON, sender=s.operator)
    ev = list(receipt.decode_logs(t.RedemptionRejected))[0]
    assert (ev.id, ev.holder, ev.amount, ev.reasonCode) == (1, s.alice.address, 40 * UNIT, REASON)
    assert _accounting(s) == (1_000 * UNIT, 0, 0, 1_100 * UNIT)
    assert t.getRedemption(1).status == REJECTED
    with ape.reverts(t.RedemptionNotProcessing, id=1, status=REJECTED):
        t.completeRedemption(1, sender=s.operator)


def test_holder_cancels_pending_request(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    with ape.reverts(t.NotRedemptionHolder, id=1, caller=s.bob.address):
        t.cancelRedemption(1, sender=s.bob)
    with ape.reverts(t.NotRedemptionHolder, id=1, caller=s.operator.address):
        t.cancelRedemption(1, sender=s.operator)
    receipt = t.cancelRedemption(1, sender=s.alice)
    ev = list(receipt.decode_logs(t.RedemptionCancelled))[0]
    assert (ev.id, ev.holder, ev.amount) == (1, s.alice.address, 40 * UNIT)
    assert _accounting(s) == (1_000 * UNIT, 0, 0, 1_100 * UNIT)
    assert t.getRedemption(1).status == CANCELLED
    with ape.reverts(t.RedemptionNotPending, id=1, status=CANCELLED):
        t.cancelRedemption(1, sender=s.alice)


def test_request_bad_inputs(funded):
    s, t = funded, funded.token
    before = _accounting(s)
    with ape.reverts(t.ZeroAmount):
        t.requestRedemption(0, REF, sender=s.alice)
    with ape.reverts(t.RedemptionBelowMinimum, amount=MIN_REDEMPTION - 1, minimum=MIN_REDEMPTION):
        t.requestRedemption(MIN_REDEMPTION - 1, REF, sender=s.alice)
    with ape.reverts(t.ERC20InsufficientBalance):
        t.requestRedemption(1_001 * UNIT, REF, sender=s.alice)
    assert _accounting(s) == before and t.redemptionCount() == 0
    t.setMinimumRedemption(1, sender=s.admin)
    t.requestRedemption(1, REF, sender=s.alice)


def test_paused_stops_redemptions(funded):
    s, t = funded, funded.token
    t.requestRedemption(40 * UNIT, REF, sender=s.alice)
    t.requestRedemption(20 * UNIT, REF, sender=s.alice)
    t.acceptRedemption(1, sender=s.operator)
    t.pause(sender=s.pauser)
    before = _accounting(s)
    with ape.reverts(t.EnforcedPause):
        t.requestRedemption(10 * UNIT, REF, sender=s.alice)
    with ape.reverts(t.EnforcedPause):
        t.acceptRedemption(2, sender=s.operator)
    with ape.reverts(t.EnforcedPause):
        t.completeRedemption(1, sender=s.operator)
    with ape.reverts(t.EnforcedPause):
        t.rejectRedemption(1, REASON, sender=s.operator)
    with ape.reverts(t.EnforcedPause):
        t.cancelRedemption(2, sender=s.alice)
    assert _accounting(s) == before
    t.unpause(sender=s.admin)
    t.completeRedemption(1, sender=s.operator)


def test_frozen_holder_cannot_redeem(funded):
    s, t = funded, funded.token
    t.setAddressFrozen(s.alice, True, sender=s.protector)
    with ape.reverts(t.ERC7943CannotSend, account=s.alice.address):
        t.requestRedemption(10 * UNIT, REF, sender=s.alice)
    t.setAddressFrozen(s.alice, False, sender=s.protector)
    t.setFrozenTokens(s.alice, 995 * UNIT, sender=s.protector)
    with ape.reverts(t.ERC7943InsufficientUnfrozenBalance, account=s.alice.address, amount=10 * UNIT,
                     unfrozen=5 * UNIT):
        t.requestRedemption(10 * UNIT, REF, sender=s.alice)
    t.requestRedemption(5 * UNIT, REF, sender=s.alice)
    t.setAllowlistMode(True, sender=s.compliance)
    with ape.reverts(t.ERC7943CannotSend, account=s.bob.address):
        t.requestRedemption(10 * UNIT, REF, sender=s.bob)


def test_escrow_accounting_over_several_requests(funded):
    s, t = funded, funded.token
    for amount in (10, 20, 30):
        t.requestRedemption(amount * UNIT, REF, sender=s.alice)
    t.requestRedemption(50 * UNIT, REF, sender=s.bob)
    t.acceptRedemption(2, sender=s.operator)
    t.completeRedemption(2, sender=s.operator)
    t.rejectRedemption(4, REASON, sender=s.operator)
    t.cancelRedemption(1, sender=s.alice)
    assert t.totalEscrowed() == 30 * UNIT == t.balanceOf(t.address)
    holders = sum(t.balanceOf(a) for a in (s.alice, s.bob))
    assert holders + t.totalEscrowed() == t.totalSupply() == 1_080 * UNIT
