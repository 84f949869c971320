"""Issue 10, the token's share of the trust model: each test performs the attack an issuer's auditor
reproduced and shows it refused (or, where the timelock is the defence, possible only after its delay
and visible to everyone meanwhile)."""

from __future__ import annotations

import ape

from devkit.devnet import sign_permit
from devkit.ape_stack import TIMELOCK_DELAY, UNIT, ZERO_ADDRESS, deploy_attestor, deploy_token, mint_id
from devkit.contracts import ape_container

DEFAULT_ADMIN = b"\0" * 32
MAX = 2**256 - 1


def _unauthorized(t, account, role):
    return ape.reverts(t.AccessControlUnauthorizedAccount, account=account.address, neededRole=role)


# ----------------------------------------------------------------------------- finding 2


def test_attack_admin_sets_fake_reserve_attestor_and_mints_500000_against_1000_refused(project, chain, stack, attest, gov):
    s, t = stack, stack.token
    gov.call(t.setMinterLimit, s.minter, 10**30, 0)  # a large bucket: only secure mint stands in the way
    attest(1_000 * UNIT)
    fake = s.admin.deploy(ape_container("FakeReserveAttestor"), "NDPR-OX-995", 18, 10**30)
    fake.bindToken(t.address, sender=s.admin)
    with _unauthorized(t, s.admin, t.GOVERNOR_ROLE()):
        t.setReserveAttestor(fake, sender=s.admin)
    assert t.reserveAttestor() == s.attestor.address
    with ape.reverts(t.ReserveExceeded, requested=500_000 * UNIT, available=1_000 * UNIT):
        t.mint(s.alice, 500_000 * UNIT, mint_id("attack"), sender=s.minter)
    # Through the timelock it is possible only after the delay, and announced (CallScheduled) all along.
    data = t.setReserveAttestor.encode_input(fake.address)
    salt, receipt = gov.schedule(t.address, data)
    (scheduled,) = [e for e in receipt.events if e.event_name == "CallScheduled"]
    assert scheduled.target == t.address and bytes(scheduled.data) == bytes(data)
    assert scheduled.delay == TIMELOCK_DELAY
    with ape.reverts(s.timelock.TimelockUnexpectedOperationState):
        gov.execute(t.address, data, salt)
    with ape.reverts(t.ReserveExceeded):
        t.mint(s.alice, 500_000 * UNIT, mint_id("attack"), sender=s.minter)
    chain.pending_timestamp = chain.pending_timestamp + TIMELOCK_DELAY + 1
    gov.execute(t.address, data, salt)
    assert t.reserveAttestor() == fake.address


def test_attack_admin_grants_a_minter_or_raises_what_it_may_mint_refused(stack):
    s, t = stack, stack.token
    gov_role = t.GOVERNOR_ROLE()
    with _unauthorized(t, s.admin, gov_role):
        t.grantRole(t.MINTER_ROLE(), s.admin, sender=s.admin)
    with _unauthorized(t, s.admin, gov_role):
        t.setMinterLimit(s.minter, 10**30, 10 * UNIT, sender=s.admin)  # raising the capacity
    with _unauthorized(t, s.admin, gov_role):
        t.setMinterLimit(s.minter, 100_000 * UNIT, 11 * UNIT, sender=s.admin)  # raising the refill only
    with _unauthorized(t, s.admin, gov_role):
        t.setMaxAttestationAge(365 * 86_400, sender=s.admin)  # accepting older attestations
    with _unauthorized(t, s.admin, gov_role):
        t.setMintDestinationsRestricted(s.minter, False, sender=s.admin)
    with _unauthorized(t, s.admin, gov_role):
        t.setMintDestination(s.minter, s.alice, True, sender=s.admin)
    assert not t.hasRole(t.MINTER_ROLE(), s.admin) and t.availableToMint(s.minter) <= 100_000 * UNIT


def test_safer_changes_stay_immediate_for_the_admin(stack):
    s, t = stack, stack.token
    t.setMaxAttestationAge(86_400, sender=s.admin)
    assert t.maxAttestationAge() == 86_400
    t.setMinterLimit(s.minter, 50_000 * UNIT, UNIT, sender=s.admin)
    assert t.availableToMint(s.minter) == 50_000 * UNIT
    t.setMintDestinationsRestricted(s.minter, True, sender=s.admin)
    receipt = t.revokeMinter(s.minter, sender=s.admin)
    assert not t.hasRole(t.MINTER_ROLE(), s.minter)
    assert [e.event_name for e in receipt.events] == ["RoleRevoked"]
    with _unauthorized(t, s.minter, t.MINTER_ROLE()):
        t.mint(s.alice, UNIT, mint_id("after revoke"), sender=s.minter)


