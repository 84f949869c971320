"""Stateful model test: random sequences of attestations (fresh, stale, future; good and bad signer
sets; signed under the current or an old config digest; deadline still ahead or already past) and
attestor-set / quorum changes. After every step the contract equals the Python model: attestor set,
quorum, round count, latest attestation, and as-of strictly increasing over rounds.

The model predicts the first refusal in ReserveAttestor.attest's own check order: config digest,
deadline, shape, as-of not newer, as-of in the future, then the signatures (quorum, signers)."""

from __future__ import annotations

from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from stockpile.reserve import Attestation, report_hash, sign_attestation
from stockpile.reserve.signing import default_deadline
from stockpile.signatures import compact_from_bytes

from reserve_helpers import custom_error, submit

KEYS = [Account.from_key(keccak(text=f"stockpile-sm-key-{i}")) for i in range(7)]


def test_attestor_state_machine(deploy_attestor, upgrader, relayer, outsider, chain):
    timelock = upgrader  # holds ATTESTOR_MANAGER_ROLE
    outcomes: dict[str, int] = {}  # predicted outcome of every attest step, over all examples

    class AttestorMachine(RuleBasedStateMachine):
        @initialize(n=st.integers(1, 4), data=st.data())
        def setup(self, n, data):
            self.attestors = [k.address for k in KEYS[:n]]
            self.quorum = data.draw(st.integers(n // 2 + 1, n), label="quorum")  # a strict majority
            self.version = 1
            self.c = deploy_attestor(attestors=self.attestors, quorum=self.quorum)
            self.rounds: list[Attestation] = []
            self.old_digests: list[bytes] = []  # config digests before each attestor-set / quorum change
            self.t = chain.pending_timestamp - 100_000

        def current_as_of(self):
            return self.rounds[-1].as_of if self.rounds else 0

        @rule(data=st.data(), honest=st.booleans(),
              when=st.sampled_from(["fresh", "fresh", "fresh", "same", "older", "future"]), lots=st.integers(0, 5),
              expiry=st.sampled_from(["default"] * 5 + ["expired"]),
              config=st.sampled_from(["current"] * 5 + ["old"]))
        def attest(self, data, honest, when, lots, expiry="default", config="current", picks=None):
            if picks is not None:
                pass
            elif honest:  # registered attestors only (maybe fewer than the quorum)
                pool = [i for i, k in enumerate(KEYS) if k.address in self.attestors]
                picks = data.draw(st.lists(st.sampled_from(pool), unique=True, min_size=len(pool) // 2), label="picks")
            else:
                picks = data.draw(st.lists(st.integers(0, len(KEYS) - 1), unique=True, max_size=5), label="picks")
            self.t += 10
            as_of = {"fresh": self.t, "same": self.current_as_of(), "older": self.current_as_of() - 1,
                     "future": chain.pending_timestamp + 10_000}[when]
            as_of = max(as_of, 0)
            total = lots * 1_000
            root = keccak(text=f"root {self.t}") if lots else b"\0" * 32
            a = Attestation(merkle_root=root, total_quantity=total, lot_count=lots, as_of=as_of,
                            report_hash=report_hash(f"r{self.t}"))
            signers = sorted((KEYS[i] for i in picks), key=lambda k: int(k.address, 16))
            current = bytes(self.c.configDigest())
            digest = current if config == "current" else data.draw(
                st.sampled_from(self.old_digests) if self.old_digests else st.binary(min_size=32, max_size=32),
                label="old digest")
            now = chain.pending_timestamp  # the attest transaction's block time is at least this
            # default: as-of + a week, which is itself already past for an as-of of long ago (such as 0);
            # expired: deliberately a moment to a few weeks before the block time
            deadline = (default_deadline(a) if expiry == "default"
                        else now - data.draw(st.integers(1, 30 * 86_400), label="seconds past the deadline"))
            sigs = [compact_from_bytes(sign_attestation(k, chain.chain_id, self.c.address, a, digest, deadline).signature)
                    for k in signers]
            if digest != current:
                expected = "ConfigDigestMismatch"
            elif now > deadline:
                expected = "SignatureExpired"
            elif as_of <= self.current_as_of():
                expected = "AsOfNotNewer"
            elif as_of > chain.pending_timestamp:
                expected = "AsOfInFuture"
            elif len(signers) < self.quorum:
                expected = "QuorumNotMet"
            elif any(k.address not in self.attestors for k in signers):
                expected = "NotSigner"
            else:
                expected = None
            outcomes[expected or "accepted"] = outcomes.get(expected or "accepted", 0) + 1
            if expected is None:
                submit(self.c, a, sigs, sender=relayer, deadline=deadline, digest=digest)
                self.rounds.append(a)
            else:
                with custom_error(expected):
                    submit(self.c, a, sigs, sender=relayer, deadline=deadline, digest=digest)

        @rule(data=st.data(), lots=st.integers(0, 5))
        def attest_by_quorum(self, data, lots):
            """The common case: a fresh attestation signed by at least a quorum of registered attestors."""
            pool = [i for i, k in enumerate(KEYS) if k.address in self.attestors]
            picks = data.draw(st.lists(st.sampled_from(pool), unique=True, min_size=self.quorum), label="quorum picks")
            self.attest(data, honest=False, when="fresh", lots=lots, expiry="default", config="current", picks=picks)

        @rule(data=st.data(), lots=st.integers(0, 5))
        def attest_after_deadline(self, data, lots):
            """A fresh attestation signed by a quorum under the current config, submitted after its deadline."""
            pool = [i for i, k in enumerate(KEYS) if k.address in self.attestors]
            picks = data.draw(st.lists(st.sampled_from(pool), unique=True, min_size=self.quorum), label="quorum picks")
            self.attest(data, honest=False, when="fresh", lots=lots, expiry="expired", config="current", picks=picks)

        @rule(i=st.integers(0, len(KEYS) - 1), by_timelock=st.booleans())
        def add(self, i, by_timelock):
            addr = KEYS[i].address
            if not by_timelock:
                with custom_error("AccessControlUnauthorizedAccount"):
                    self.c.addAttestor(addr, sender=outsider)
            elif addr in self.attestors:
                with custom_error("AttestorAlreadyRegistered", attestor=addr):
                    self.c.addAttestor(addr, sender=timelock)
            elif 2 * self.quorum <= len(self.attestors) + 1:
                with custom_error("InvalidQuorum", quorum=self.quorum, signers=len(self.attestors) + 1):
                    self.c.addAttestor(addr, sender=timelock)
            else:
                self.old_digests.append(bytes(self.c.configDigest()))
                self.c.addAttestor(addr, sender=timelock)
                self.attestors.append(addr)
                self.version += 1

        @rule(i=st.integers(0, len(KEYS) - 1))
        def remove(self, i):
            addr = KEYS[i].address
            if addr not in self.attestors:
                with custom_error("AttestorNotRegistered", attestor=addr):
                    self.c.removeAttestor(addr, sender=timelock)
            elif len(self.attestors) - 1 < self.quorum:
                with custom_error("InvalidQuorum", quorum=self.quorum, signers=len(self.attestors) - 1):
                    self.c.removeAttestor(addr, sender=timelock)
            else:
                self.old_digests.append(bytes(self.c.configDigest()))
                self.c.removeAttestor(addr, sender=timelock)
                self.attestors.remove(addr)
                self.version += 1

        @rule(q=st.integers(0, 8))
        def set_quorum(self, q):
            if len(self.attestors) < 2 * q and q <= len(self.attestors):
                self.old_digests.append(bytes(self.c.configDigest()))
                self.c.setQuorum(q, sender=timelock)
                self.quorum = q
                self.version += 1
            else:
                with custom_error("InvalidQuorum", quorum=q, signers=len(self.attestors)):
                    self.c.setQuorum(q, sender=timelock)

        @invariant()
        def matches_model(self):
            if not hasattr(self, "c"):
                return
            assert sorted(self.c.attestors()) == sorted(self.attestors)
            assert self.c.quorum() == self.quorum
            assert 2 * self.quorum > len(self.attestors)  # always a strict majority
            assert self.c.configVersion() == self.version
            assert self.c.latestRoundId() == len(self.rounds)
            if self.rounds:
                assert Attestation.from_chain(self.c.latestAttestation()[0]) == self.rounds[-1]
                assert tuple(self.c.reserveTotal()) == (self.rounds[-1].total_quantity, self.rounds[-1].as_of)
                assert all(x.as_of < y.as_of for x, y in zip(self.rounds, self.rounds[1:]))
            else:
                assert tuple(self.c.reserveTotal()) == (0, 0)

    run_state_machine_as_test(
        AttestorMachine,
        settings=settings(max_examples=12, stateful_step_count=12, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]),
    )
    # the run did submit after the deadline (and saw it refused) and did get attestations accepted
    assert outcomes.get("SignatureExpired", 0) > 0 and outcomes.get("accepted", 0) > 0, outcomes
