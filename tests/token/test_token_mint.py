"""Mint: idempotent ids, allowed recipients, per-minter token bucket, secure mint against the real
ReserveAttestor (reserve cap, staleness, no attestation). Each refusal names its custom error and
leaves supply and balances unchanged."""

from __future__ import annotations

import ape

from devkit.ape_stack import MAX_AGE, RESERVE, UNIT, ZERO_ADDRESS, deploy_attestor, deploy_token, mint_id


def _state(stack):
    t = stack.token
    return t.totalSupply(), t.balanceOf(stack.alice), t.balanceOf(stack.bob)


def test_metadata(stack):
    t = stack.token
    assert t.name() == "Stockpile NdPr Oxide" and t.symbol() == "NDPR" and t.decimals() == 18
    assert t.productCode() == "NDPR-OX-995"
    assert t.unitDescription() == "NdPr oxide, 1 kg, 99.5%"
    assert t.reserveAttestor() == stack.attestor.address and t.maxAttestationAge() == MAX_AGE


def test_decimals_are_configurable(project, stack):
    other = deploy_token(project, stack.admin, stack.timelock.address, decimals=6)
    assert other.decimals() == 6


def test_mint_emits_minted_and_transfer(stack):
    t = stack.token
    mid = mint_id("deposit-1")
    receipt = t.mint(stack.alice, 250 * UNIT, mid, sender=stack.minter)
    assert t.balanceOf(stack.alice) == 250 * UNIT and t.totalSupply() == 250 * UNIT
    assert t.mintIdUsed(mid)
    minted = list(receipt.decode_logs(t.Minted))
    assert len(minted) == 1
    ev = minted[0]
    assert ev.mintId == mid and ev.to == stack.alice.address and ev.amount == 250 * UNIT
    assert ev.minter == stack.minter.address
    transfers = list(receipt.decode_logs(t.Transfer))
    assert transfers[0]["from"] == ZERO_ADDRESS and transfers[0].value == 250 * UNIT


def test_mint_id_cannot_be_reused(stack):
    t, mid = stack.token, mint_id("once")
    t.mint(stack.alice, UNIT, mid, sender=stack.minter)
    before = _state(stack)
    with ape.reverts(t.MintIdUsed, mintId=mid):
        t.mint(stack.alice, UNIT, mid, sender=stack.minter)
    with ape.reverts(t.MintIdUsed, mintId=mid):  # not even to another holder or amount
        t.mint(stack.bob, 2 * UNIT, mid, sender=stack.minter)
    assert _state(stack) == before


def test_zero_amount_and_zero_address_refused(stack):
    t = stack.token
    before = _state(stack)
    with ape.reverts(t.ZeroAmount):
        t.mint(stack.alice, 0, mint_id("z1"), sender=stack.minter)
    with ape.reverts(t.ZeroAddress):
        t.mint(ZERO_ADDRESS, UNIT, mint_id("z2"), sender=stack.minter)
    with ape.reverts(t.ERC20InvalidReceiver, receiver=t.address):
        t.mint(t.address, UNIT, mint_id("z3"), sender=stack.minter)
    assert _state(stack) == before
    assert not t.mintIdUsed(mint_id("z1"))


def test_mint_to_frozen_address_refused(stack):
    t = stack.token
    t.setAddressFrozen(stack.alice, True, sender=stack.protector)
    with ape.reverts(t.ERC7943CannotReceive, account=stack.alice.address):
        t.mint(stack.alice, UNIT, mint_id("f"), sender=stack.minter)
    t.setAddressFrozen(stack.alice, False, sender=stack.protector)
    t.mint(stack.alice, UNIT, mint_id("f"), sender=stack.minter)
    assert t.balanceOf(stack.alice) == UNIT


def test_mint_in_allowlist_mode_only_to_allowlisted(stack):
    t = stack.token
    t.setAllowlistMode(True, sender=stack.compliance)
    with ape.reverts(t.ERC7943CannotReceive, account=stack.alice.address):
        t.mint(stack.alice, UNIT, mint_id("a"), sender=stack.minter)
    t.setAllowlisted(stack.alice, True, sender=stack.compliance)
    t.mint(stack.alice, UNIT, mint_id("a"), sender=stack.minter)
    assert t.balanceOf(stack.alice) == UNIT


def test_mint_refused_while_paused(stack):
    t = stack.token
    t.pause(sender=stack.pauser)
    with ape.reverts(t.EnforcedPause):
        t.mint(stack.alice, UNIT, mint_id("p"), sender=stack.minter)
    t.unpause(sender=stack.admin)
    t.mint(stack.alice, UNIT, mint_id("p"), sender=stack.minter)