def test_governor_changes_through_the_timelock_take_effect_after_the_delay(stack, gov):
    s, t = stack, stack.token
    gov.call(t.grantRole, t.MINTER_ROLE(), s.carol)
    gov.call(t.setMinterLimit, s.carol, 7 * UNIT, 0)
    t.mint(s.alice, 7 * UNIT, mint_id("new minter"), sender=s.carol)
    gov.call(t.setMaxAttestationAge, 30 * 86_400)
    assert t.maxAttestationAge() == 30 * 86_400


# ----------------------------------------------------------------------------- finding 3


def test_attack_burns_reopen_mint_room_refused(stack, attest):
    """Reserve 1,000; 300 redeemed and burned; minting 300 more on the same attestation is refused."""
    s, t = stack, stack.token
    attest(1_000 * UNIT)
    as_of = s.attestor.reserveTotal()[1]
    t.mint(s.alice, 1_000 * UNIT, mint_id("all of it"), sender=s.minter)
    rid = t.redemptionCount() + 1
    t.requestRedemption(300 * UNIT, b"\x03" * 32, sender=s.alice)
    t.acceptRedemption(rid, sender=s.operator)
    t.completeRedemption(rid, sender=s.operator)
    assert t.totalSupply() == 700 * UNIT and t.burnedSince(as_of) == 300 * UNIT
    with ape.reverts(t.ReserveExceeded, requested=300 * UNIT, available=0):
        t.mint(s.bob, 300 * UNIT, mint_id("reopened"), sender=s.minter)
    attest(700 * UNIT)  # the custodian's next snapshot no longer holds the delivered metal
    assert t.burnedSince(s.attestor.reserveTotal()[1]) == 0
    with ape.reverts(t.ReserveExceeded, requested=300 * UNIT, available=0):
        t.mint(s.bob, 300 * UNIT, mint_id("reopened"), sender=s.minter)
    attest(1_000 * UNIT)  # restocked: room again
    t.mint(s.bob, 300 * UNIT, mint_id("reopened"), sender=s.minter)
    assert t.totalSupply() == 1_000 * UNIT


# ----------------------------------------------------------------------------- finding 7


def test_attack_lowering_an_exhausted_minters_limit_refills_it_refused(stack):
    s, t = stack, stack.token
    t.setMinterLimit(s.minter, 1_000 * UNIT, 0, sender=s.admin)
    t.mint(s.alice, 1_000 * UNIT, mint_id("exhaust"), sender=s.minter)
    assert t.availableToMint(s.minter) == 0
    t.setMinterLimit(s.minter, 500 * UNIT, 0, sender=s.admin)  # lowering: available = min(0, 500)
    assert t.availableToMint(s.minter) == 0
    with ape.reverts(t.RateLimited, minter=s.minter.address, requested=UNIT, available=0):
        t.mint(s.alice, UNIT, mint_id("refilled?"), sender=s.minter)


def test_lowering_keeps_a_partly_used_bucket_capped_by_the_new_capacity(stack):
    s, t = stack, stack.token
    t.setMinterLimit(s.minter, 1_000 * UNIT, 0, sender=s.admin)
    t.mint(s.alice, 400 * UNIT, mint_id("part"), sender=s.minter)
    t.setMinterLimit(s.minter, 800 * UNIT, 0, sender=s.admin)
    assert t.availableToMint(s.minter) == 600 * UNIT  # min(600, 800)
    t.setMinterLimit(s.minter, 100 * UNIT, 0, sender=s.admin)
    assert t.availableToMint(s.minter) == 100 * UNIT  # min(600, 100)


# ----------------------------------------------------------------------------- finding 8


def test_attack_six_decimal_token_with_eighteen_decimal_attestor_refused(project, stack):
    other = deploy_token(project, stack.admin, stack.timelock.address, decimals=6)  # admin: bootstrap governor
    att18 = deploy_attestor(project, stack.admin, stack.timelock.address, decimals=18)
    att18.bindToken(other.address, sender=stack.admin)
    with ape.reverts(other.AttestorDecimalsMismatch, tokenDecimals=6, attestorDecimals=18):
        other.setReserveAttestor(att18, sender=stack.admin)
    assert other.reserveAttestor() == ZERO_ADDRESS
    att6 = deploy_attestor(project, stack.admin, stack.timelock.address, decimals=6)
    att6.bindToken(other.address, sender=stack.admin)
    other.setReserveAttestor(att6, sender=stack.admin)
    assert other.reserveAttestor() == att6.address


