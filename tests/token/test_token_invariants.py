"""Hypothesis stateful test over random sequences of mint / transfer / redemption request /
accept / complete / reject / cancel / freeze / forced transfer / attest on ape's in-process chain.

A Python model predicts whether each action must succeed; the chain must agree. Invariants after
every step: sum of holder balances + escrow == totalSupply (escrow held at the token's address),
model balances == chain balances; after every successful mint totalSupply + burned since the
attestation's as-of <= attested total (burns after the snapshot do not reopen mint room); a mint id
is never accepted twice; a request the operator accepted is never cancelled.

The invariant reads each value once per step, in one eth_call through Multicall3 (devkit.ape_stack.Views):
the same views of the token, at about the cost of one ape call.
"""

from __future__ import annotations

from ape.exceptions import ContractLogicError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from devkit.ape_stack import MIN_REDEMPTION, UNIT, Attest, Timelocked, Views, mint_id

HOLDERS = range(4)
AMOUNTS = st.integers(min_value=0, max_value=300).map(lambda n: n * UNIT // 4)
MINT_IDS = st.integers(min_value=0, max_value=15)  # small pool: reuse happens


def _ok(fn, *args, **kw) -> bool:
    try:
        fn(*args, **kw)
        return True
    except ContractLogicError:
        return False


def test_token_invariants(stack, chain):
    s = stack
    t = s.token
    holders = [s.alice, s.bob, s.carol, s.stranger]
    Timelocked(s.timelock, chain, s.admin).call(t.setMinterLimit, s.minter, 10**30, 0)  # the bucket has its own tests
    attest = Attest(s.attestor, chain, s.admin, chain.chain_id)
    run = {"n": 0}
    views = Views(s.admin, chain)
    reads = views.prepare([*[(t.balanceOf, h) for h in holders], (t.totalEscrowed,), (t.balanceOf, t.address),
                           (t.totalSupply,)])

    class TokenMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            run["n"] += 1
            self.snapshot = chain.snapshot()
            self.prefix = f"run{run['n']}:"
            self.balances = [0] * len(holders)
            self.frozen = [False] * len(holders)
            self.partial = [0] * len(holders)
            self.escrow = 0
            self.supply = 0
            self.reserve = s.attestor.reserveTotal()[0]
            self.used_ids: set[int] = set()
            self.minted_ids: list[bytes] = []
            self.requests: dict[int, tuple[int, int, int]] = {}  # id -> (holder, amount, status)
            self.burns: list[tuple[int, int]] = []  # (block timestamp, amount) of every completed redemption

        def _burned_since(self, as_of):
            return sum(a for ts, a in self.burns if ts >= as_of)

        def teardown(self):
            chain.restore(self.snapshot)

        def _unfrozen(self, i):
            return max(0, self.balances[i] - self.partial[i])

        @rule(to=st.sampled_from(HOLDERS), amount=AMOUNTS, key=MINT_IDS)
        def mint(self, to, amount, key):
            mid = mint_id(self.prefix + str(key))
            as_of = s.attestor.reserveTotal()[1]
            expect = amount > 0 and key not in self.used_ids and not self.frozen[to] \
                and self.supply + self._burned_since(as_of) + amount <= self.reserve
            ok = _ok(t.mint, holders[to], amount, mid, sender=s.minter)
            assert ok == expect, ("mint", to, amount, key)
            if ok:
                assert mid not in self.minted_ids  # never twice
                self.minted_ids.append(mid)
                self.used_ids.add(key)
                self.balances[to] += amount
                self.supply += amount
                total, as_of = s.attestor.reserveTotal()
                assert t.burnedSince(as_of) == self._burned_since(as_of)
                assert t.totalSupply() + t.burnedSince(as_of) <= total
            assert t.mintIdUsed(mid) == (key in self.used_ids)

        @rule(src=st.sampled_from(HOLDERS), dst=st.sampled_from(HOLDERS), amount=AMOUNTS)
        def transfer(self, src, dst, amount):
            expect = not self.frozen[src] and not self.frozen[dst] and amount <= self.balances[src] \
                and amount <= self._unfrozen(src)
            ok = _ok(t.transfer, holders[dst], amount, sender=holders[src])
            assert ok == expect, ("transfer", src, dst, amount)
            if ok:
                self.balances[src] -= amount
                self.balances[dst] += amount

        @rule(src=st.sampled_from(HOLDERS), dst=st.sampled_from(HOLDERS), amount=AMOUNTS)
        def forced(self, src, dst, amount):
            expect = amount > 0 and not self.frozen[dst] and amount <= self.balances[src]
            ok = _ok(t.forcedTransfer, holders[src], holders[dst], amount, sender=s.protector)
            assert ok == expect, ("forced", src, dst, amount)
            if ok:
                unfrozen = self._unfrozen(src)
                if self.partial[src] and amount > unfrozen:
                    self.partial[src] -= amount - unfrozen
                self.balances[src] -= amount
                self.balances[dst] += amount
                assert t.getFrozenTokens(holders[src]) == (2**256 - 1 if self.frozen[src] else self.partial[src])

        @rule(who=st.sampled_from(HOLDERS), amount=AMOUNTS)
        def request(self, who, amount):
            expect = amount >= MIN_REDEMPTION and not self.frozen[who] and amount <= self.balances[who] \
                and amount <= self._unfrozen(who)
            ok = _ok(t.requestRedemption, amount, b"\x01" * 32, sender=holders[who])
            assert ok == expect, ("request", who, amount)
            if ok:
                rid = t.redemptionCount()
                self.requests[rid] = (who, amount, 1)
                self.balances[who] -= amount
                self.escrow += amount

        def _pick(self, data_index):
            ids = sorted(self.requests)
            return ids[data_index % len(ids)] if ids else 1

        @rule(k=st.integers(0, 50),
              action=st.sampled_from(["accept", "complete", "reject", "cancel", "cancel_other"]))
        def process(self, k, action):
            rid = self._pick(k)
            holder, amount, status = self.requests.get(rid, (0, 0, 0))
            pending, processing = status == 1, status == 5
            receipt = None
            if action == "accept":
                ok, expect = _ok(t.acceptRedemption, rid, sender=s.operator), pending
            elif action == "complete":
                try:
                    receipt = t.completeRedemption(rid, sender=s.operator)
                    ok = True
                except ContractLogicError:
                    ok = False
                expect = processing
            elif action == "reject":
                ok = _ok(t.rejectRedemption, rid, b"\x02" * 32, sender=s.operator)
                expect = (pending or processing) and not self.frozen[holder]
            elif action == "cancel":
                ok = _ok(t.cancelRedemption, rid, sender=holders[holder])
                expect = pending and not self.frozen[holder]  # never once accepted
            else:
                other = holders[(holder + 1) % len(holders)]
                ok = _ok(t.cancelRedemption, rid, sender=other)
                assert not ok
                return
            assert ok == expect, (action, rid, status)
            if processing and action == "cancel":
                assert t.getRedemption(rid).status == 5  # no cancel after accept
            if ok:
                if action == "accept":
                    self.requests[rid] = (holder, amount, 5)
                    return
                self.escrow -= amount
                if action == "complete":
                    self.supply -= amount
                    self.burns.append((chain.blocks[receipt.block_number].timestamp, amount))
                    self.requests[rid] = (holder, amount, 2)
                else:
                    self.balances[holder] += amount
                    self.requests[rid] = (holder, amount, 3)

        @rule(who=st.sampled_from(HOLDERS), frozen=st.booleans())
        def freeze(self, who, frozen):
            t.setAddressFrozen(holders[who], frozen, sender=s.protector)
            self.frozen[who] = frozen

        @rule(who=st.sampled_from(HOLDERS), amount=AMOUNTS)
        def freeze_amount(self, who, amount):
            t.setFrozenTokens(holders[who], amount, sender=s.protector)
            self.partial[who] = amount

        @rule(delta=st.integers(min_value=-200, max_value=400))
        def attest(self, delta):
            total = max(0, self.supply + delta * UNIT)
            chain.pending_timestamp = max(chain.pending_timestamp, s.attestor.reserveTotal()[1] + 1)
            attest(total, lots=1 if total else 0)
            self.reserve = total

        @invariant()
        def balances_plus_escrow_equal_supply(self):
            *chain_balances, escrowed, held_by_token, supply = views(reads)  # one eth_call, each value once
            assert chain_balances == self.balances
            assert escrowed == self.escrow == held_by_token
            assert sum(chain_balances) + escrowed == supply == self.supply

    run_state_machine_as_test(
        TokenMachine,
        settings=settings(max_examples=12, stateful_step_count=25, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
    assert run["n"] >= 12
