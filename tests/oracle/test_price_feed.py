"""PriceFeed on ape's in-process network: whole-report signatures, more than 2f observations, median,
signer rules, replay, bounds, time, batches, admin; the attacks of issue 10 performed and refused."""

from __future__ import annotations

import ape
import pytest
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockpile.oracle.report import FeedEntry, Report, median, sign_report

from oracle_helpers import DY, NDPR, TB, Reporter, addresses

P = 10**8  # 8 decimals


def latest(hub, fid):
    return hub.latestRoundData(fid)


def test_quorum_of_signed_observations_sets_the_median(hub, reporter, chain):
    entries = reporter.entries([NDPR])
    report = reporter.report(entries, [[101 * P], [99 * P], [100 * P]])
    receipt = reporter.send(report)
    rid, answer, started, updated, answered = latest(hub, NDPR)
    assert (rid, answer, answered) == (1, 100 * P, 1)
    # startedAt and updatedAt are the observation time, not the block time it landed
    assert started == updated == report.observed_at
    assert tuple(hub.roundTimes(NDPR, 1)) == (report.observed_at, chain.blocks[-1].timestamp)
    logs = list(receipt.decode_logs(hub.AnswerUpdated))
    assert len(logs) == 1 and logs[0].feedId == NDPR and logs[0].answer == 100 * P and logs[0].roundId == 1


def test_fewer_observations_than_2f_plus_1_are_refused(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P], [100 * P]])
    with ape.reverts(hub.QuorumNotMet, signatures=2, needed=3):
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
    keys = signer_keys[: max(len(values), 4)]
    hub = admin.deploy(project.PriceFeed, admin, 0, admin, addresses(keys), 1)
    hub.addFeed(NDPR, 8, "NDPR", 1, 10**14, 3600, 3600, sender=admin)
    rep = Reporter(hub, chain, keys, accounts[1])
    rep.send(rep.report(rep.entries([NDPR]), [[v] for v in values]))
    assert latest(hub, NDPR)[1] == expected == median(values)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(st.integers(min_value=1, max_value=10**12), min_size=3, max_size=9))
def test_median_matches_python_rule(project, admin, signer_keys, chain, accounts, values):
    keys = signer_keys[: max(len(values), 4)]
    hub = admin.deploy(project.PriceFeed, admin, 0, admin, addresses(keys), 1)
    hub.addFeed(NDPR, 8, "NDPR", 1, 10**14, 3600, 3600, sender=admin)
    rep = Reporter(hub, chain, keys, accounts[1])
    rep.send(rep.report(rep.entries([NDPR]), [[v] for v in values]))
    assert latest(hub, NDPR)[1] == median(values)


def _with(args, report=None, signer_set=None, sigs=None):
    """transmit arguments with the report tuple, the signer set or the signatures replaced."""
    r, c, s = args
    return (report if report is not None else r, signer_set if signer_set is not None else c,
            sigs if sigs is not None else s)


def _report_tuple(args, **changes):
    names = ["configDigest", "observedAt", "deadline", "observers", "feedIds", "roundIds", "answers"]
    values = dict(zip(names, args[0]))
    values.update(changes)
    return tuple(values[n] for n in names)


# --------------------------------------------------------------------- attacks (issue 10)

