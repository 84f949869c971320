"""Hypothesis state machine on ape's network: random reports (any subset of the signers as
observers, tampered after signing, stale, too old, future, out of bounds, wrong round) against a
Python model of the feed. Invariants: the chain always equals the model, and every price on chain
is the median of a set of observations that all its observers signed, from more than 2f of the
n signers."""

from __future__ import annotations

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oracle_helpers import addresses, ape_signer_config, make_keys
from stockpile.oracle.report import FeedEntry, build_report, feed_id, median

FEEDS = [feed_id("A/USD"), feed_id("B/USD")]
MIN, MAX = 10, 10**6
KEYS = make_keys(5)
F = 1
MAX_AGE = 3600


class FeedMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.admin = ape.accounts.test_accounts[0]
        self.sender = ape.accounts.test_accounts[1]
        self.hub = self.admin.deploy(ape.project.PriceFeed, self.admin, 0, self.admin, addresses(KEYS), F)
        for fid in FEEDS:
            self.hub.addFeed(fid, 8, "x", MIN, MAX, MAX_AGE, MAX_AGE, sender=self.admin)
        self.config = ape_signer_config(self.hub)
        # per feed: [(answer, observedAt, signed observations {observer index: answer})]
        self.model = {fid: [] for fid in FEEDS}
        self.chain = ape.chain

    def _last_obs(self, fid):
        return self.model[fid][-1][1] if self.model[fid] else 0

    @rule(which=st.sampled_from([0, 1]),
          observers=st.sets(st.integers(0, len(KEYS) - 1), min_size=1, max_size=len(KEYS)),
          values=st.lists(st.one_of(st.integers(MIN, MAX), st.integers(1, 2 * MAX)), min_size=5, max_size=5),
          back=st.sampled_from([0, 1, 3, 5, MAX_AGE + 100]), future=st.sampled_from([False] * 4 + [True]),
          round_shift=st.sampled_from([0, 0, 0, 0, -1, 1]),
          tamper=st.sampled_from([None, None, None, "drop", "change"]))
    def report(self, which, observers, values, back, future, round_shift, tamper):
        fid = FEEDS[which]
        now = self.chain.pending_timestamp
        observed_at = now + 1000 if future else now - back
        rnd = len(self.model[fid]) + 1 + round_shift
        if rnd < 1:
            rnd = 1 + len(self.model[fid]) + 1
        idx = sorted(observers)
        keys = [KEYS[i] for i in idx]
        report = build_report(keys, self.chain.chain_id, self.hub.address, self.config, [FeedEntry(fid, rnd)],
                              observed_at, [[values[i]] for i in idx], deadline=now + 10**6)
        signed = {i: report.observations[i][0] for i in report.observations}
        args = report.transmit_args()
        if tamper == "drop" and len(idx) > 1:  # leave one observation out, keep the other signatures
            gone = idx[0]
            r = list(args[0])
            r[3] &= ~(1 << gone)
            r[6] = r[6][1:]
            args = (tuple(r), args[1], args[2][1:])
        elif tamper == "change":  # the transmitter changes one signed answer
            r = list(args[0])
            r[6] = [r[6][0] + 1] + list(r[6][1:])
            args = (tuple(r), args[1], args[2])
        else:
            tamper = None
        m = median(list(signed.values()))
        ok = (tamper is None and len(idx) >= 2 * F + 1 and rnd == len(self.model[fid]) + 1
              and observed_at > self._last_obs(fid) and not future and back <= MAX_AGE and MIN <= m <= MAX)
        if ok:
            self.hub.transmit(*args, sender=self.sender)
            self.model[fid].append((m, observed_at, signed))
        else:
            with ape.reverts():
                self.hub.transmit(*args, sender=self.sender)

    @rule(seconds=st.integers(1, 120))
    def time_passes(self, seconds):
        self.chain.pending_timestamp += seconds

    @rule()
    def a_minute_passes(self):
        self.chain.pending_timestamp += 60

    @invariant()
    def chain_equals_model(self):
        for fid in FEEDS:
            rounds = self.model[fid]
            assert self.hub.feedConfig(fid).latestRound == len(rounds)
            if rounds:
                rid, answer, started, updated, _ = self.hub.latestRoundData(fid)
                assert (rid, answer, started, updated) == (len(rounds), rounds[-1][0], rounds[-1][1], rounds[-1][1])

    @invariant()
    def every_price_is_the_median_of_a_signed_set_meeting_the_rule(self):
        for fid in FEEDS:
            for answer, _, signed in self.model[fid]:
                assert len(signed) > 2 * F and all(0 <= i < len(KEYS) for i in signed)
                assert answer == median(list(signed.values()))

    @precondition(lambda self: any(self.model[f] for f in FEEDS))
    @rule(data=st.data())
    def past_round_matches(self, data):
        fid = data.draw(st.sampled_from([f for f in FEEDS if self.model[f]]))
        rounds = self.model[fid]
        r = data.draw(st.integers(max(1, len(rounds) - 31), len(rounds)))
        assert self.hub.getRoundData(fid, r)[1:3] == (rounds[r - 1][0], rounds[r - 1][1])


FeedMachine.TestCase.settings = settings(max_examples=8, stateful_step_count=15, deadline=None,
                                         suppress_health_check=list(HealthCheck))
TestFeedMachine = FeedMachine.TestCase
