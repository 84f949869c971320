"""Model-based property test: for any list of signers (attestors, outsiders, duplicates, any order)
the contract accepts exactly when the Python model of the rules says so, and otherwise refuses
with the model's error and arguments."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from stockpile.reserve import sign_attestation

from reserve_helpers import SIGNERS, custom_error, make_attestation, sample_lots
from eth_account import Account
from eth_utils import keccak

OUTSIDERS = [Account.from_key(keccak(text=f"stockpile-test-outsider-{i}")) for i in range(2)]
POOL = SIGNERS + OUTSIDERS


def expected_outcome(signers: list, attestors: set[str], quorum: int):
    """(error name, inputs) the contract must raise, or None when it must accept."""
    if len(signers) < quorum:
        return "QuorumNotMet", {"got": len(signers), "needed": quorum}
    previous = 0
    for s in signers:
        addr = int(s.address, 16)
        if s.address not in attestors:
            return "NotAttestor", {"signer": s.address}
        if addr <= previous:
            if addr == previous:
                return "DuplicateSigner", {"signer": s.address}
            return "SignersNotOrdered", {"previous": f"0x{previous:040x}", "signer": s.address}
        previous = addr
    return None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.one_of(st.lists(st.integers(0, len(POOL) - 1), max_size=7),  # anything, outsiders and repeats
                      st.lists(st.integers(0, len(SIGNERS) - 1), unique=True, max_size=5)),  # distinct attestors
       sort=st.booleans(),
       quorum=st.integers(1, 5))
def test_signature_rules_match_the_model(attestor, admin, relayer, chain, picks, sort, quorum):
    if attestor.quorum() != quorum:
        attestor.setQuorum(quorum, sender=admin)
    signers = [POOL[i] for i in picks]
    if sort:  # sorted lists exercise the accepting path and duplicates far more often
        signers.sort(key=lambda a: int(a.address, 16))
    current = attestor.reserveTotal()[1]
    as_of = max(current + 1, chain.pending_timestamp - 10_000 + len(picks))
    a = make_attestation(sample_lots(2), as_of, report=f"p{picks}")
    sigs = [sign_attestation(s, chain.chain_id, attestor.address, a).signature for s in signers]
    outcome = expected_outcome(signers, {s.address for s in SIGNERS}, quorum)
    rounds = attestor.latestRoundId()
    event(outcome[0] if outcome else "accepted")
    if outcome is None:
        attestor.attest(a.as_tuple(), sigs, sender=relayer)
        assert attestor.latestRoundId() == rounds + 1
        assert tuple(attestor.reserveTotal()) == (a.total_quantity, as_of)
    else:
        name, inputs = outcome
        with custom_error(name, **inputs):
            attestor.attest(a.as_tuple(), sigs, sender=relayer)
        assert attestor.latestRoundId() == rounds