def test_attack_second_token_shares_the_attestor_refused(project, stack):
    s = stack
    second = deploy_token(project, s.admin, s.timelock.address)
    with ape.reverts(second.AttestorNotBound, attestor=s.attestor.address, boundToken=s.token.address):
        second.setReserveAttestor(s.attestor, sender=s.admin)
    with ape.reverts(s.attestor.TokenAlreadyBound, token=s.token.address):  # bound once and for good
        s.attestor.bindToken(second.address, sender=s.admin)
    unbound = deploy_attestor(project, s.admin, s.timelock.address)
    with ape.reverts(second.AttestorNotBound, attestor=unbound.address, boundToken=ZERO_ADDRESS):
        second.setReserveAttestor(unbound, sender=s.admin)
    with ape.reverts():  # nor at initialization
        deploy_token(project, s.admin, s.timelock.address, bind=False, reserve_attestor=s.attestor.address)


def test_bind_token_needs_the_attestor_admin(project, stack):
    s = stack
    fresh = deploy_attestor(project, s.admin, s.timelock.address)
    for caller in (s.stranger, s.minter):
        with ape.reverts(fresh.AccessControlUnauthorizedAccount, account=caller.address, neededRole=DEFAULT_ADMIN):
            fresh.bindToken(s.token.address, sender=caller)
    with ape.reverts(fresh.ZeroAddress):
        fresh.bindToken(ZERO_ADDRESS, sender=s.admin)
    receipt = fresh.bindToken(s.token.address, sender=s.admin)
    assert [e.token for e in receipt.decode_logs(fresh.TokenBound)] == [s.token.address]
    assert fresh.token() == s.token.address


# ----------------------------------------------------------------------------- finding 9


def test_attack_frozen_spender_moves_tokens_refused(funded):
    s, t = funded, funded.token
    t.approve(s.carol, 10 * UNIT, sender=s.alice)
    t.setAddressFrozen(s.carol, True, sender=s.protector)
    before = (t.balanceOf(s.alice), t.balanceOf(s.bob))
    with ape.reverts(t.ERC7943CannotSend, account=s.carol.address):
        t.transferFrom(s.alice, s.bob, 10 * UNIT, sender=s.carol)
    assert (t.balanceOf(s.alice), t.balanceOf(s.bob)) == before and t.allowance(s.alice, s.carol) == 10 * UNIT
    t.setAddressFrozen(s.carol, False, sender=s.protector)
    # in allowlist mode the spender must be on the list too
    t.setAllowlistMode(True, sender=s.compliance)
    for who in (s.alice, s.bob):
        t.setAllowlisted(who, True, sender=s.compliance)
    with ape.reverts(t.ERC7943CannotSend, account=s.carol.address):
        t.transferFrom(s.alice, s.bob, 10 * UNIT, sender=s.carol)
    t.setAllowlisted(s.carol, True, sender=s.compliance)
    t.transferFrom(s.alice, s.bob, 10 * UNIT, sender=s.carol)
    assert t.balanceOf(s.bob) == before[1] + 10 * UNIT


def test_attack_frozen_account_permits_refused(funded, chain):
    s, t = funded, funded.token

    def permit(owner, spender):
        deadline = chain.pending_timestamp + 3600
        v, r, sig = sign_permit(owner.private_key, token_name=t.name(), chain_id=chain.chain_id, token=t.address,
                                owner=owner.address, spender=spender.address, value=UNIT, nonce=t.nonces(owner),
                                deadline=deadline)
        return owner, spender, UNIT, deadline, v, r, sig

    t.setAddressFrozen(s.alice, True, sender=s.protector)
    with ape.reverts(t.AccountFrozen, account=s.alice.address):  # frozen owner
        t.permit(*permit(s.alice, s.bob), sender=s.bob)
    with ape.reverts(t.AccountFrozen, account=s.alice.address):  # frozen spender
        t.permit(*permit(s.bob, s.alice), sender=s.bob)
    t.setAddressFrozen(s.alice, False, sender=s.protector)
    t.permit(*permit(s.alice, s.bob), sender=s.bob)
    assert t.allowance(s.alice, s.bob) == UNIT