def test_minting_pause_stops_mints_only(stack):
    """A guardian's answer to supply above reserve: mints stop, holders keep transferring."""
    t = stack.token
    t.mint(stack.alice, 2 * UNIT, mint_id("before minting pause"), sender=stack.minter)
    receipt = t.pauseMinting(sender=stack.pauser)
    assert t.mintingPaused() and not t.paused()
    assert [e.account for e in receipt.decode_logs(t.MintingPaused)] == [stack.pauser.address]
    before = _state(stack)
    with ape.reverts(t.MintingIsPaused):
        t.mint(stack.alice, UNIT, mint_id("during minting pause"), sender=stack.minter)
    assert _state(stack) == before
    t.transfer(stack.bob, UNIT, sender=stack.alice)  # transfers go on
    with ape.reverts(t.MintingPauseUnchanged, paused=True):
        t.pauseMinting(sender=stack.pauser)
    t.unpauseMinting(sender=stack.admin)
    assert not t.mintingPaused()
    with ape.reverts(t.MintingPauseUnchanged, paused=False):
        t.unpauseMinting(sender=stack.admin)
    t.mint(stack.alice, UNIT, mint_id("during minting pause"), sender=stack.minter)


def test_rate_limit_token_bucket(stack, chain):
    t = stack.token
    t.setMinterLimit(stack.minter, 100 * UNIT, UNIT, sender=stack.admin)  # 100 capacity, 1/s refill
    assert t.availableToMint(stack.minter) == 100 * UNIT
    t.mint(stack.alice, 80 * UNIT, mint_id("r1"), sender=stack.minter)
    left = t.availableToMint(stack.minter)
    assert 20 * UNIT <= left <= 21 * UNIT
    before = _state(stack)
    ts = chain.pending_timestamp
    chain.pending_timestamp = ts  # freeze the next block's time so "available" is exact
    expected = min(100 * UNIT, 20 * UNIT + (ts - chain.blocks.head.timestamp) * UNIT)
    with ape.reverts(t.RateLimited, minter=stack.minter.address, requested=50 * UNIT, available=expected):
        t.mint(stack.alice, 50 * UNIT, mint_id("r2"), sender=stack.minter)
    assert _state(stack) == before
    chain.pending_timestamp = chain.pending_timestamp + 30  # refill 30 more
    t.mint(stack.alice, 50 * UNIT, mint_id("r2"), sender=stack.minter)
    chain.pending_timestamp = chain.pending_timestamp + 10_000  # refill is capped by capacity
    assert t.availableToMint(stack.minter) <= 100 * UNIT
    with ape.reverts(t.RateLimited):
        t.mint(stack.alice, 101 * UNIT, mint_id("r3"), sender=stack.minter)


def test_rate_limit_is_per_minter(stack, gov):
    t = stack.token
    second = stack.carol
    gov.call(t.grantRole, t.MINTER_ROLE(), second)
    with ape.reverts(t.RateLimited, minter=second.address, requested=UNIT, available=0):
        t.mint(stack.alice, UNIT, mint_id("m2"), sender=second)
    gov.call(t.setMinterLimit, second, 5 * UNIT, 0)
    t.mint(stack.alice, 5 * UNIT, mint_id("m2"), sender=second)
    assert t.availableToMint(second) == 0
    assert t.availableToMint(stack.minter) >= 100_000 * UNIT - UNIT  # untouched


def test_minter_limit_values_must_fit(project, stack):
    t = deploy_token(project, stack.admin, stack.timelock.address)  # the admin is still bootstrap governor
    with ape.reverts(t.ValueTooLarge, value=2**128):
        t.setMinterLimit(stack.minter, 2**128, 0, sender=stack.admin)
    with ape.reverts(t.ZeroAddress):
        t.setMinterLimit(ZERO_ADDRESS, 1, 0, sender=stack.admin)


def test_secure_mint_capped_by_attested_reserve(stack, attest):
    t = stack.token
    attest(150 * UNIT)
    t.mint(stack.alice, 100 * UNIT, mint_id("s1"), sender=stack.minter)
    before = _state(stack)
    with ape.reverts(t.ReserveExceeded, requested=51 * UNIT, available=50 * UNIT):
        t.mint(stack.bob, 51 * UNIT, mint_id("s2"), sender=stack.minter)
    assert _state(stack) == before and t.balanceOf(stack.bob) == 0
    t.mint(stack.bob, 50 * UNIT, mint_id("s2"), sender=stack.minter)  # exactly up to the reserve
    assert t.totalSupply() == 150 * UNIT
    with ape.reverts(t.ReserveExceeded, requested=1, available=0):
        t.mint(stack.bob, 1, mint_id("s3"), sender=stack.minter)