def test_attack_price_subset_selection_refused(project, admin, signer_keys, chain, accounts):
    """Audit H-1 with the smallest valid set (4 signers, f = 1): one compromised key plus honest
    observations copied from the feeder's pending transaction cannot set the price."""
    keys = signer_keys[:4]
    hub = admin.deploy(project.PriceFeed, admin, 0, admin, addresses(keys), 1)
    hub.addFeed(NDPR, 8, "NDPR", 1, 10**14, 86400, 3600, sender=admin)
    rep = Reporter(hub, chain, keys, accounts[1])
    honest_keys, evil_key = keys[:3], keys[3]
    honest = rep.report(rep.entries([NDPR]), [[6_250_000_000]] * 3, keys=honest_keys)  # 62.5 USD/kg, pending
    cfg = rep.config()
    evil_index = cfg.index_of(Account.from_key(evil_key).address)
    honest_sigs = honest.signatures

    # 1. the compromised key's observation of 10,000 USD/kg and ONE honest observation (2 < 2f+1)
    two = rep.report(rep.entries([NDPR]), [[6_250_000_000], [10**12]], keys=[honest_keys[0], evil_key])
    two.signatures[cfg.index_of(Account.from_key(honest_keys[0]).address)] = honest_sigs[
        cfg.index_of(Account.from_key(honest_keys[0]).address)]
    with ape.reverts(hub.QuorumNotMet, signatures=2, needed=3):
        rep.send(two)
    # 2. two honest observations (with their signatures from the pending report) and the attacker's:
    #    the honest signatures cover the honest report only
    forged = rep.report(rep.entries([NDPR]), [[6_250_000_000], [6_250_000_000], [10**12]],
                        keys=[honest_keys[0], honest_keys[1], evil_key])
    for k in honest_keys[:2]:
        i = cfg.index_of(Account.from_key(k).address)
        forged.signatures[i] = honest_sigs[i]
    with ape.reverts(hub.NotSigner):
        rep.send(forged)
    # 3. the honest report with one observation replaced by the attacker's, which signs the result;
    #    the two honest signatures copied from the pending report do not cover it
    args = honest.transmit_args()
    replaced = honest.observer_indices()[0]
    swapped = Report(config=cfg, entries=honest.entries, observed_at=honest.observed_at, deadline=honest.deadline,
                     observations={**{i: honest.observations[i] for i in honest.observer_indices()[1:]},
                                   evil_index: [10**12]})
    swapped.signatures = {i: honest_sigs[i] for i in honest.observer_indices()[1:]}
    swapped.sign(evil_key, chain.chain_id, hub.address)
    with ape.reverts(hub.NotSigner):
        rep.send(swapped)
    # 4. the honest report with an observation dropped (2 signatures left)
    with ape.reverts(hub.QuorumNotMet):
        rep.send(honest, _with(args, report=_report_tuple(args, observers=honest.observers & ~(1 << replaced),
                                                          answers=args[0][6][1:]), sigs=args[2][1:]))
    assert hub.feedConfig(NDPR).latestRound == 0
    rep.send(honest)
    assert latest(hub, NDPR)[1] == 6_250_000_000


def test_attack_price_subset_selection_with_two_of_five_keys_refused(hub, reporter, signer_keys):
    """Audit H-1, 5 signers: two compromised keys and the honest signers' signatures from a pending
    report cannot make a report the honest signers did not sign."""
    cfg = reporter.config()
    honest_keys, evil = signer_keys[:3], signer_keys[3:5]
    honest = reporter.report(reporter.entries([NDPR]), [[62 * P], [63 * P], [62 * P]], keys=honest_keys)
    # the two keys alone: 2 < 2f + 1
    with ape.reverts(hub.QuorumNotMet, signatures=2, needed=3):
        reporter.send(reporter.report(reporter.entries([NDPR]), [[10**13]] * 2, keys=evil))
    # the two keys plus one honest observation and its signature copied from the pending report
    forged = reporter.report(reporter.entries([NDPR]), [[62 * P], [10**13], [10**13]], keys=[honest_keys[0], *evil])
    i = cfg.index_of(Account.from_key(honest_keys[0]).address)
    forged.signatures[i] = honest.signatures[i]
    with ape.reverts(hub.NotSigner):
        reporter.send(forged)
    # all five observations, the honest three signatures copied: they do not cover the bigger report
    bigger = reporter.report(reporter.entries([NDPR]), [[62 * P], [63 * P], [62 * P], [10**13], [10**13]],
                             keys=[*honest_keys, *evil])
    for k in honest_keys:
        j = cfg.index_of(Account.from_key(k).address)
        bigger.signatures[j] = honest.signatures[j]
    with ape.reverts(hub.NotSigner):
        reporter.send(bigger)
    assert hub.feedConfig(NDPR).latestRound == 0
    reporter.send(honest)
    assert latest(hub, NDPR)[1] == 62 * P


