"""EIP-3009 transfers with authorization, signed here with eth-account typed-data signing (not through
the SDK), submitted to the token (served by CommodityTokenAuthorizations through the token's fallback)
with every compliance check of a plain transfer."""

from __future__ import annotations

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from devkit.ape_stack import UNIT, with_authorizations

FIELDS = [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
          {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
          {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}]
DOMAIN = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
          {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]


def _sign(key, token, chain_id, primary, fields, message):
    typed = {"types": {"EIP712Domain": DOMAIN, primary: fields}, "primaryType": primary,
             "domain": {"name": token.name(), "version": "1", "chainId": chain_id, "verifyingContract": token.address},
             "message": message}
    signed = Account.sign_message(encode_typed_data(full_message=typed), key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


@pytest.fixture
def auth(project, funded, chain):
    """(token with the EIP-3009 ABI, signer) where signer(owner, to, value, ...) returns the call arguments."""
    t = with_authorizations(project, funded.token)

    def sign(owner, to, value, *, kind="TransferWithAuthorization", valid_after=0, valid_before=None,
             nonce=None, key=None):
        valid_before = valid_before if valid_before is not None else chain.pending_timestamp + 3600
        nonce = nonce or keccak(text=f"{owner.address} {to.address} {value} {valid_before} {kind}")
        msg = {"from": owner.address, "to": to.address, "value": value, "validAfter": valid_after,
               "validBefore": valid_before, "nonce": nonce}
        v, r, s = _sign(key or owner.private_key, t, chain.chain_id, kind, FIELDS, msg)
        return owner.address, to.address, value, valid_after, valid_before, nonce, v, r, s

    return t, sign


def test_transfer_with_authorization_relayed_by_anyone_once(funded, auth):
    s = funded
    t, sign = auth
    args = sign(s.alice, s.bob, 10 * UNIT)
    receipt = t.transferWithAuthorization(*args, sender=s.carol)  # a relayer pays the gas
    assert t.balanceOf(s.alice) == 990 * UNIT and t.balanceOf(s.bob) == 110 * UNIT
    (used,) = receipt.decode_logs(t.AuthorizationUsed)
    assert used.authorizer == s.alice.address and bytes(used.nonce) == args[5]
    assert t.authorizationState(s.alice, args[5])
    with ape.reverts(t.AuthorizationAlreadyUsed, authorizer=s.alice.address, nonce=args[5]):
        t.transferWithAuthorization(*args, sender=s.carol)
    assert t.balanceOf(s.bob) == 110 * UNIT


def test_receive_with_authorization_only_by_the_payee(funded, auth):
    s = funded
    t, sign = auth
    args = sign(s.alice, s.bob, 5 * UNIT, kind="ReceiveWithAuthorization")
    with ape.reverts(t.CallerNotPayee, caller=s.carol.address, payee=s.bob.address):  # no front-running
        t.receiveWithAuthorization(*args, sender=s.carol)
    with ape.reverts(t.InvalidAuthorizationSignature, authorizer=s.alice.address):  # not a transfer authorization
        t.transferWithAuthorization(*args, sender=s.carol)
    t.receiveWithAuthorization(*args, sender=s.bob)
    assert t.balanceOf(s.bob) == 105 * UNIT


def test_validity_window_and_signature_refused(funded, auth, chain):
    s = funded
    t, sign = auth
    now = chain.pending_timestamp
    later = sign(s.alice, s.bob, UNIT, valid_after=now + 600)
    with ape.reverts(t.AuthorizationNotYetValid, validAfter=now + 600):
        t.transferWithAuthorization(*later, sender=s.carol)
    expired = sign(s.alice, s.bob, UNIT, valid_before=now - 1)
    with ape.reverts(t.AuthorizationExpired, validBefore=now - 1):
        t.transferWithAuthorization(*expired, sender=s.carol)
    forged = sign(s.alice, s.bob, UNIT, key=s.carol.private_key)  # carol signs for alice
    with ape.reverts(t.InvalidAuthorizationSignature, authorizer=s.alice.address):
        t.transferWithAuthorization(*forged, sender=s.carol)
    good = sign(s.alice, s.bob, UNIT)
    tampered = good[:2] + (2 * UNIT,) + good[3:]
    with ape.reverts(t.InvalidAuthorizationSignature, authorizer=s.alice.address):
        t.transferWithAuthorization(*tampered, sender=s.carol)
    assert t.balanceOf(s.bob) == 100 * UNIT and not t.authorizationState(s.alice, good[5])
    chain.pending_timestamp = now + 601
    t.transferWithAuthorization(*later, sender=s.carol)  # valid once the window opens


def test_cancel_authorization(funded, auth, chain):
    s = funded
    t, sign = auth
    args = sign(s.alice, s.bob, UNIT)
    nonce = args[5]
    v, r, sig = _sign(s.alice.private_key, t, chain.chain_id, "CancelAuthorization",
                      [{"name": "authorizer", "type": "address"}, {"name": "nonce", "type": "bytes32"}],
                      {"authorizer": s.alice.address, "nonce": nonce})
    with ape.reverts(t.InvalidAuthorizationSignature, authorizer=s.bob.address):
        t.cancelAuthorization(s.bob, nonce, v, r, sig, sender=s.carol)
    receipt = t.cancelAuthorization(s.alice, nonce, v, r, sig, sender=s.carol)
    (ev,) = receipt.decode_logs(t.AuthorizationCanceled)
    assert ev.authorizer == s.alice.address and t.authorizationState(s.alice, nonce)
    with ape.reverts(t.AuthorizationAlreadyUsed, authorizer=s.alice.address, nonce=nonce):
        t.transferWithAuthorization(*args, sender=s.carol)
    with ape.reverts(t.AuthorizationAlreadyUsed, authorizer=s.alice.address, nonce=nonce):
        t.cancelAuthorization(s.alice, nonce, v, r, sig, sender=s.carol)


def test_every_compliance_check_of_a_transfer_applies(funded, auth):
    s = funded
    t, sign = auth
    checks = [
        (lambda: t.setAddressFrozen(s.alice, True, sender=s.protector), t.ERC7943CannotSend, {"account": s.alice.address},
         lambda: t.setAddressFrozen(s.alice, False, sender=s.protector)),
        (lambda: t.setAddressFrozen(s.bob, True, sender=s.protector), t.ERC7943CannotReceive, {"account": s.bob.address},
         lambda: t.setAddressFrozen(s.bob, False, sender=s.protector)),
        (lambda: t.setFrozenTokens(s.alice, t.balanceOf(s.alice) - 5 * UNIT, sender=s.protector),
         t.ERC7943InsufficientUnfrozenBalance,
         {"account": s.alice.address, "amount": 10 * UNIT, "unfrozen": 5 * UNIT},
         lambda: t.setFrozenTokens(s.alice, 0, sender=s.protector)),
        (lambda: t.pause(sender=s.pauser), t.EnforcedPause, {}, lambda: t.unpause(sender=s.admin)),
        (lambda: t.setAllowlistMode(True, sender=s.compliance), t.ERC7943CannotSend, {"account": s.alice.address},
         lambda: t.setAllowlistMode(False, sender=s.compliance)),
    ]
    for i, (arm, error, fields, disarm) in enumerate(checks):
        arm()
        args = sign(s.alice, s.bob, 10 * UNIT, nonce=keccak(text=f"check {i}"))
        with ape.reverts(error, **fields):
            t.transferWithAuthorization(*args, sender=s.carol)
        assert not t.authorizationState(s.alice, args[5])  # the nonce stays unused
        disarm()
        t.transferWithAuthorization(*args, sender=s.carol)
    assert t.balanceOf(s.bob) == 150 * UNIT
    into_escrow = sign(s.alice, type("A", (), {"address": t.address})(), UNIT)
    with ape.reverts(t.ERC20InvalidReceiver, receiver=t.address):
        t.transferWithAuthorization(*into_escrow, sender=s.carol)


def test_unknown_function_refused_by_the_fallback(funded):
    t = funded.token
    with ape.reverts(t.UnknownFunction, selector=bytes.fromhex("deadbeef")):
        funded.stranger.transfer(t.address, 0, data=bytes.fromhex("deadbeef"))