def test_reserve_below_supply_blocks_minting(stack, attest):
    t = stack.token
    t.mint(stack.alice, 100 * UNIT, mint_id("d1"), sender=stack.minter)
    attest(60 * UNIT)  # material left the warehouse
    with ape.reverts(t.ReserveExceeded, requested=1, available=0):
        t.mint(stack.alice, 1, mint_id("d2"), sender=stack.minter)
    attest(0, lots=0)  # empty reserve
    with ape.reverts(t.ReserveExceeded, requested=1, available=0):
        t.mint(stack.alice, 1, mint_id("d2"), sender=stack.minter)


def test_escrowed_tokens_still_count_against_the_reserve(stack, attest):
    t = stack.token
    attest(100 * UNIT)
    t.mint(stack.alice, 100 * UNIT, mint_id("e1"), sender=stack.minter)
    t.requestRedemption(40 * UNIT, b"\x07" * 32, sender=stack.alice)
    with ape.reverts(t.ReserveExceeded, requested=UNIT, available=0):
        t.mint(stack.bob, UNIT, mint_id("e2"), sender=stack.minter)
    t.rejectRedemption(1, b"\x01" * 32, sender=stack.operator)  # refunded: still no room
    with ape.reverts(t.ReserveExceeded, requested=UNIT, available=0):
        t.mint(stack.bob, UNIT, mint_id("e2"), sender=stack.minter)


def test_stale_attestation_refused(stack, attest, chain):
    t = stack.token
    attest(RESERVE * 2)
    as_of = stack.attestor.reserveTotal()[1]
    chain.pending_timestamp = as_of + MAX_AGE  # exactly max age: accepted
    t.mint(stack.alice, UNIT, mint_id("t1"), sender=stack.minter)
    chain.pending_timestamp = as_of + MAX_AGE + 1
    before = _state(stack)
    with ape.reverts(t.AttestationStale, asOf=as_of, maxAge=MAX_AGE):
        t.mint(stack.alice, UNIT, mint_id("t2"), sender=stack.minter)
    assert _state(stack) == before
    attest(RESERVE * 2)  # a fresh attestation restores minting
    t.mint(stack.alice, UNIT, mint_id("t2"), sender=stack.minter)


def test_max_attestation_age_is_configurable(stack, chain):
    t = stack.token
    t.setMaxAttestationAge(5, sender=stack.admin)
    chain.pending_timestamp = chain.pending_timestamp + 60
    with ape.reverts(t.AttestationStale):
        t.mint(stack.alice, UNIT, mint_id("c1"), sender=stack.minter)
    with ape.reverts(t.ZeroAmount):
        t.setMaxAttestationAge(0, sender=stack.admin)


def test_no_attestation_refused(project, stack):
    empty = deploy_attestor(project, stack.admin, stack.timelock.address)
    t = deploy_token(project, stack.admin, stack.timelock.address, empty.address)  # bound, set by the bootstrap governor
    assert t.reserveAttestor() == empty.address and empty.token() == t.address
    t.grantRole(t.MINTER_ROLE(), stack.minter, sender=stack.admin)
    t.setMinterLimit(stack.minter, UNIT, 0, sender=stack.admin)
    with ape.reverts(t.NoAttestation):
        t.mint(stack.alice, UNIT, mint_id("n1"), sender=stack.minter)
    with ape.reverts(t.ZeroAddress):
        t.setReserveAttestor(ZERO_ADDRESS, sender=stack.admin)


def test_attestor_of_another_product_refused(project, stack):
    t = deploy_token(project, stack.admin, stack.timelock.address)  # the admin is still bootstrap governor
    other = deploy_attestor(project, stack.admin, stack.timelock.address, product_code="DY-OX-999")
    other.bindToken(t.address, sender=stack.admin)
    with ape.reverts(t.AttestorProductMismatch, expected="NDPR-OX-995", actual="DY-OX-999"):
        t.setReserveAttestor(other, sender=stack.admin)
    assert t.reserveAttestor() == ZERO_ADDRESS
    with ape.reverts():  # also at initialization (the proxy deployment reverts)
        deploy_token(project, stack.admin, stack.timelock.address, bind=False, reserve_attestor=other.address)


def test_initialize_refuses_zero_max_age_and_zero_admin(project, stack):
    with ape.reverts():
        deploy_token(project, stack.admin, stack.timelock.address, stack.attestor.address, max_attestation_age=0)
    with ape.reverts():
        deploy_token(project, stack.admin, ZERO_ADDRESS, stack.attestor.address)


def test_token_without_attestor_refuses_mint(project, stack):
    other = deploy_token(project, stack.admin, stack.timelock.address, ZERO_ADDRESS)
    other.grantRole(other.MINTER_ROLE(), stack.minter, sender=stack.admin)
    other.setMinterLimit(stack.minter, UNIT, 0, sender=stack.admin)
    with ape.reverts(other.NoAttestation):
        other.mint(stack.alice, UNIT, mint_id("x"), sender=stack.minter)