def test_attack_frozen_account_receives_refused(funded):
    s, t = funded, funded.token
    t.setAddressFrozen(s.carol, True, sender=s.protector)
    with ape.reverts(t.ERC7943CannotReceive, account=s.carol.address):
        t.transfer(s.carol, UNIT, sender=s.alice)
    with ape.reverts(t.ERC7943CannotReceive, account=s.carol.address):
        t.mint(s.carol, UNIT, mint_id("to frozen"), sender=s.minter)
    t.approve(s.bob, UNIT, sender=s.alice)
    with ape.reverts(t.ERC7943CannotReceive, account=s.carol.address):
        t.transferFrom(s.alice, s.carol, UNIT, sender=s.bob)
    assert t.balanceOf(s.carol) == 0


# ----------------------------------------------------------------------------- finding 10


def test_attack_guardian_unpauses_minting_refused(stack):
    s, t = stack, stack.token
    t.pauseMinting(sender=s.pauser)
    with _unauthorized(t, s.pauser, DEFAULT_ADMIN):
        t.unpauseMinting(sender=s.pauser)
    t.pause(sender=s.pauser)
    with _unauthorized(t, s.pauser, DEFAULT_ADMIN):
        t.unpause(sender=s.pauser)
    assert t.mintingPaused() and t.paused()
    t.unpause(sender=s.admin)
    t.unpauseMinting(sender=s.admin)
    assert not t.mintingPaused() and not t.paused()


# ----------------------------------------------------------------------------- finding 11


def test_forced_transfer_from_whole_address_frozen_account_emits_frozen_before_transfer(funded):
    s, t = funded, funded.token
    t.setAddressFrozen(s.alice, True, sender=s.protector)
    receipt = t.forcedTransfer(s.alice, s.carol, 10 * UNIT, sender=s.protector)
    names = [e.event_name for e in receipt.events]
    assert names.index("Frozen") < names.index("Transfer") < names.index("ForcedTransfer")
    (ev,) = receipt.decode_logs(t.Frozen)
    assert ev.account == s.alice.address and ev.amount == MAX  # still frozen as a whole
    assert t.getFrozenTokens(s.alice) == MAX and t.balanceOf(s.carol) == 10 * UNIT


def test_forced_transfer_from_freeze_all_emits_frozen_before_transfer(funded):
    s, t = funded, funded.token
    t.setFrozenTokens(s.alice, MAX, sender=s.protector)
    receipt = t.forcedTransfer(s.alice, s.carol, 10 * UNIT, sender=s.protector)
    names = [e.event_name for e in receipt.events]
    assert names.index("Frozen") < names.index("Transfer")
    (ev,) = receipt.decode_logs(t.Frozen)
    assert ev.amount == MAX - 10 * UNIT == t.getFrozenTokens(s.alice)


def test_set_frozen_tokens_reads_back_the_value_set(funded):
    s, t = funded, funded.token
    for value in (2**240 - 2, 2**240 - 1, 2**240, 2**255, MAX - 1, MAX, 0, 7):
        receipt = t.setFrozenTokens(s.alice, value, sender=s.protector)
        assert t.getFrozenTokens(s.alice) == value
        assert [e.amount for e in receipt.decode_logs(t.Frozen)] == [value]


# ----------------------------------------------------------------------------- mint destinations


def test_minter_restricted_to_listed_destinations(stack, gov):
    s, t = stack, stack.token
    t.setMintDestinationsRestricted(s.minter, True, sender=s.admin)  # safer: immediate
    assert not t.canMintToAddress(s.minter, s.alice)
    with ape.reverts(t.MintDestinationNotAllowed, minter=s.minter.address, to=s.alice.address):
        t.mint(s.alice, UNIT, mint_id("d1"), sender=s.minter)
    gov.call(t.setMintDestination, s.minter, s.alice, True)  # widening: through the timelock
    t.mint(s.alice, UNIT, mint_id("d1"), sender=s.minter)
    with ape.reverts(t.MintDestinationNotAllowed, minter=s.minter.address, to=s.bob.address):
        t.mint(s.bob, UNIT, mint_id("d2"), sender=s.minter)
    t.setMintDestination(s.minter, s.alice, False, sender=s.admin)  # narrowing: immediate
    with ape.reverts(t.MintDestinationNotAllowed, minter=s.minter.address, to=s.alice.address):
        t.mint(s.alice, UNIT, mint_id("d3"), sender=s.minter)
    gov.call(t.setMintDestinationsRestricted, s.minter, False)
    t.mint(s.bob, UNIT, mint_id("d2"), sender=s.minter)
