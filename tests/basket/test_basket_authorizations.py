"""Create by EIP-3009 authorisations of the components (`createWithAuthorizations`): one
ReceiveWithAuthorization per component, signed here with eth-account typed-data signing, for exactly
units x shares, payee the basket, nonce bound to the receiver of the shares and the number of shares.
Anyone may relay it; nobody can redirect it (front-running attacks performed below)."""

from __future__ import annotations

import ast
from contextlib import contextmanager

import ape
from eth_utils import keccak

from basket_helpers import SALT, fund, nonce_of, sign_authorizations
from devkit.ape_stack import mint_id, with_authorizations
from devkit.devnet import decode_custom_error

def mint_components(s, owner, shares, label):
    for c in s.components:
        c.token.mint(owner, c.units * shares, mint_id(f"{label}{owner.address}{c.symbol}"), sender=s.minter)


@contextmanager
def reverts_with(s, project, name, **inputs):
    """Expect a revert with custom error ``name`` (and these inputs), decoded with the basket's ABI and the
    components' EIP-3009 ABI (a component's own error bubbles up through the basket unchanged)."""
    with ape.reverts() as info:
        yield info
    err = info.value
    got, got_inputs = type(err).__name__, dict(getattr(err, "inputs", None) or {})
    if got in ("ContractLogicError", "TransactionFailed") or not got_inputs and inputs:
        raw = err.revert_message
        if isinstance(raw, str) and raw[:2] in ('b"', "b'"):
            raw = ast.literal_eval(raw)
        abi = [a.model_dump(mode="json", by_alias=True) for a in project.BasketToken.contract_type.abi]
        abi += [a.model_dump(mode="json", by_alias=True) for a in project.CommodityTokenAuthorizations.contract_type.abi]
        got, got_inputs = decode_custom_error(abi, raw)
    assert got == name, f"expected {name}, got {got}: {err}"
    for key, expected in inputs.items():
        actual = got_inputs[key]
        if isinstance(expected, str) and expected.startswith("0x"):
            actual, expected = str(actual).lower(), expected.lower()
        assert actual == expected, f"{name}.{key}: expected {expected!r}, got {actual!r}"


def test_create_with_authorizations_relayed_by_anyone(stack, chain, project):
    s, b = stack, stack.basket
    mint_components(s, s.alice, 3, "auth ok")
    auths = sign_authorizations(s, chain, s.alice, s.alice, 3)
    assert bytes(b.authorizationNonce(s.alice, 3, SALT)) == nonce_of(s.alice.address, 3, SALT)
    tx = b.createWithAuthorizations(3, s.alice, s.alice, SALT, auths, sender=s.carol)  # a relayer pays the gas
    assert b.balanceOf(s.alice) == 3 and b.balanceOf(s.carol) == 0 and b.totalSupply() == 3
    nonce = nonce_of(s.alice.address, 3, SALT)
    for c in s.components:
        assert c.token.balanceOf(s.alice) == 0 and c.token.balanceOf(b) == 3 * c.units
        assert c.token.allowance(s.alice, b) == 0  # no allowance was needed or left
        assert with_authorizations(project, c.token).authorizationState(s.alice, nonce)
    (ev,) = [e for e in tx.events if e.event_name == "Created"]
    assert (ev.payer, ev.to, ev.shares) == (s.alice.address, s.alice.address, 3)
    assert list(ev.amounts) == [3 * c.units for c in s.components]
    assert len([e for e in tx.events if e.event_name == "AuthorizationUsed"]) == len(s.components)
    assert b.isFullyBacked()


def test_authorization_for_a_wrong_amount_is_refused_and_nothing_moves(stack, chain, project):
    s, b = stack, stack.basket
    mint_components(s, s.alice, 2, "auth amount")
    exact = [c.units * 2 for c in s.components]
    for i, delta in ((0, -1), (3, +1)):  # one base unit short, one base unit over
        values = list(exact)
        values[i] += delta
        auths = sign_authorizations(s, chain, s.alice, s.alice, 2, values=values)
        with reverts_with(s, project, "AuthorizationAmountMismatch", component=s.components[i].token.address,
                          signed=values[i], expected=exact[i]):
            b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.alice)
    # a signature over a different value than the one claimed is the component's own refusal
    auths = sign_authorizations(s, chain, s.alice, s.alice, 2, values=[v + 1 for v in exact])
    auths[0] = (exact[0], *auths[0][1:])
    with reverts_with(s, project, "InvalidAuthorizationSignature", authorizer=s.alice.address):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.alice)
    auths = sign_authorizations(s, chain, s.alice, s.alice, 2)
    with reverts_with(s, project, "AuthorizationCountMismatch", given=4, expected=5):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths[:4], sender=s.alice)
    with reverts_with(s, project, "ZeroShares"):
        b.createWithAuthorizations(0, s.alice, s.alice, SALT, sign_authorizations(s, chain, s.alice, s.alice, 0),
                                   sender=s.alice)
    assert b.totalSupply() == 0
    assert all(c.token.balanceOf(s.alice) == x for c, x in zip(s.components, exact))
    b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.alice)  # the exact ones still work
    assert b.balanceOf(s.alice) == 2


