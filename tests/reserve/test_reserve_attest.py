"""ReserveAttestor on ape's in-process network: quorum signatures, ordering, replay protection,
freshness, attestation shape, events and the proof-of-reserve feed views."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from stockpile.reserve import (
    Attestation,
    attest_tx_signers,
    attestation_digest,
    decode_attest_call,
    recover_signer,
    sign_attestation,
    sign_by_quorum,
)
from stockpile.reserve.signing import default_deadline
from stockpile.signatures import bytes_from_compact, compact_from_bytes, signature_bytes

from reserve_helpers import (
    DECIMALS,
    OUTSIDER_SIGNER,
    PRODUCT,
    SIGNERS,
    custom_error,
    make_attestation,
    recover_compact,
    sample_lots,
    sign,
    submit,
)


def by_address(accts):
    return sorted(accts, key=lambda a: int(a.address, 16))


def test_initial_state(attestor, admin, upgrader):
    assert attestor.productCode() == PRODUCT
    assert attestor.decimals() == DECIMALS
    assert attestor.description() == f"{PRODUCT} reserves"
    assert attestor.version() == 1
    assert attestor.quorum() == 3
    assert sorted(attestor.attestors()) == sorted(s.address for s in SIGNERS)
    assert all(attestor.isAttestor(s.address) for s in SIGNERS)
    assert not attestor.isAttestor(OUTSIDER_SIGNER.address)
    assert attestor.latestRoundId() == 0
    att, round_id, attested_at = attestor.latestAttestation()
    assert (tuple(att), round_id, attested_at) == ((b"\0" * 32, 0, 0, 0, b"\0" * 32), 0, 0)
    assert tuple(attestor.reserveTotal()) == (0, 0)
    assert attestor.hasRole(attestor.DEFAULT_ADMIN_ROLE(), admin)
    assert not attestor.hasRole(attestor.ATTESTOR_MANAGER_ROLE(), admin)
    assert attestor.hasRole(attestor.ATTESTOR_MANAGER_ROLE(), upgrader)  # the timelock
    assert attestor.hasRole(attestor.UPGRADER_ROLE(), upgrader)
    assert attestor.configVersion() == 1
    assert not attestor.hasRole(attestor.UPGRADER_ROLE(), admin)
    with custom_error("NoAttestation"):
        attestor.latestRoundData()
    with custom_error("UnknownRound", roundId=1):
        attestor.getRoundData(1)


def test_digest_matches_python_typed_data(attestor, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    digest, deadline = bytes(attestor.configDigest()), as_of + 600
    assert bytes(attestor.attestationDigest(a.as_tuple(), digest, deadline)) == attestation_digest(
        chain.chain_id, attestor.address, a, digest, deadline)
    assert digest == keccak(chain.chain_id.to_bytes(32, "big") + bytes(12) + bytes.fromhex(attestor.address[2:])
                            + (1).to_bytes(32, "big"))
    name, version, chain_id, verifying = tuple(attestor.eip712Domain())[1:5]
    assert (name, version, chain_id, verifying) == ("Stockpile ReserveAttestor", "1", chain.chain_id, attestor.address)


def test_quorum_attestation_is_accepted_from_a_relayer(attestor, relayer, chain, as_of):
    lots = sample_lots(25)
    a = make_attestation(lots, as_of)
    assert a.lot_count == 25 and a.total_quantity == sum(l.quantity for l in lots)
    sigs = sign(attestor, a, SIGNERS[1:4], chain.chain_id)
    tx = submit(attestor, a, sigs, sender=relayer)

    events = list(tx.decode_logs(attestor.ReserveAttested))
    assert len(events) == 1
    ev = events[0]
    assert ev.roundId == 1
    assert bytes(ev.merkleRoot) == a.merkle_root and ev.totalQuantity == a.total_quantity
    assert ev.lotCount == 25 and ev.asOf == as_of and bytes(ev.reportHash) == a.report_hash

    block_ts = chain.provider.get_block(tx.block_number).timestamp
    att, round_id, attested_at = attestor.latestAttestation()
    assert Attestation.from_chain(att) == a
    assert (round_id, attested_at) == (1, block_ts)
    assert tuple(attestor.reserveTotal()) == (a.total_quantity, as_of)
    assert tuple(attestor.latestRoundData()) == (1, a.total_quantity, as_of, block_ts, 1)
    assert tuple(attestor.getRoundData(1)) == (1, a.total_quantity, as_of, block_ts, 1)
    att1, at1 = attestor.attestationAt(1)
    assert Attestation.from_chain(att1) == a and at1 == block_ts


def test_all_attestors_may_sign_and_rounds_accumulate(attestor, relayer, chain, as_of):
    a1 = make_attestation(sample_lots(5), as_of - 100)
    submit(attestor, a1, sign(attestor, a1, SIGNERS, chain.chain_id), sender=relayer)
    a2 = make_attestation(sample_lots(7), as_of)
    tx = submit(attestor, a2, sign(attestor, a2, SIGNERS[2:], chain.chain_id), sender=relayer)
    assert tx.return_value == 2 or tx.return_value is None  # return value needs tracing support
    assert attestor.latestRoundId() == 2
    assert attestor.getRoundData(1)[1] == a1.total_quantity
    assert attestor.getRoundData(2)[1] == a2.total_quantity
    assert tuple(attestor.reserveTotal()) == (a2.total_quantity, a2.as_of)
    with custom_error("UnknownRound", roundId=3):
        attestor.getRoundData(3)
    with custom_error("UnknownRound", roundId=0):
        attestor.attestationAt(0)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_quorum_not_met(attestor, relayer, chain, as_of, n):
    a = make_attestation(sample_lots(3), as_of)
    with custom_error("QuorumNotMet", signatures=n, needed=3):
        submit(attestor, a, sign(attestor, a, SIGNERS[:n], chain.chain_id), sender=relayer)
    assert attestor.latestRoundId() == 0


def test_signature_from_a_non_attestor(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    sigs = sign(attestor, a, SIGNERS[:2] + [OUTSIDER_SIGNER], chain.chain_id)
    with custom_error("NotSigner", recovered=OUTSIDER_SIGNER.address):
        submit(attestor, a, sigs, sender=relayer)
    assert attestor.latestRoundId() == 0


def test_duplicated_signer(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    s0, s1 = by_address(SIGNERS)[:2]
    digest, deadline = bytes(attestor.configDigest()), default_deadline(a)
    one = sign_attestation(s0, chain.chain_id, attestor.address, a, digest, deadline).signature
    two = sign_attestation(s1, chain.chain_id, attestor.address, a, digest, deadline).signature
    with custom_error("DuplicateSigner", signer=s1.address):
        submit(attestor, a, [compact_from_bytes(x) for x in (one, two, two)], sender=relayer)
    with pytest.raises(ValueError, match="signed twice"):  # the Python helper refuses it before sending
        from stockpile.reserve import SignedAttestation, order_signatures
        order_signatures([SignedAttestation(s1.address, two), SignedAttestation(s1.address, two)])


def test_unordered_signers(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    ordered = sign(attestor, a, SIGNERS[:3], chain.chain_id)
    lo, mid, hi = by_address(SIGNERS[:3])
    with custom_error("SignersNotOrdered", index=1):
        submit(attestor, a, [ordered[1], ordered[0], ordered[2]], sender=relayer)
    with custom_error("SignersNotOrdered", index=2):
        submit(attestor, a, [ordered[0], ordered[2], ordered[1]], sender=relayer)
    assert attestor.latestRoundId() == 0


def test_signatures_over_another_chain_id_are_refused(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    sigs = sign(attestor, a, SIGNERS[:3], chain_id=1)  # mainnet's chain id
    # On this chain the digest differs, so the first signature recovers to an unrelated address.
    ghost = recover_compact(chain.chain_id, attestor, a, sigs[0])
    assert ghost not in {s.address for s in SIGNERS}
    with custom_error("NotSigner", recovered=ghost):
        submit(attestor, a, sigs, sender=relayer)
    assert attestor.latestRoundId() == 0


def test_signatures_for_another_attestor_contract_are_not_replayable(deploy_attestor, attestor, relayer, chain, as_of):
    other = deploy_attestor()  # same product, same attestor set, another address
    a = make_attestation(sample_lots(3), as_of)
    sigs = sign(other, a, SIGNERS[:3], chain.chain_id)
    submit(other, a, sigs, sender=relayer)  # valid where they were meant for
    ghost = recover_compact(chain.chain_id, attestor, a, sigs[0])
    with custom_error("NotSigner", recovered=ghost):
        submit(attestor, a, sigs, sender=relayer)
    assert attestor.latestRoundId() == 0 and other.latestRoundId() == 1


def test_tampered_values_are_refused(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    sigs = sign(attestor, a, SIGNERS[:3], chain.chain_id)
    inflated = a.model_copy(update={"total_quantity": a.total_quantity + 1})
    ghost = recover_compact(chain.chain_id, attestor, inflated, sigs[0])
    with custom_error("NotSigner", recovered=ghost):
        submit(attestor, inflated, sigs, sender=relayer)


def test_stale_attestations_are_refused(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    # the same attestation again (a replay) and a different one with the same as-of time
    with custom_error("AsOfNotNewer", asOf=as_of, currentAsOf=as_of):
        submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    same = make_attestation(sample_lots(4), as_of, report="other")
    with custom_error("AsOfNotNewer", asOf=as_of, currentAsOf=as_of):
        submit(attestor, same, sign(attestor, same, SIGNERS[:3], chain.chain_id), sender=relayer)
    older = make_attestation(sample_lots(30), as_of - 1)
    with custom_error("AsOfNotNewer", asOf=as_of - 1, currentAsOf=as_of):
        submit(attestor, older, sign(attestor, older, SIGNERS[:3], chain.chain_id), sender=relayer)
    assert attestor.latestRoundId() == 1
    assert tuple(attestor.reserveTotal()) == (a.total_quantity, as_of)


def test_future_attestation_is_refused(attestor, relayer, chain):
    future = chain.pending_timestamp + 3600
    a = make_attestation(sample_lots(3), future)
    with custom_error("AsOfInFuture", asOf=future) as info:
        submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    assert info.inputs["blockTimestamp"] < future
    assert attestor.latestRoundId() == 0


@pytest.mark.parametrize("bad", ["high_s", "zero_r", "zero"])
def test_malformed_signature(attestor, relayer, chain, as_of, bad):
    a = make_attestation(sample_lots(3), as_of)
    sigs = sign(attestor, a, SIGNERS[:3], chain.chain_id)
    r, vs = (int.from_bytes(bytes(x), "big") for x in sigs[1])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    if bad == "high_s":  # an s in the upper half (the malleable form): OpenZeppelin's ECDSA refuses it
        vs = n // 2 + 1
    elif bad == "zero_r":
        r = 0
    else:
        r = vs = 0
    sigs[1] = (r.to_bytes(32, "big"), vs.to_bytes(32, "big"))
    with custom_error("InvalidSignature", index=1):
        submit(attestor, a, sigs, sender=relayer)


def _attest(attestor, a, relayer, chain):
    return submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"report_hash": b"\0" * 32}, "ZeroReportHash"),
        ({"merkle_root": b"\0" * 32}, "ZeroMerkleRoot"),
        ({"lot_count": 0}, "ZeroLotCount"),
        ({"total_quantity": 0}, "ZeroTotalQuantity"),
        ({"lot_count": 10**30 % 2**64, "total_quantity": 5}, "LotCountExceedsTotal"),
    ],
)
def test_malformed_attestations(attestor, relayer, chain, as_of, change, error):
    a = make_attestation(sample_lots(3), as_of).model_copy(update=change)
    with custom_error(error):
        _attest(attestor, a, relayer, chain)
    assert attestor.latestRoundId() == 0


def test_total_too_large_for_the_feed(attestor, relayer, chain, as_of):
    base = make_attestation(sample_lots(3), as_of)
    a = Attestation.model_construct(**{**dict(base), "total_quantity": 2**255})  # bypasses the model's own bound
    with custom_error("TotalQuantityTooLarge", totalQuantity=2**255):
        _attest(attestor, a, relayer, chain)
    with pytest.raises(ValueError):
        base.model_copy(update={}).model_validate({**base.model_dump(), "total_quantity": 2**255})


def test_lot_count_exceeds_total_inputs(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of).model_copy(update={"lot_count": 6, "total_quantity": 5})
    with custom_error("LotCountExceedsTotal", lotCount=6, totalQuantity=5):
        _attest(attestor, a, relayer, chain)


def test_empty_reserve_is_attestable(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of - 10)
    _attest(attestor, a, relayer, chain)
    empty = Attestation.empty(as_of, keccak(text="all lots delivered"))
    _attest(attestor, empty, relayer, chain)
    assert tuple(attestor.reserveTotal()) == (0, as_of)
    assert attestor.latestRoundData()[1] == 0
    # no lot verifies against an empty reserve, even with an empty proof on a zero root
    assert attestor.verifyLeaf(b"\0" * 32, []) is False


def test_signed_by_python_helpers_only_with_real_keys(attestor, chain, as_of):
    a = make_attestation(sample_lots(2), as_of)
    digest, deadline = bytes(attestor.configDigest()), default_deadline(a)
    for s in SIGNERS:
        sig = sign_attestation(s, chain.chain_id, attestor.address, a, digest, deadline)
        assert recover_signer(chain.chain_id, attestor.address, a, digest, deadline, sig.signature) == s.address
    assert sign_by_quorum(SIGNERS[:3], chain.chain_id, attestor.address, a, digest, deadline) == sign(
        attestor, a, SIGNERS[:3], chain.chain_id)


def test_compact_signature_converts_back_to_the_signed_bytes(attestor, chain, as_of):
    a = make_attestation(sample_lots(2), as_of)
    digest, deadline = bytes(attestor.configDigest()), default_deadline(a)
    for s in SIGNERS:
        sig = sign_attestation(s, chain.chain_id, attestor.address, a, digest, deadline).signature
        r, vs = compact_from_bytes(sig)
        assert bytes_from_compact(r, vs) == sig == signature_bytes((r, vs)) == signature_bytes({"r": r, "vs": vs})
        # recover_signer takes the compact form as attest does, and agrees with the contract's recovery
        assert recover_signer(chain.chain_id, attestor.address, a, digest, deadline, (r, vs)) == s.address
        assert recover_compact(chain.chain_id, attestor, a, (r, vs)) == s.address
    with pytest.raises(ValueError, match="high-s"):
        bytes_from_compact(b"\1" * 32, (2**255 - 1).to_bytes(32, "big"))
    with pytest.raises(ValueError, match="65-byte"):
        signature_bytes(b"\1" * 64)


def test_signers_are_recovered_from_the_attest_transaction(attestor, deploy_attestor, relayer, upgrader, chain, as_of):
    """What the reconciliation and the portal show as "signed by": recovered from the calldata of
    ``attest(a, configDigest, deadline, signatures)`` with the reserve module's digest."""
    w3 = chain.provider.web3
    a = make_attestation(sample_lots(4), as_of)
    chosen = [SIGNERS[4], SIGNERS[0], SIGNERS[2]]
    deadline = as_of + 3_600
    digest = bytes(attestor.configDigest())
    receipt = submit(attestor, a, sign(attestor, a, chosen, chain.chain_id, deadline=deadline), sender=relayer,
                     deadline=deadline)
    tx_hash = receipt.txn_hash
    call = decode_attest_call(w3.eth.get_transaction(tx_hash)["input"])
    assert (call.attestation, call.config_digest, call.deadline) == (a, digest, deadline)
    got = attest_tx_signers(w3, chain.chain_id, attestor.address, tx_hash)
    assert got == [s.address for s in by_address(chosen)]  # call order: ascending signer address
    # a transaction that did not call attest on this attestor names nothing
    other = deploy_attestor()
    on_other = submit(other, a, sign(other, a, chosen, chain.chain_id), sender=relayer)
    with pytest.raises(ValueError, match="not to the attestor"):
        attest_tx_signers(w3, chain.chain_id, attestor.address, on_other.txn_hash)
    change = attestor.setQuorum(4, sender=upgrader)
    with pytest.raises(ValueError, match="calls setQuorum, not attest"):
        attest_tx_signers(w3, chain.chain_id, attestor.address, change.txn_hash)
