"""PriceFeed on ape's in-process network: quorum, median, signer rules, replay, bounds, time, batches, admin."""

from __future__ import annotations

import ape
import pytest
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockpile.oracle.report import FeedEntry, median

from oracle_helpers import DY, NDPR, TB, Reporter

P = 10**8  # 8 decimals


def latest(hub, fid):
    return hub.latestRoundData(fid)


def test_quorum_of_signed_observations_sets_the_median(hub, reporter, chain):
    entries = reporter.entries([NDPR])
    report = reporter.report(entries, [[101 * P], [99 * P], [100 * P]])
    receipt = reporter.send(report)
    rid, answer, started, updated, answered = latest(hub, NDPR)
    assert (rid, answer, answered) == (1, 100 * P, 1)
    assert started == report.observed_at
    assert updated == chain.blocks[-1].timestamp
    logs = list(receipt.decode_logs(hub.AnswerUpdated))
    assert len(logs) == 1 and logs[0].feedId == NDPR and logs[0].answer == 100 * P and logs[0].roundId == 1


def test_fewer_signatures_than_quorum_are_refused(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P], [100 * P]])
    with ape.reverts(hub.QuorumNotMet, signatures=2, quorum=3):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 0


@pytest.mark.parametrize(
    "values, expected",
    [
        ([5, 1, 3], 3),
        ([10, 40, 20, 30, 50], 30),
        ([100, 103, 1, 1000], 101),  # even: floor((100 + 103) / 2)
        ([7, 8, 9, 10, 11], 9),
    ],
)
def test_median_odd_and_even(project, admin, signer_keys, chain, accounts, values, expected):
    keys = signer_keys[: max(len(values), 3)]
    addrs = [Account.from_key(k).address for k in keys]
    hub = admin.deploy(project.PriceFeed, admin, 0, addrs, len(values) // 2 + 1)
    hub.addFeed(NDPR, 8, "NDPR", 1, 10**14, 3600, sender=admin)
    rep = Reporter(hub, chain, keys, accounts[1])
    rep.send(rep.report(rep.entries([NDPR]), [[v] for v in values]))
    assert latest(hub, NDPR)[1] == expected == median(values)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(st.integers(min_value=1, max_value=10**12), min_size=3, max_size=9))
def test_median_matches_python_rule(project, admin, signer_keys, chain, accounts, values):
    keys = signer_keys[: len(values)]
    hub = admin.deploy(project.PriceFeed, admin, 0, [Account.from_key(k).address for k in keys], len(values) // 2 + 1)
    hub.addFeed(NDPR, 8, "NDPR", 1, 10**14, 3600, sender=admin)
    rep = Reporter(hub, chain, keys, accounts[1])
    rep.send(rep.report(rep.entries([NDPR]), [[v] for v in values]))
    assert latest(hub, NDPR)[1] == median(values)


def test_duplicate_signer_is_refused(hub, reporter, signer_keys):
    entries = reporter.entries([NDPR])
    report = reporter.report(entries, [[100 * P], [100 * P], [100 * P]], keys=[signer_keys[0], signer_keys[1], signer_keys[1]])
    with ape.reverts(hub.DuplicateSigner):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_signatures_out_of_order_are_refused(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    fids, rounds, times, answers, sigs = report.transmit_args()
    with ape.reverts(hub.SignersNotOrdered, index=1):
        reporter.send(report, (fids, rounds, times, answers[::-1], sigs[::-1]))


def test_non_signer_is_refused(hub, reporter, signer_keys, outsider_key):
    keys = sorted([signer_keys[0], signer_keys[1], outsider_key], key=lambda k: int(Account.from_key(k).address, 16))
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=keys)
    with ape.reverts(hub.NotSigner, recovered=Account.from_key(outsider_key).address):
        reporter.send(report)
    # a registered signer outside this hub's set (signer 7 of 9) is refused too
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=[signer_keys[0], signer_keys[1], signer_keys[7]])
    with ape.reverts(hub.NotSigner):
        reporter.send(report)


