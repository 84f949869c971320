"""Hypothesis state machine on ape's network: random reports (good, stale, future, out of bounds,
wrong round) against a Python model of the feed; the chain always equals the model."""

from __future__ import annotations

import ape
from eth_account import Account
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from oracle_helpers import make_keys
from stockpile.oracle.report import FeedEntry, build_report, feed_id, median

FEEDS = [feed_id("A/USD"), feed_id("B/USD")]
MIN, MAX = 10, 10**6
KEYS = make_keys(5)


class FeedMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.admin = ape.accounts.test_accounts[0]
        self.sender = ape.accounts.test_accounts[1]
        self.hub = self.admin.deploy(ape.project.PriceFeed, self.admin, 0,
                                     [Account.from_key(k).address for k in KEYS], 3)
        for fid in FEEDS:
            self.hub.addFeed(fid, 8, "x", MIN, MAX, 3600, sender=self.admin)
        self.model = {fid: [] for fid in FEEDS}  # [(answer, observedAt)]
        self.chain = ape.chain

    def _last_obs(self, fid):
        return self.model[fid][-1][1] if self.model[fid] else 0

    @rule(which=st.sampled_from([0, 1]),
          values=st.lists(st.one_of(st.integers(MIN, MAX), st.integers(1, 2 * MAX)), min_size=3, max_size=5),
          back=st.integers(0, 5), future=st.sampled_from([False, False, False, False, True]),
          round_shift=st.sampled_from([0, 0, 0, 0, -1, 1]))
    def report(self, which, values, back, future, round_shift):
        fid = FEEDS[which]
        now = self.chain.pending_timestamp
        observed_at = now + 1000 if future else now - back
        rnd = len(self.model[fid]) + 1 + round_shift
        if rnd < 1:
            rnd = 1 + len(self.model[fid]) + 1
        keys = KEYS[: len(values)]
        report = build_report(keys, self.chain.chain_id, self.hub.address, [FeedEntry(fid, rnd)], observed_at,
                              [[v] for v in values])
        m = median(values)
        ok = (rnd == len(self.model[fid]) + 1 and observed_at > self._last_obs(fid) and not future
              and MIN <= m <= MAX)
        if ok:
            self.hub.transmit(*report.transmit_args(), sender=self.sender)
            self.model[fid].append((m, observed_at))
        else:
            with ape.reverts():
                self.hub.transmit(*report.transmit_args(), sender=self.sender)

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
                rid, answer, started, _, _ = self.hub.latestRoundData(fid)
                assert (rid, answer, started) == (len(rounds), rounds[-1][0], rounds[-1][1])

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