def test_attack_front_runner_cannot_pick_the_median(hub, reporter, signer_keys):
    """Audit H-1 with every signer honest: a front-runner copying the feeder's report cannot choose
    which observations count (the audit moved 300 to 400); it can only land the same report."""
    report = reporter.report(reporter.entries([NDPR]), [[100 * P], [200 * P], [300 * P], [400 * P], [500 * P]],
                             keys=signer_keys[:5])
    args = report.transmit_args()
    idx = report.observer_indices()
    by_index = {i: report.observations[i][0] for i in idx}
    top3 = sorted(idx, key=lambda i: by_index[i])[2:]  # the observers of 300, 400, 500: median 400
    bits = sum(1 << i for i in top3)
    subset = _report_tuple(args, observers=bits, answers=[by_index[i] for i in sorted(top3)])
    with ape.reverts(hub.NotSigner):
        reporter.send(report, _with(args, report=subset, sigs=[report.signatures[i] for i in sorted(top3)]))
    # the honest report, sent by the front-runner itself, gives the honest median
    reporter.send(report, args)
    assert latest(hub, NDPR)[1] == 300 * P


def test_attack_stale_report_posted_late_refused(hub, reporter, chain, timelock):
    """Audit M-3: a signed report that never landed, posted 80,000 s later, is refused (maximum
    report age 1 hour), and `updatedAt` is the observation time, so an old report never reads fresh."""
    old = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=reporter.now() - 80_000,
                          deadline=reporter.now() + 10**6)
    with ape.reverts(hub.ReportTooOld, feedId=NDPR, observedAt=old.observed_at, maxReportAge=3600):
        reporter.send(old)
    # a report within the age when signed, landing after it
    t = reporter.now() - 10
    late = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=t, deadline=t + 10**6)
    chain.pending_timestamp = t + 3601
    with ape.reverts(hub.ReportTooOld):
        reporter.send(late)
    fresh = reporter.report(reporter.entries([NDPR]), [[101 * P]] * 3)
    reporter.send(fresh)
    _, answer, _, updated_at, _ = latest(hub, NDPR)
    assert (answer, updated_at) == (101 * P, fresh.observed_at)
    # the maximum report age is bounded by the heartbeat
    with ape.reverts(hub.InvalidFeedConfig):
        hub.setFeedConfig(NDPR, 1, 10**14, 600, 601, sender=timelock)


def test_attack_report_signed_under_old_signer_set_refused(hub, reporter, timelock, signer_keys):
    """Audit L-1: a report signed under the previous configuration is refused after setConfig."""
    old = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=signer_keys[:3])
    old_digest = bytes(hub.configDigest())
    # same signers, one added: a new configuration all the same
    hub.setConfig(addresses(sorted(signer_keys[:6], key=lambda k: int(Account.from_key(k).address, 16))), 1,
                  sender=timelock)
    assert bytes(hub.configDigest()) != old_digest and hub.configVersion() == 2
    with ape.reverts(hub.ConfigDigestMismatch, signed=old_digest, current=bytes(hub.configDigest())):
        reporter.send(old)
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=signer_keys[:3]))
    assert latest(hub, NDPR)[1] == 100 * P