def test_tampered_answer_does_not_verify(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    fids, rounds, times, answers, sigs = report.transmit_args()
    answers = list(answers)
    answers[0] = 500 * P  # the transmitter changes a signer's answer
    with ape.reverts(hub.NotSigner):
        reporter.send(report, (fids, rounds, times, answers, sigs))


def test_malformed_or_high_s_signature_is_refused(hub, reporter):
    from stockpile.oracle.report import SECP256K1_N

    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    fids, rounds, times, answers, sigs = report.transmit_args()
    r, vs = sigs[1]
    high_s = (SECP256K1_N // 2 + 1).to_bytes(32, "big")  # upper half: malleable form, never accepted
    for bad in ((r, high_s), (bytes(32), vs)):
        with ape.reverts(hub.InvalidSignature, index=1):
            reporter.send(report, (fids, rounds, times, answers, [sigs[0], bad, sigs[2]]))


def test_replayed_report_is_refused(hub, reporter, chain):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    reporter.send(report)
    chain.mine(1)
    with ape.reverts(hub.UnexpectedRound, expected=2, provided=1):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 1


def test_report_signed_for_another_chain_or_contract_is_refused(hub, reporter, chain, project, admin, signer_keys):
    entries = reporter.entries([NDPR])
    wrong_chain = reporter.report(entries, [[100 * P]] * 3, chain_id=chain.chain_id + 1)
    with ape.reverts(hub.NotSigner):
        reporter.send(wrong_chain)
    other = admin.deploy(project.PriceFeed, admin, 0, [Account.from_key(k).address for k in signer_keys[:5]], 3)
    wrong_contract = reporter.report(entries, [[100 * P]] * 3, contract=other.address)
    with ape.reverts(hub.NotSigner):
        reporter.send(wrong_contract)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_answer_out_of_bounds_is_refused(hub, reporter, admin):
    hub.setFeedConfig(NDPR, 50 * P, 500 * P, 3600, sender=admin)
    for bad in (49 * P, 501 * P):
        report = reporter.report(reporter.entries([NDPR]), [[bad]] * 3)
        with ape.reverts(hub.AnswerOutOfBounds):
            reporter.send(report)
    # one wild signer cannot drag the median out: it stays in bounds
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P], [10**13], [101 * P]]))
    assert latest(hub, NDPR)[1] == 101 * P


def test_older_or_equal_observation_time_is_refused(hub, reporter, chain):
    t = reporter.now() - 10
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=t))
    for older in (t, t - 1):
        report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=older)
        with ape.reverts(hub.StaleReport):
            reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 1


def test_old_round_is_refused(hub, reporter):
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=reporter.now() - 20))
    reporter.send(reporter.report(reporter.entries([NDPR]), [[101 * P]] * 3, observed_at=reporter.now() - 10))
    old = reporter.report(reporter.entries([NDPR], rounds=[2]), [[90 * P]] * 3, observed_at=reporter.now() - 1)
    with ape.reverts(hub.UnexpectedRound, expected=3, provided=2):
        reporter.send(old)
    skip = reporter.report(reporter.entries([NDPR], rounds=[5]), [[90 * P]] * 3, observed_at=reporter.now() - 1)
    with ape.reverts(hub.UnexpectedRound, expected=3, provided=5):
        reporter.send(skip)
    assert latest(hub, NDPR)[:2] == (2, 101 * P)


def test_future_observation_time_is_refused(hub, reporter, chain):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=reporter.now() + 3600)
    with ape.reverts(hub.FutureReport):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_unknown_feed_is_refused(hub, reporter):
    from stockpile.oracle.report import feed_id

    report = reporter.report([FeedEntry(feed_id("NOPE/USD"), 1)], [[100 * P]] * 3)
    with ape.reverts(hub.UnknownFeed):
        reporter.send(report)


def test_batch_with_one_bad_entry_applies_the_others_and_skips_it(hub, reporter, admin):
    hub.setFeedConfig(DY, 1, 1000 * P, 3600, sender=admin)
    entries = reporter.entries([NDPR, DY, TB])
    answers = [[100 * P, 5000 * P, 30 * P], [101 * P, 5001 * P, 31 * P], [102 * P, 5002 * P, 32 * P]]
    receipt = reporter.send(reporter.report(entries, answers))
    assert latest(hub, NDPR)[:2] == (1, 101 * P)
    assert latest(hub, TB)[:2] == (1, 31 * P)
    assert hub.feedConfig(DY).latestRound == 0  # the out-of-bounds value did not get through
    with ape.reverts(hub.NoDataPresent):
        hub.latestRoundData(DY)
    skipped = list(receipt.decode_logs(hub.FeedUpdateSkipped))
    assert len(skipped) == 1 and skipped[0].feedId == DY
    reason = bytes(skipped[0].reason)
    assert reason[:4] == keccak(text="AnswerOutOfBounds(bytes32,int256,int96,int96)")[:4]
    assert abi_decode(["bytes32", "int256", "int96", "int96"], reason[4:]) == (DY, 5001 * P, 1, 1000 * P)
    updated = [log.feedId for log in receipt.decode_logs(hub.AnswerUpdated)]
    assert updated == [NDPR, TB]


def test_batch_with_a_stale_entry_and_a_duplicate_feed(hub, reporter, chain):
    t0 = reporter.now() - 30
    reporter.send(reporter.report(reporter.entries([TB]), [[30 * P]] * 3, observed_at=t0))
    entries = [FeedEntry(NDPR, 1), FeedEntry(TB, 2), FeedEntry(NDPR, 1)]
    # observed at t0 again: fresh for NDPR, stale for TB; the repeated NDPR entry is an old round by then
    receipt = reporter.send(reporter.report(entries, [[100 * P, 99 * P, 100 * P]] * 3, observed_at=t0))
    assert latest(hub, NDPR)[:2] == (1, 100 * P)
    assert latest(hub, TB)[:2] == (1, 30 * P)  # stale entry skipped
    assert [log.feedId for log in receipt.decode_logs(hub.FeedUpdateSkipped)] == [TB, NDPR]