def test_reused_expired_or_early_authorization_is_refused(stack, chain, project):
    s, b = stack, stack.basket
    mint_components(s, s.alice, 4, "auth reuse")
    auths = sign_authorizations(s, chain, s.alice, s.alice, 2)
    b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.alice)
    nonce = nonce_of(s.alice.address, 2, SALT)
    with reverts_with(s, project, "AuthorizationAlreadyUsed", authorizer=s.alice.address, nonce=nonce):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)
    # the same (to, shares) again needs a new salt
    salt2 = keccak(text="second")
    now = chain.pending_timestamp
    expired = sign_authorizations(s, chain, s.alice, s.alice, 2, salt2, valid_before=now - 1)
    with reverts_with(s, project, "AuthorizationExpired", validBefore=now - 1):
        b.createWithAuthorizations(2, s.alice, s.alice, salt2, expired, sender=s.alice)
    early = sign_authorizations(s, chain, s.alice, s.alice, 2, salt2, valid_after=now + 600)
    with reverts_with(s, project, "AuthorizationNotYetValid", validAfter=now + 600):
        b.createWithAuthorizations(2, s.alice, s.alice, salt2, early, sender=s.alice)
    assert b.totalSupply() == 2
    chain.pending_timestamp = now + 601
    b.createWithAuthorizations(2, s.alice, s.alice, salt2, early, sender=s.alice)  # valid once the window opens
    assert b.balanceOf(s.alice) == 4 and b.isFullyBacked()


def test_attack_front_run_authorizations_cannot_redirect_shares_or_components(stack, chain, project):
    s, b = stack, stack.basket
    attacker = s.stranger
    mint_components(s, s.alice, 3, "auth front-run")
    auths = sign_authorizations(s, chain, s.alice, s.alice, 3)  # seen by the attacker in the mempool
    # 1. shares to the attacker instead: the nonce binds the receiver, so the signature does not match
    with reverts_with(s, project, "InvalidAuthorizationSignature", authorizer=s.alice.address):
        b.createWithAuthorizations(3, attacker, s.alice, SALT, auths, sender=attacker)
    # 2. fewer shares for the same components (the rest left as surplus): amounts must match exactly
    with reverts_with(s, project, "AuthorizationAmountMismatch"):
        b.createWithAuthorizations(1, s.alice, s.alice, SALT, auths, sender=attacker)
    # 3. the components straight to the attacker, through the component itself
    nonce = nonce_of(s.alice.address, 3, SALT)
    c0 = with_authorizations(project, s.components[0].token)
    value, after, before, v, r, ss = auths[0]
    with reverts_with(s, project, "CallerNotPayee", caller=attacker.address, payee=b.address):
        c0.receiveWithAuthorization(s.alice, b, value, after, before, nonce, v, r, ss, sender=attacker)
    with reverts_with(s, project, "InvalidAuthorizationSignature", authorizer=s.alice.address):
        c0.transferWithAuthorization(s.alice, b, value, after, before, nonce, v, r, ss, sender=attacker)
    # 4. an empty list must not fall back to pulling by allowance from a payer who approved the basket
    fund(s, s.alice, 1, "allowance victim")
    with reverts_with(s, project, "AuthorizationCountMismatch", given=0, expected=5):
        b.createWithAuthorizations(1, attacker, s.alice, SALT, [], sender=attacker)
    assert b.balanceOf(attacker) == 0 and b.totalSupply() == 0
    # 5. relaying it exactly as signed only does what alice asked: her shares, to her
    b.createWithAuthorizations(3, s.alice, s.alice, SALT, auths, sender=attacker)
    assert b.balanceOf(s.alice) == 3 and b.balanceOf(attacker) == 0
    assert all(c.token.balanceOf(attacker) == 0 for c in s.components)
    with reverts_with(s, project, "AuthorizationAlreadyUsed", authorizer=s.alice.address, nonce=nonce):
        b.createWithAuthorizations(3, s.alice, s.alice, SALT, auths, sender=s.alice)
    assert b.totalSupply() == 3 and b.isFullyBacked()


def test_paused_or_frozen_component_stops_authorized_create(stack, chain, project):
    s, b = stack, stack.basket
    mint_components(s, s.alice, 2, "auth compliance")
    auths = sign_authorizations(s, chain, s.alice, s.alice, 2)
    tb = s.components[2].token
    tb.pause(sender=s.pauser)
    with reverts_with(s, project, "ComponentPaused", component=tb.address):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)
    tb.unpause(sender=s.admin)  # the guardian that pauses cannot unpause
    tb.setAddressFrozen(b, True, sender=s.protector)
    with reverts_with(s, project, "ComponentFrozen", component=tb.address, account=b.address):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)
    tb.setAddressFrozen(b, False, sender=s.protector)
    tb.setAddressFrozen(s.alice, True, sender=s.protector)  # the payer frozen on one component
    with reverts_with(s, project, "ComponentTransferRefused", component=tb.address, **{"from": s.alice.address}):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)
    tb.setAddressFrozen(s.alice, False, sender=s.protector)
    b.pause(sender=s.pauser)  # the basket's own pause
    with reverts_with(s, project, "EnforcedPause"):
        b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)
    b.unpause(sender=s.pauser)
    nonce = nonce_of(s.alice.address, 2, SALT)
    assert not any(with_authorizations(project, c.token).authorizationState(s.alice, nonce) for c in s.components)
    b.createWithAuthorizations(2, s.alice, s.alice, SALT, auths, sender=s.carol)  # unused, so still good
    assert b.balanceOf(s.alice) == 2 and b.isFullyBacked()