def test_attack_report_past_its_deadline_refused(hub, reporter, chain):
    t = reporter.now() - 5
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, observed_at=t, deadline=t + 60)
    chain.pending_timestamp = t + 61
    with ape.reverts(hub.SignatureExpired, deadline=t + 60):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_attack_transmitter_passes_another_signer_list_refused(hub, reporter, outsider_key, signer_keys):
    """The signer list travels in calldata: a list with the attacker's key in a signer's place does
    not hash to the stored config digest."""
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    version, f, signers = args[1]
    swapped = list(signers)
    swapped[0] = Account.from_key(outsider_key).address
    with ape.reverts(hub.ConfigDigestMismatch):
        reporter.send(report, _with(args, signer_set=(version, f, swapped)))
    with ape.reverts(hub.ConfigDigestMismatch):
        reporter.send(report, _with(args, signer_set=(version, 0, signers)))  # f = 0: one observation would do


def test_attack_admin_grants_itself_price_roles_refused(hub, admin, stranger, signer_keys):
    """Audit H-2 for prices: the default admin (not timelocked) can neither grant itself the
    price-trust roles nor use them; only the timelock's roles change signers, f, bounds or ages."""
    for role in (hub.SIGNER_ADMIN_ROLE(), hub.FEED_ADMIN_ROLE()):
        assert hub.getRoleAdmin(role) == role
        with ape.reverts(hub.AccessControlUnauthorizedAccount):
            hub.grantRole(role, admin, sender=admin)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setConfig(addresses(signer_keys[:4]), 1, sender=admin)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setFeedConfig(NDPR, 1, 10**15, 86400, 86400, sender=admin)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.addFeed(b"X".ljust(32, b"\0"), 8, "X", 1, 100, 60, 60, sender=admin)
    assert hub.f() == 1 and len(hub.signers()) == 5


# --------------------------------------------------------------------- report checks