def test_batch_where_every_entry_is_bad_reverts_with_the_first_error(hub, reporter):
    entries = reporter.entries([NDPR, DY])
    with ape.reverts(hub.FutureReport):
        reporter.send(reporter.report(entries, [[100 * P, 100 * P]] * 3, observed_at=reporter.now() + 999))


def test_malformed_reports_are_refused(hub, reporter):
    entries = reporter.entries([NDPR])
    report = reporter.report(entries, [[100 * P]] * 3)
    fids, rounds, times, answers, sigs = report.transmit_args()
    with ape.reverts(hub.EmptyReport):
        hub.transmit([], [], times, answers, sigs, sender=reporter.sender)
    with ape.reverts(hub.LengthMismatch):
        hub.transmit(fids, rounds + [2], times, answers, sigs, sender=reporter.sender)
    with ape.reverts(hub.LengthMismatch):
        hub.transmit(fids, rounds, times, answers[:2], sigs, sender=reporter.sender)
    with ape.reverts(hub.LengthMismatch):
        hub.transmit(fids, rounds, times, answers + [1], sigs, sender=reporter.sender)


def test_past_rounds_are_readable_within_history(hub, reporter, chain):
    history = hub.HISTORY()
    t = reporter.now() - 200
    for i in range(history + 2):
        reporter.send(reporter.report(reporter.entries([NDPR]), [[(100 + i) * P]] * 3, observed_at=t + i))
    last = history + 2
    assert latest(hub, NDPR)[:2] == (last, (100 + last - 1) * P)
    rid, answer, started, _, _ = hub.getRoundData(NDPR, last - history + 1)
    assert (rid, answer, started) == (last - history + 1, (100 + last - history) * P, t + last - history)
    for gone in (0, last - history, last + 1):
        with ape.reverts(hub.NoDataPresent):
            hub.getRoundData(NDPR, gone)


def test_adapter_reads_like_a_chainlink_feed(hub, reporter, project):
    reporter.send(reporter.report(reporter.entries([NDPR]), [[123 * P]] * 3))
    adapter = project.PriceFeedAdapter.at(hub.adapterOf(NDPR))
    assert adapter.decimals() == 8
    assert adapter.description() == "NDPR-OXIDE / USD per kg"
    assert adapter.version() == 1
    assert adapter.latestRoundData()[:2] == (1, 123 * P)
    assert adapter.getRoundData(1)[:2] == (1, 123 * P)
    assert (adapter.heartbeat(), adapter.minAnswer(), adapter.maxAnswer(), adapter.quorum()) == (86400, 1, 10**14, 3)


def test_admin_functions_are_refused_for_non_admins(hub, stranger, signer_keys):
    addrs = [Account.from_key(k).address for k in signer_keys[:3]]
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.addFeed(b"X".ljust(32, b"\0"), 8, "X", 1, 100, 60, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setFeedConfig(NDPR, 1, 100, 60, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setSigners(addrs, 2, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.grantRole(hub.SIGNER_ADMIN_ROLE(), stranger, sender=stranger)
    assert hub.quorum() == 3 and len(hub.signers()) == 5


def test_signer_set_change_by_admin(hub, reporter, admin, signer_keys):
    new_keys = signer_keys[4:9]
    hub.setSigners([Account.from_key(k).address for k in new_keys], 3, sender=admin)
    old = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=signer_keys[:3])
    with ape.reverts(hub.NotSigner):
        reporter.send(old)
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=new_keys[:3]))
    assert hub.configVersion() == 2


def test_invalid_signer_sets_and_feed_configs_are_refused(hub, admin, signer_keys):
    addrs = [Account.from_key(k).address for k in signer_keys[:4]]
    with ape.reverts(hub.InvalidQuorum):
        hub.setSigners(addrs, 2, sender=admin)  # 2 of 4 is not a majority
    with ape.reverts(hub.InvalidQuorum):
        hub.setSigners(addrs, 5, sender=admin)
    with ape.reverts(hub.InvalidSigners):
        hub.setSigners(addrs[::-1], 3, sender=admin)
    with ape.reverts(hub.InvalidSigners):
        hub.setSigners([addrs[0], addrs[0], addrs[1]], 2, sender=admin)
    with ape.reverts(hub.InvalidSigners):
        hub.setSigners([], 0, sender=admin)
    with ape.reverts(hub.FeedExists):
        hub.addFeed(NDPR, 8, "again", 1, 100, 60, sender=admin)
    with ape.reverts(hub.InvalidFeedConfig):
        hub.addFeed(b"Y".ljust(32, b"\0"), 8, "Y", 100, 100, 60, sender=admin)
    with ape.reverts(hub.InvalidFeedConfig):
        hub.addFeed(b"Y".ljust(32, b"\0"), 8, "Y", 1, 100, 0, sender=admin)
    with ape.reverts(hub.UnknownFeed):
        hub.setFeedConfig(b"Y".ljust(32, b"\0"), 1, 100, 60, sender=admin)