def test_observer_bitmap_and_signature_count_are_checked(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    with ape.reverts(hub.InvalidObservers):
        reporter.send(report, _with(args, report=_report_tuple(args, observers=args[0][3] | (1 << 5))))
    with ape.reverts(hub.SignatureCountMismatch, signatures=4, observers=3):
        reporter.send(report, _with(args, sigs=args[2] + [args[2][0]]))


def test_signatures_out_of_observer_order_are_refused(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    with ape.reverts(hub.NotSigner):
        reporter.send(report, _with(args, sigs=args[2][::-1]))


def test_non_signer_is_refused(hub, reporter, signer_keys, outsider_key):
    # an outsider cannot even be placed in a report: it has no observer index
    with pytest.raises(ValueError, match="not a signer"):
        reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=[signer_keys[0], signer_keys[1], outsider_key])
    # its signature in a signer's place recovers to the outsider
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    bad = sign_report(outsider_key, reporter.chain.chain_id, hub.address, report)
    with ape.reverts(hub.NotSigner, recovered=Account.from_key(outsider_key).address):
        reporter.send(report, _with(args, sigs=[args[2][0], bad, args[2][2]]))


def test_tampered_answer_does_not_verify(hub, reporter):
    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    answers = list(args[0][6])
    answers[0] = 500 * P  # the transmitter changes a signer's answer
    with ape.reverts(hub.NotSigner):
        reporter.send(report, _with(args, report=_report_tuple(args, answers=answers)))


def test_malformed_or_high_s_signature_is_refused(hub, reporter):
    from stockpile.oracle.report import SECP256K1_N

    report = reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3)
    args = report.transmit_args()
    sigs = args[2]
    r, vs = sigs[1]
    high_s = (SECP256K1_N // 2 + 1).to_bytes(32, "big")  # upper half: malleable form, never accepted
    for bad in ((r, high_s), (bytes(32), vs)):
        with ape.reverts(hub.InvalidSignature, index=1):
            reporter.send(report, _with(args, sigs=[sigs[0], bad, sigs[2]]))


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
    other = admin.deploy(project.PriceFeed, admin, 0, admin, addresses(signer_keys[:5]), 1)
    wrong_contract = reporter.report(entries, [[100 * P]] * 3, contract=other.address)
    with ape.reverts(hub.NotSigner):
        reporter.send(wrong_contract)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_answer_out_of_bounds_is_refused(hub, reporter, timelock):
    hub.setFeedConfig(NDPR, 50 * P, 500 * P, 3600, 3600, sender=timelock)
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
        with ape.reverts(hub.ObservationNotNewer):
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
    with ape.reverts(hub.ObservationInFuture):
        reporter.send(report)
    assert hub.feedConfig(NDPR).latestRound == 0


def test_unknown_feed_is_refused(hub, reporter):
    from stockpile.oracle.report import feed_id

    report = reporter.report([FeedEntry(feed_id("NOPE/USD"), 1)], [[100 * P]] * 3)
    with ape.reverts(hub.UnknownFeed):
        reporter.send(report)


def test_batch_with_one_bad_entry_applies_the_others_and_skips_it(hub, reporter, timelock):
    hub.setFeedConfig(DY, 1, 1000 * P, 3600, 3600, sender=timelock)
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
    assert reason[:4] == keccak(text="AnswerOutOfBounds(bytes32,int256,int80,int80)")[:4]
    assert abi_decode(["bytes32", "int256", "int80", "int80"], reason[4:]) == (DY, 5001 * P, 1, 1000 * P)
    updated = [log.feedId for log in receipt.decode_logs(hub.AnswerUpdated)]
    assert updated == [NDPR, TB]


def test_batch_with_a_stale_entry_and_a_duplicate_feed(hub, reporter, chain):
    t0 = reporter.now() - 30
    reporter.send(reporter.report(reporter.entries([TB]), [[30 * P]] * 3, observed_at=t0))
    entries = [FeedEntry(NDPR, 1), FeedEntry(TB, 2), FeedEntry(NDPR, 1)]
    # observed at t0 again: fresh for NDPR, not newer for TB; the repeated NDPR entry is an old round by then
    receipt = reporter.send(reporter.report(entries, [[100 * P, 99 * P, 100 * P]] * 3, observed_at=t0))
    assert latest(hub, NDPR)[:2] == (1, 100 * P)
    assert latest(hub, TB)[:2] == (1, 30 * P)  # stale entry skipped
    assert [log.feedId for log in receipt.decode_logs(hub.FeedUpdateSkipped)] == [TB, NDPR]


def test_batch_where_every_entry_is_bad_reverts_with_the_first_error(hub, reporter):
    entries = reporter.entries([NDPR, DY])
    with ape.reverts(hub.ObservationInFuture):
        reporter.send(reporter.report(entries, [[100 * P, 100 * P]] * 3, observed_at=reporter.now() + 999))


def test_malformed_reports_are_refused(hub, reporter):
    entries = reporter.entries([NDPR])
    report = reporter.report(entries, [[100 * P]] * 3)
    args = report.transmit_args()
    with ape.reverts(hub.EmptyReport):
        reporter.send(report, _with(args, report=_report_tuple(args, feedIds=[], roundIds=[])))
    with ape.reverts(hub.LengthMismatch):
        reporter.send(report, _with(args, report=_report_tuple(args, roundIds=args[0][5] + [2])))
    with ape.reverts(hub.LengthMismatch):
        reporter.send(report, _with(args, report=_report_tuple(args, answers=args[0][6][:2])))
    with ape.reverts(hub.LengthMismatch):
        reporter.send(report, _with(args, report=_report_tuple(args, answers=args[0][6] + [1])))


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
    assert adapter.version() == 2
    assert adapter.latestRoundData()[:2] == (1, 123 * P)
    assert adapter.getRoundData(1)[:2] == (1, 123 * P)
    assert (adapter.heartbeat(), adapter.minAnswer(), adapter.maxAnswer(), adapter.quorum(), adapter.maxReportAge()) == (
        86400, 1, 10**14, 3, 3600)


def test_admin_functions_are_refused_for_non_admins(hub, stranger, signer_keys):
    addrs = addresses(signer_keys[:4])
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.addFeed(b"X".ljust(32, b"\0"), 8, "X", 1, 100, 60, 60, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setFeedConfig(NDPR, 1, 100, 60, 60, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setConfig(addrs, 1, sender=stranger)
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.grantRole(hub.SIGNER_ADMIN_ROLE(), stranger, sender=stranger)
    assert hub.quorum() == 3 and len(hub.signers()) == 5


def test_signer_set_change_by_the_timelock(hub, reporter, timelock, signer_keys):
    new_keys = signer_keys[4:9]
    hub.setConfig(addresses(new_keys), 1, sender=timelock)
    with pytest.raises(ValueError, match="not a signer"):
        reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=signer_keys[:3])
    reporter.send(reporter.report(reporter.entries([NDPR]), [[100 * P]] * 3, keys=new_keys[:3]))
    assert hub.configVersion() == 2


def test_invalid_signer_sets_and_feed_configs_are_refused(hub, timelock, signer_keys):
    addrs = addresses(signer_keys[:4])
    with ape.reverts(hub.InvalidQuorum):
        hub.setConfig(addrs[:3], 1, sender=timelock)  # 3 signers cannot tolerate a fault (n > 3f)
    with ape.reverts(hub.InvalidQuorum):
        hub.setConfig(addrs, 0, sender=timelock)  # f = 0: one key would set prices
    with ape.reverts(hub.InvalidQuorum):
        hub.setConfig(addrs, 2, sender=timelock)
    with ape.reverts(hub.InvalidSigners):
        hub.setConfig(addrs[::-1], 1, sender=timelock)
    with ape.reverts(hub.InvalidSigners):
        hub.setConfig([addrs[0], addrs[0], addrs[1], addrs[2]], 1, sender=timelock)
    with ape.reverts(hub.InvalidSigners):
        hub.setConfig([], 0, sender=timelock)
    with ape.reverts(hub.FeedExists):
        hub.addFeed(NDPR, 8, "again", 1, 100, 60, 60, sender=timelock)
    with ape.reverts(hub.InvalidFeedConfig):
        hub.addFeed(b"Y".ljust(32, b"\0"), 8, "Y", 100, 100, 60, 60, sender=timelock)
    with ape.reverts(hub.InvalidFeedConfig):
        hub.addFeed(b"Y".ljust(32, b"\0"), 8, "Y", 1, 100, 0, 0, sender=timelock)
    with ape.reverts(hub.InvalidFeedConfig):
        hub.addFeed(b"Y".ljust(32, b"\0"), 8, "Y", 1, 100, 60, 0, sender=timelock)
    with ape.reverts(hub.UnknownFeed):
        hub.setFeedConfig(b"Y".ljust(32, b"\0"), 1, 100, 60, 60, sender=timelock)


def test_signer_set_change_waits_for_the_timelock(project, admin, signer_keys, chain):
    """The price-trust roles held by the real TimelockController: a signer set change is scheduled,
    refused before the delay, applied after it; the admin cannot shortcut it."""
    delay = 3600
    timelock = admin.deploy(project.StockpileTimelock, delay, [admin.address], [admin.address], "0x" + "00" * 20)
    hub = admin.deploy(project.PriceFeed, admin, 0, timelock.address, addresses(signer_keys[:5]), 1)
    new = addresses(signer_keys[:7])
    with ape.reverts(hub.AccessControlUnauthorizedAccount):
        hub.setConfig(new, 2, sender=admin)
    call = hub.setConfig.encode_input(new, 2)
    salt, pred = b"\x03" * 32, b"\0" * 32
    timelock.schedule(hub.address, 0, call, pred, salt, delay, sender=admin)
    with ape.reverts():
        timelock.execute(hub.address, 0, call, pred, salt, sender=admin)
    assert hub.f() == 1
    chain.pending_timestamp += delay + 1
    timelock.execute(hub.address, 0, call, pred, salt, sender=admin)
    assert (hub.f(), len(hub.signers()), hub.quorum()) == (2, 7, 5)
